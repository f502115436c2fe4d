"""Gap-analysis test helpers: write experiments (inference.csv + train YAML), random case
generation, and a fake `docker` / `nvidia-smi` on PATH that stands in for the data-services image."""

from __future__ import annotations

import csv
import json
import os
import stat
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from support import REPO_ROOT
from tao_skill_bank.versions import load_versions, release_wheel

# the reference (data-services module of the release in versions.yaml) in an isolated venv
ORACLE_STEPS = [["--no-deps", release_wheel(load_versions(REPO_ROOT), "nvidia-tao-ds")],
                ["pandas", "pyarrow", "pyyaml", "omegaconf==2.3.0", "hydra-core==1.3.2"]]
DEFAULT_LIGHTINGS = {"LowAngleLight": 0, "SolderLight": 1, "UniformLight": 2, "WhiteLight": 3}


@dataclass
class Experiment:
    root: Path
    inference_dir: Path
    train_config: Path
    results_dir: Path
    media: Path

    @property
    def csv(self) -> Path:
        return self.inference_dir / "inference.csv"

    def keys(self, **extra) -> list[str]:
        """key=value overrides for `gap_analysis vcn_aoi`."""
        values = {"inference_results_dir": self.inference_dir, "train_config": self.train_config,
                  "results_dir": self.results_dir, "kpi_media_path": self.media, **extra}
        return [f"{k}={v}" for k, v in values.items()]


def write_experiment(root: Path, rows, *, input_map=None, image_ext=".png", score_column="siamese_score",
                     header: list[str] | None = None, raw_csv: str | None = None) -> Experiment:
    """rows: (input_path, object_name, label, score) tuples; score written with repr() unless str."""
    root.mkdir(parents=True, exist_ok=True)
    inference_dir = root / "inference"
    inference_dir.mkdir(exist_ok=True)
    csv_path = inference_dir / "inference.csv"
    if raw_csv is not None:
        csv_path.write_text(raw_csv, encoding="utf-8")
    else:
        with open(csv_path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header or ["input_path", "object_name", "label", score_column, "extra"])
            for input_path, obj, label, score in rows:
                writer.writerow([input_path, obj, label, score if isinstance(score, str) else repr(float(score)), "x"])
    train = root / "train.yaml"
    classify = {}
    if input_map is not False:
        classify["input_map"] = DEFAULT_LIGHTINGS if input_map is None else input_map
    if image_ext is not None:
        classify["image_ext"] = image_ext
    import yaml
    train.write_text(yaml.safe_dump({"dataset": {"classify": classify}, "train": {"num_epochs": 1}},
                                    sort_keys=False), encoding="utf-8")
    media = root / "media"
    return Experiment(root, inference_dir, train, root / "rca_results" / "run1", media)


def random_rows(rng, n: int, *, labels=("PASS", "SCRATCH", "MISSING"), weights=None, unique_scores=None,
                pass_share=None, ties: int | None = None) -> list[tuple]:
    """Random inference rows: `ties` limits scores to that many distinct values (heavy ties)."""
    import numpy as np

    if pass_share is not None:
        defects = [l for l in labels if l.strip().upper() != "PASS"] or ["SCRATCH"]
        chosen = np.where(rng.random(n) < pass_share, "PASS", rng.choice(defects, n))
    else:
        chosen = rng.choice(list(labels), n, p=weights)
    if ties:
        pool = np.round(rng.random(ties), 3)
        scores = rng.choice(pool, n)
    else:
        scores = rng.random(n)
    dirs = [f"lot{i}/board{j}" for i in range(3) for j in range(2)]
    return [(dirs[i % len(dirs)], f"C{i:05d}", str(chosen[i]), float(scores[i])) for i in range(n)]


@pytest.fixture
def experiment(tmp_path):
    """A small valid experiment: 40 rows, PASS plus two defect labels."""
    import numpy as np

    return write_experiment(tmp_path / "exp", random_rows(np.random.default_rng(7), 40))


_FAKE_DOCKER = textwrap.dedent('''\
    #!{python}
    """Fake docker: daemon, images and `run` driven by env vars; every call logged as JSON."""
    import json, os, shutil, subprocess, sys, tempfile
    from pathlib import Path

    args = sys.argv[1:]
    with open(os.environ["FAKE_DOCKER_LOG"], "a") as log:
        log.write(json.dumps(args) + "\\n")
    if args[:1] == ["info"]:
        if os.environ.get("FAKE_DOCKER_DAEMON", "up") != "up":
            print("Cannot connect to the Docker daemon", file=sys.stderr)
            sys.exit(1)
        sys.exit(0)
    if args[:2] == ["image", "inspect"]:
        sys.exit(0 if os.environ.get("FAKE_DOCKER_IMAGE", "present") == "present" else 1)
    if args[:1] == ["pull"]:
        if os.environ.get("FAKE_DOCKER_PULL", "fail") == "ok":
            sys.exit(0)
        print("unauthorized: authentication required", file=sys.stderr)
        sys.exit(1)
    if args[:1] != ["run"]:
        sys.exit(0)
    # the container's own arguments follow the image (first arg after the options that has ':' or '/')
    rest = args[1:]
    i = 0
    while i < len(rest):
        if rest[i] in ("-v", "-w", "-e", "--gpus", "--user", "-u"):
            i += 2
        elif rest[i].startswith("-"):
            i += 1
        else:
            break
    image, inner = rest[i], rest[i + 1:]
    if inner[:1] == ["chown"]:
        sys.exit(0)
    assert inner[:2] == ["gap_analysis", "vcn_aoi"], inner
    spec = inner[inner.index("-e") + 1]
    overrides = [a for a in inner[2:] if "=" in a and a != spec]
    keys = dict(a.split("=", 1) for a in overrides)
    results = Path(keys["results_dir"])
    csv_in = Path(keys["inference_results_dir"]) / "inference.csv"
    if csv_in.is_file():  # a quoted/escaped override value is parsed by the real Hydra (FAKE_DOCKER_ORACLE)
        with open(csv_in) as csv_file:
            if "siamese_score" not in csv_file.readline().strip().split(","):  # as the real image does
                print("KeyError: 'siamese_score'", file=sys.stderr)
                sys.exit(1)
    oracle = os.environ.get("FAKE_DOCKER_ORACLE")
    if oracle:  # the real reference code behind the container's CLI
        cmd = [oracle, "-m", "nvidia_tao_ds.rcca.gap_analysis.scripts.vcn_aoi",
               "--config-path=" + str(Path(spec).resolve().parent), "--config-name=" + Path(spec).stem, *overrides]
        sys.exit(subprocess.call(cmd))
    # else: this package's local engine into a scratch folder, then only the files the container writes
    scratch = Path(tempfile.mkdtemp())
    out = scratch / "out"
    keys["results_dir"] = str(out)
    code = subprocess.call([sys.executable, "-m", "tao_skill_bank", "gap_analysis", "vcn_aoi", "--engine", "local",
                            "-e", spec, *[f"{k}={v}" for k, v in keys.items()]], stdout=subprocess.DEVNULL)
    if code == 4:
        print("ValueError: No threshold achieves 100% recall on the NO_PASS class.", file=sys.stderr)
        sys.exit(1)
    pinned = float(keys.get("threshold", "-1")) >= 0
    results.mkdir(parents=True, exist_ok=True)
    for name in ("kpi_gaps.parquet", "weak_samples_breakdown.txt") + (() if pinned else ("threshold.txt",)):
        if (out / name).exists():
            shutil.copy(out / name, results / name)
    sys.exit(int(os.environ.get("FAKE_DOCKER_RUN_EXIT", code)))
    ''')

_FAKE_SMI = "#!/bin/sh\necho 'GPU 0: Fake A100 (UUID: GPU-00000000)'\n"


@dataclass
class FakeDocker:
    bin_dir: Path
    log_path: Path
    env: dict = field(default_factory=dict)

    def calls(self) -> list[list[str]]:
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]

    def runs(self) -> list[list[str]]:
        return [c for c in self.calls() if c[:1] == ["run"]]

    def apply(self, monkeypatch) -> None:
        for key, value in self.env.items():
            monkeypatch.setenv(key, value)


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture
def fake_docker(tmp_path) -> FakeDocker:
    """`docker` and `nvidia-smi` first on PATH (env in .env, or .apply(monkeypatch))."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    _executable(bin_dir / "docker", _FAKE_DOCKER.replace("{python}", sys.executable))
    _executable(bin_dir / "nvidia-smi", _FAKE_SMI)
    log_path = tmp_path / "docker_calls.jsonl"
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "FAKE_DOCKER_LOG": str(log_path)}
    return FakeDocker(bin_dir, log_path, env)


@pytest.fixture(scope="session")
def gap_cases():
    """The writers above, for tests that build their own experiments."""
    from types import SimpleNamespace

    return SimpleNamespace(write_experiment=write_experiment, random_rows=random_rows,
                           lightings=DEFAULT_LIGHTINGS)


@pytest.fixture(scope="session")
def oracle_python():
    """Python of the oracle venv; skips loudly (never silently passes) only when it cannot be built."""
    import support
    from tao_skill_bank.errors import UserError
    from tao_skill_bank.venvs import ensure_venv

    try:
        return ensure_venv("oracle-tao-ds", ORACLE_STEPS, cache_root=support.TEST_CACHE)
    except UserError as err:
        pytest.skip(f"ORACLE UNAVAILABLE — reference comparison NOT RUN: {err.one_line()}")

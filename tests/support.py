"""Shared test helpers: run the CLI as an agent would, and find the repo."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# Isolated oracle/schema venvs are cached here (gitignored): a clean clone builds them anew.
TEST_CACHE = Path(os.environ.get("TAO_SKILL_BANK_CACHE", REPO_ROOT / ".cache"))


def _release() -> str:
    import yaml

    return str(yaml.safe_load((REPO_ROOT / "versions.yaml").read_text(encoding="utf-8"))["tao_version"])


# The one TAO release of the checkout (versions.yaml `tao_version`): image tags start with it.
RELEASE = _release()


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self):
        import json
        return json.loads(self.stdout)


def run_cli(*args: str, cwd: str | Path | None = None, env: dict | None = None,
            input: str | None = None, timeout: float = 300) -> CliResult:
    """Run `python -m tao_skill_bank ARGS` in a subprocess (what an agent does)."""
    full_env = dict(os.environ)
    full_env.setdefault("TAO_SKILL_BANK_CACHE", str(TEST_CACHE))
    if env:
        full_env.update(env)
    proc = subprocess.run([sys.executable, "-m", "tao_skill_bank", *map(str, args)], cwd=cwd,
                          env=full_env, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def assert_one_line_error(result: CliResult, *needles: str) -> None:
    """Bad input: non-zero exit, one line on stderr, no traceback, mentions each needle."""
    assert result.code != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = [l for l in result.stderr.splitlines() if l.startswith("error:")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


# ---------------------------------------------------------------- fake skill banks and tools
# (shared by the AutoML, params and container tests; built in tmp_path, never committed)

OI_SKILL = "tao-train-optical-inspection"


def oi_skill_info(automl_enabled: bool = True) -> dict:
    """A small references/skill_info.yaml in the shared shape (train + downstream actions)."""
    def action(name: str, spec_params: list[tuple[str, str]]) -> dict:
        return {"command": f"optical_inspection {name} -e {{config_path}}", "config_format": "yaml",
                "results_subdir": name, "outputs": {"results_dir": {"type": "folder"}},
                "spec_params": [{"spec_key": k, "resolver": r} for k, r in spec_params]}
    common = [("results_dir", "output_dir"), ("encryption_key", "key")]
    return {"skill": OI_SKILL, "network_arch": "optical_inspection", "automl_enabled": automl_enabled,
            "container_image": "tao_toolkit.pyt", "data_format": "default", "actions": {
        "train": action("train", common + [("train.pretrained_model_path", "ptm_if_no_resume_model"),
                                           ("train.resume_training_checkpoint_path", "resume_model")]),
        "evaluate": action("evaluate", common + [("evaluate.checkpoint", "parent_model")]),
        "inference": action("inference", common + [("inference.checkpoint", "parent_model")]),
        "export": action("export", common + [("export.checkpoint", "parent_model"),
                                             ("export.onnx_file", "create_onnx_file")]),
    }}


def make_oi_split(root: Path, name: str, wrapper: bool = True) -> tuple[Path, Path]:
    """A fake extracted OI split: dataset.csv + images (inside an images/images wrapper if asked)."""
    split = root / name
    images = split / "images" / "images" if wrapper else split / "images"
    for folder in ("golden", "boardA"):
        (images / folder).mkdir(parents=True)
        for light in ("LowAngleLight", "SolderLight", "UniformLight", "WhiteLight"):
            (images / folder / f"C1_{light}.jpg").write_bytes(b"jpg")
    (split / "dataset.csv").write_text("input_path,golden_path,object_name,label\nboardA,golden,C1,PASS\n")
    return split, images


def make_skill_bank(root: Path, skill_info: dict | None = None, *, train_files: bool = True) -> Path:
    """A bank root with versions.yaml and one OI skill (skill_info, train schema + template)."""
    import json
    import shutil

    import yaml

    info = skill_info or oi_skill_info()
    skill = root / "skills" / info["skill"]
    (skill / "references").mkdir(parents=True)
    (skill / "schemas").mkdir()
    shutil.copy(REPO_ROOT / "versions.yaml", root / "versions.yaml")
    (skill / "SKILL.md").write_text(f"---\nname: {info['skill']}\ndescription: test skill\n---\nbody\n")
    (skill / "references" / "skill_info.yaml").write_text(yaml.safe_dump(info, sort_keys=False))
    if train_files:
        (skill / "schemas" / "train.schema.json").write_text(json.dumps({"type": "collection", "properties": {}}))
        (skill / "references" / "spec_template_train.yaml").write_text("train:\n  num_epochs: 10\n")
    return root


def fake_tools(bin_dir: Path, calls_log: Path, *, daemon: bool = True, image_present: bool = True,
               gpu: bool = True, run_exit: int = 0) -> dict:
    """Fake `docker` and `nvidia-smi` that append their argv (one JSON list per line) to calls_log.
    Returns the env overrides that put them first on PATH."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    docker = f"""#!{sys.executable}
import json, sys
with open({str(calls_log)!r}, "a") as log:
    log.write(json.dumps(["docker", *sys.argv[1:]]) + "\\n")
cmd = sys.argv[1:2]
if cmd == ["info"]:
    sys.exit(0 if {daemon!r} else 1)
if sys.argv[1:3] == ["image", "inspect"]:
    sys.exit(0 if {image_present!r} else 1)
if cmd == ["pull"]:
    sys.exit(1)
if cmd == ["run"]:
    if "chown" not in sys.argv:
        print("fake container output")
    sys.exit(0 if "chown" in sys.argv else {run_exit!r})
sys.exit(0)
"""
    smi = f"""#!{sys.executable}
import json, sys
with open({str(calls_log)!r}, "a") as log:
    log.write(json.dumps(["nvidia-smi", *sys.argv[1:]]) + "\\n")
print("GPU 0: Fake GPU (UUID: GPU-0)" if {gpu!r} else "")
sys.exit(0 if {gpu!r} else 9)
"""
    for name, text in (("docker", docker), ("nvidia-smi", smi)):
        path = bin_dir / name
        path.write_text(text)
        path.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


def tao_skills_on_path(bin_dir: Path) -> str:
    """A `tao-skills` shim running this interpreter's package, for pasting documented commands
    into bash; returns the PATH prefix that puts it first."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "tao-skills"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m tao_skill_bank \"$@\"\n")
    shim.chmod(0o755)
    return f"{bin_dir}{os.pathsep}"


def recorded_calls(calls_log: Path) -> list[list[str]]:
    import json

    if not calls_log.exists():
        return []
    return [json.loads(line) for line in calls_log.read_text().splitlines() if line.strip()]


# ---------------------------------------------------------------- gap analysis runs
# (shared by the tests/gaps/ tests of run, summary, spotcheck and report)

def gap_example_run(base: Path, n_samples: int = 400, **request) -> tuple[Path, Path]:
    """A generated VCN experiment (`gaps example`) and one finished local `gaps run` on it:
    returns (exp_dir, results_dir). `request` overrides RunRequest fields (min_recall, top_k, ...)."""
    from tao_skill_bank.gaps.example import ExampleConfig, create_example
    from tao_skill_bank.gaps.run import RunRequest, run

    exp = base / "exp"
    create_example(exp, ExampleConfig(n_samples=n_samples))
    facts = run(RunRequest(exp_dir=str(exp), dataset_root=str(exp / "images"), engine="local", **request))
    return exp, Path(facts["results_dir"])


def fill_example_verdicts(results_dir: Path, n_samples: int) -> dict[str, str]:
    """Play the agent on a `gaps example` run: judge each spot-check sample from the example's
    ground truth (mislabeled when its image contradicts its label, else edge case) and write
    spotcheck.json. Returns {filepath: verdict}."""
    import json

    from tao_skill_bank.gaps.example import ExampleConfig, generate_samples

    truth = {s.object_name: s for s in generate_samples(ExampleConfig(n_samples=n_samples))}
    path = Path(results_dir) / "spotcheck.json"
    doc = json.loads(path.read_text())
    for entry in doc["samples"]:
        sample = truth[Path(entry["filepath"]).name.rsplit("_", 1)[0]]
        entry["verdict"] = "mislabeled" if sample.looks_like != sample.label else "edge case"
        entry["note"] = f"the part shows {sample.looks_like.lower().replace('_', ' ')}"
    path.write_text(json.dumps(doc, indent=2))
    return {e["filepath"]: e["verdict"] for e in doc["samples"]}

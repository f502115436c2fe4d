"""Hand-off from the deploy skill to the gap analysis: a TensorRT `inference.csv` (score column
`output_score`) goes through `tao-skills gaps run` unchanged, with the bridge train YAML the
deploy skill's reference documents, and gives the same answer as the same scores under the
PyTorch column name."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support import REPO_ROOT, run_cli

DEPLOY = REPO_ROOT / "skills" / "tao-deploy-optical-inspection"
HANDOFF = DEPLOY / "references" / "gap-analysis-handoff.md"
DEFECTS = ("MISSING", "SHORT")


def deploy_style_rows(n: int = 60) -> list[dict]:
    """Deterministic TensorRT inference output: the input CSV's columns plus output_score.
    Defects mostly score high; a few overlap PASS so the sweep has something to choose."""
    rows = []
    for i in range(n):
        label = "PASS" if i % 3 else DEFECTS[i % 2]
        base = 0.4 + (i % 7) * 0.05 if label == "PASS" else 1.2 + (i % 5) * 0.1
        if i in (7, 14):  # two defects that look like PASS
            base = 0.55 + i / 100
        rows.append({"input_path": f"board_{i % 4}/unit_{i:03d}", "golden_path": f"golden/board_{i % 4}",
                     "object_name": f"C{i:03d}", "label": label, "output_score": f"{base:.6f}"})
    return rows


def write_csv(path: Path, rows: list[dict], score_column: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = ["input_path", "golden_path", "object_name", "label", score_column]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row["input_path"], row["golden_path"], row["object_name"], row["label"],
                             row["output_score"]])


def bridge_snippet() -> str:
    """The bridge script exactly as the reference documents it (so the doc is what is tested)."""
    match = re.search(r"python3 - \"\$JOB/spec.yaml\" \"\$JOB/gap_train_config.yaml\" <<'EOF'\n(.*?)\nEOF",
                      HANDOFF.read_text(encoding="utf-8"), re.S)
    assert match, "gap-analysis-handoff.md lost its bridge snippet"
    return match.group(1)


@pytest.fixture
def job(tmp_path) -> dict:
    """A finished TensorRT inference job: spec (from the deploy template), inference.csv, images."""
    job_dir = tmp_path / "jobs" / "trt_inference"
    images = tmp_path / "data" / "kpi" / "images"
    spec = yaml.safe_load((DEPLOY / "references" / "spec_template_deploy_inference.yaml").read_text())
    spec["results_dir"] = str(job_dir)
    spec["dataset"]["infer_dataset"] = {"images_dir": str(images), "csv_path": str(images.parent / "dataset.csv")}
    spec["inference"]["trt_engine"] = str(tmp_path / "jobs" / "engine" / "model.engine")
    job_dir.mkdir(parents=True)
    (job_dir / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    rows = deploy_style_rows()
    ext = spec["dataset"]["image_ext"]
    for row in rows:
        for lighting in spec["dataset"]["input_map"]:
            image = images / row["input_path"] / f"{row['object_name']}_{lighting}{ext}"
            image.parent.mkdir(parents=True, exist_ok=True)
            image.write_bytes(b"\xff\xd8\xff\xd9")
    csv_path = job_dir / "trt_inference" / "inference.csv"
    write_csv(csv_path, rows, "output_score")
    return {"dir": job_dir, "spec": spec, "images": images, "csv": csv_path, "rows": rows}


def write_bridge(job_dir: Path) -> Path:
    subprocess.run([sys.executable, "-", str(job_dir / "spec.yaml"), str(job_dir / "gap_train_config.yaml")],
                   input=bridge_snippet(), text=True, check=True)
    return job_dir / "gap_train_config.yaml"


def gaps_run(exp_dir: Path, inference_dir: Path, train_config: Path, images: Path, out: Path):
    return run_cli("gaps", "run", "--exp-dir", exp_dir, "--inference-dir", inference_dir,
                   "--train-config", train_config, "--dataset-root", images, "--engine", "local",
                   "--min-recall", "1.0", "--out", out, "--json")


def test_bridge_yaml_carries_the_lightings_in_spec_order(job):
    bridge = yaml.safe_load(write_bridge(job["dir"]).read_text())
    classify = bridge["dataset"]["classify"]
    assert list(classify["input_map"]) == list(job["spec"]["dataset"]["input_map"])
    assert classify["image_ext"] == job["spec"]["dataset"]["image_ext"]


def test_tensorrt_inference_csv_runs_through_gaps_run_unchanged(job, tmp_path):
    train_config = write_bridge(job["dir"])
    before = hashlib.sha256(job["csv"].read_bytes()).hexdigest()
    out = tmp_path / "rca_trt"
    result = gaps_run(job["dir"], job["csv"].parent, train_config, job["images"], out)
    assert result.code == 0, result.stderr
    assert hashlib.sha256(job["csv"].read_bytes()).hexdigest() == before  # the CSV is read, never edited
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["score_column"] == "output_score"
    assert metrics["n_samples"] == len(job["rows"])
    assert metrics["recall"] == 1.0
    assert metrics["lightings"] == list(job["spec"]["dataset"]["input_map"])
    assert float((out / "threshold.txt").read_text()) == metrics["threshold"]
    import pandas as pd

    gaps = pd.read_parquet(out / "kpi_gaps.parquet")
    assert list(gaps.columns) == ["filepath", "label", "siamese_score", "weakness"]
    assert gaps["filepath"].str.endswith(job["spec"]["dataset"]["image_ext"]).all()


def test_tensorrt_and_pytorch_column_names_give_the_same_analysis(job, tmp_path):
    train_config = write_bridge(job["dir"])
    pytorch_dir = tmp_path / "pytorch" / "inference"
    write_csv(pytorch_dir / "inference.csv", job["rows"], "siamese_score")
    trt = gaps_run(job["dir"], job["csv"].parent, train_config, job["images"], tmp_path / "rca_trt")
    pyt = gaps_run(job["dir"], pytorch_dir, train_config, job["images"], tmp_path / "rca_pyt")
    assert trt.code == pyt.code == 0, (trt.stderr, pyt.stderr)
    trt_metrics = json.loads((tmp_path / "rca_trt" / "metrics.json").read_text())
    pyt_metrics = json.loads((tmp_path / "rca_pyt" / "metrics.json").read_text())
    for key in ("threshold", "precision", "recall", "f1", "confusion", "per_label", "kept_rows"):
        assert trt_metrics[key] == pyt_metrics[key], key
    assert (pyt_metrics["score_column"], trt_metrics["score_column"]) == ("siamese_score", "output_score")
    assert (tmp_path / "rca_trt" / "weak_samples_breakdown.txt").read_text() == \
        (tmp_path / "rca_pyt" / "weak_samples_breakdown.txt").read_text()


def documented_gaps_command() -> str:
    match = re.search(r"```bash\n(tao-skills gaps run .*?)\n```", HANDOFF.read_text(encoding="utf-8"), re.S)
    assert match, "gap-analysis-handoff.md lost its `tao-skills gaps run` command"
    return match.group(1)


def test_the_documented_commands_run_as_written(job):
    """Bridge, then the reference's `gaps run` block verbatim (tao-skills -> this interpreter)."""
    import os

    write_bridge(job["dir"])
    command = documented_gaps_command().replace("tao-skills", f"{sys.executable} -m tao_skill_bank", 1)
    env = {**os.environ, "JOB": str(job["dir"]), "IMAGES_DIR": str(job["images"])}
    proc = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    facts = json.loads(proc.stdout)
    results = Path(facts["results_dir"])
    assert results.parent == job["dir"] / "rca_results"
    assert json.loads((results / "metrics.json").read_text())["score_column"] == "output_score"


def test_the_score_plot_title_names_the_column_the_csv_holds(job, tmp_path, monkeypatch):
    from tao_skill_bank.gaps import plots
    from tao_skill_bank.gaps.run import RunRequest, run

    titles = []
    real = plots.draw_histograms  # every score plot is drawn by it
    monkeypatch.setattr(plots, "draw_histograms",
                        lambda *a, **k: (titles.append(k.get("title")), real(*a, **k))[1])
    facts = run(RunRequest(exp_dir=str(job["dir"]), inference_dir=str(job["csv"].parent),
                           train_config=str(write_bridge(job["dir"])), dataset_root=str(job["images"]),
                           engine="local", out=str(tmp_path / "rca_trt")))
    assert titles == ["output_score by label"] and facts["score_column"] == "output_score"
    assert (tmp_path / "rca_trt" / "score_distribution.png").is_file()

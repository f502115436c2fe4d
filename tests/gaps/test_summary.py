"""gaps/summary.py (and gaps complete): the sanity print on full runs, container outputs and unreachable runs."""

import json
import shutil

import pandas as pd
import pytest

from support import assert_one_line_error, gap_example_run, run_cli
from tao_skill_bank.gaps.lifecycle import mark_complete
from tao_skill_bank.gaps.summary import label_counts, parse_breakdown


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return gap_example_run(tmp_path_factory.mktemp("summary"), n_samples=300)


def test_summary_matches_the_artifacts(finished):
    _, out = finished
    result = run_cli("gaps", "summary", out, "--json")
    assert result.code == 0, result.stderr
    facts = result.json()
    metrics = json.loads((out / "metrics.json").read_text())
    df = pd.read_parquet(out / "kpi_gaps.parquet")
    assert facts["threshold"] == float((out / "threshold.txt").read_text())
    for key in ("precision", "recall", "f1", "confusion", "min_recall", "top_k_per_label", "engine"):
        assert facts[key] == metrics[key], key
    assert facts["parquet"]["rows"] == len(df) and facts["parquet"]["columns"] == list(df.columns)
    assert facts["parquet"]["label_counts"] == df["label"].value_counts().to_dict()
    assert facts["next"] == [f"tao-skills gaps spotcheck {out}", f"tao-skills gaps report {out}"]


def test_text_ends_with_results_dir(finished):
    _, out = finished
    result = run_cli("gaps", "summary", out)
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == f"results_dir: {out}"
    assert any(l.startswith("precision=") for l in lines) and "rows per label:" in lines


def _container_output(out, folder, names=("kpi_gaps.parquet", "threshold.txt", "weak_samples_breakdown.txt")):
    """What the data-services container itself leaves in results_dir (no metrics, no marker)."""
    folder.mkdir()
    for name in names:
        shutil.copy(out / name, folder / name)
    return folder


def test_bare_container_output_is_refused_until_completed(finished, tmp_path):
    _, out = finished
    bare = _container_output(out, tmp_path / "bare")
    for step in ("summary", "spotcheck", "report"):
        assert_one_line_error(run_cli("gaps", step, bare), str(bare), "incomplete results folder", "gap_complete.json",
                              f"tao-skills gaps complete {bare}")
    done = run_cli("gaps", "complete", bare, "-e", out / "vcn_aoi_spec.yaml", "--json")
    assert done.code == 0, done.stderr
    assert sorted(done.json()["written"]) == ["metrics.json"]  # the container's own files are kept
    facts = run_cli("gaps", "summary", bare, "--json").json()
    full = run_cli("gaps", "summary", out, "--json").json()
    assert facts["metrics_json"] is True and facts["engine"] == "docker"
    for key in ("threshold", "precision", "recall", "f1", "confusion", "n_samples", "parquet"):
        assert facts[key] == full[key], key
    record = json.loads((bare / "run_record.json").read_text())
    assert record["engine"] == "docker" and "gaps complete" in record["engine_reason"]
    assert_one_line_error(run_cli("gaps", "complete", bare, "-e", out / "vcn_aoi_spec.yaml"), "already complete")


def test_pinned_container_output_without_threshold_txt(finished, tmp_path):
    _, out = finished
    bare = _container_output(out, tmp_path / "pinned", ("kpi_gaps.parquet", "weak_samples_breakdown.txt"))
    done = run_cli("gaps", "complete", "-e", out / "vcn_aoi_spec.yaml", bare, "threshold=0.5")
    assert done.code == 0, done.stderr
    assert (bare / "threshold.txt").read_text() == "0.5"
    facts = run_cli("gaps", "summary", bare, "--json").json()
    assert facts["threshold"] == 0.5 and facts["threshold_source"] == "pinned"


def test_complete_refuses_a_container_output_cut_short(finished, tmp_path):
    _, out = finished
    spec = out / "vcn_aoi_spec.yaml"
    cut = _container_output(out, tmp_path / "cut")
    data = (cut / "kpi_gaps.parquet").read_bytes()
    (cut / "kpi_gaps.parquet").write_bytes(data[: len(data) // 2])
    assert_one_line_error(run_cli("gaps", "complete", cut, "-e", spec), "kpi_gaps.parquet", "unreadable parquet",
                          f"delete {cut}")
    fewer = _container_output(out, tmp_path / "fewer")
    pd.read_parquet(out / "kpi_gaps.parquet").head(10).to_parquet(fewer / "kpi_gaps.parquet", index=False)
    assert_one_line_error(run_cli("gaps", "complete", fewer, "-e", spec), "10 rows, but these inputs give")
    missing = _container_output(out, tmp_path / "missing", ("threshold.txt",))
    assert_one_line_error(run_cli("gaps", "complete", missing, "-e", spec), "kpi_gaps.parquet")
    for folder in (cut, fewer, missing):
        assert not (folder / "gap_complete.json").exists() and not (folder / "metrics.json").exists()
        assert_one_line_error(run_cli("gaps", "summary", folder), "incomplete results folder")


def test_unreachable_folder(tmp_path):
    (tmp_path / "unreachable_kpi.txt").write_text("KPI unreachable: no decision threshold reaches it.\nbest_achievable_recall: 0.5\n")
    mark_complete(tmp_path, "local")
    result = run_cli("gaps", "summary", tmp_path)
    assert result.code == 0, result.stderr
    assert "KPI UNREACHABLE" in result.stdout and "best_achievable_recall: 0.5" in result.stdout
    assert f"tao-skills gaps report {tmp_path}" in result.stdout and "spotcheck" not in result.stdout


def test_not_a_results_folder(tmp_path):
    assert_one_line_error(run_cli("gaps", "summary", tmp_path), str(tmp_path), "not a gap analysis results folder")
    assert_one_line_error(run_cli("gaps", "summary", tmp_path / "nope"), "results folder not found")


def test_damaged_parquet_is_a_one_line_error(tmp_path):
    (tmp_path / "kpi_gaps.parquet").write_bytes(b"not parquet")
    mark_complete(tmp_path, "local")
    assert_one_line_error(run_cli("gaps", "summary", tmp_path), "kpi_gaps.parquet", "unreadable parquet")


def test_parse_breakdown_reads_the_container_format():
    text = ("Weak samples breakdown by label (threshold=0.25, top_k_per_label=7)\nTotal KPI samples: 99\n"
            "Total weak samples kept: 12\n\n  PASS: 28 (58.3%) — 3 misclassified, 25 marginal\n")
    assert parse_breakdown(text) == {"top_k_per_label": 7, "total_kpi_samples": 99, "weak_samples_kept": 12}
    assert parse_breakdown(None)["top_k_per_label"] is None


def test_label_counts_keep_first_appearance_order():
    assert list(label_counts(["B", "A", "B"]).items()) == [("B", 2), ("A", 1)]

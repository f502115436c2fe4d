"""gaps/summary.py: the sanity print on full runs, bare container outputs and unreachable runs."""

import json
import shutil

import pandas as pd
import pytest

from support import assert_one_line_error, gap_example_run, run_cli
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


def test_bare_container_output_without_metrics(finished, tmp_path):
    _, out = finished
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("kpi_gaps.parquet", "threshold.txt", "weak_samples_breakdown.txt"):
        shutil.copy(out / name, bare / name)
    result = run_cli("gaps", "summary", bare, "--json")
    assert result.code == 0, result.stderr
    facts = result.json()
    assert facts["metrics_json"] is False and facts["precision"] is None
    assert facts["threshold"] == float((out / "threshold.txt").read_text())
    expected = parse_breakdown((out / "weak_samples_breakdown.txt").read_text())
    assert facts["top_k_per_label"] == expected["top_k_per_label"] == 50
    assert facts["n_samples"] == 300 and facts["parquet"]["rows"] == len(pd.read_parquet(out / "kpi_gaps.parquet"))
    assert any("metrics.json missing" in n for n in facts["notes"])
    text = run_cli("gaps", "summary", bare).stdout
    assert "precision=n/a" in text and "note: metrics.json missing" in text


def test_pinned_container_output_without_threshold_txt(finished, tmp_path):
    _, out = finished
    bare = tmp_path / "pinned"
    bare.mkdir()
    shutil.copy(out / "kpi_gaps.parquet", bare / "kpi_gaps.parquet")
    facts = run_cli("gaps", "summary", bare, "--json").json()
    assert facts["threshold"] is None and any("threshold.txt missing" in n for n in facts["notes"])


def test_unreachable_folder(tmp_path):
    (tmp_path / "unreachable_kpi.txt").write_text("KPI unreachable: no decision threshold reaches it.\nbest_achievable_recall: 0.5\n")
    result = run_cli("gaps", "summary", tmp_path)
    assert result.code == 0, result.stderr
    assert "KPI UNREACHABLE" in result.stdout and "best_achievable_recall: 0.5" in result.stdout
    assert f"tao-skills gaps report {tmp_path}" in result.stdout and "spotcheck" not in result.stdout


def test_not_a_results_folder(tmp_path):
    assert_one_line_error(run_cli("gaps", "summary", tmp_path), str(tmp_path), "not a gap analysis results folder")
    assert_one_line_error(run_cli("gaps", "summary", tmp_path / "nope"), "results folder not found")


def test_damaged_parquet_is_a_one_line_error(tmp_path):
    (tmp_path / "kpi_gaps.parquet").write_bytes(b"not parquet")
    assert_one_line_error(run_cli("gaps", "summary", tmp_path), "kpi_gaps.parquet", "unreadable parquet")


def test_parse_breakdown_reads_the_container_format():
    text = ("Weak samples breakdown by label (threshold=0.25, top_k_per_label=7)\nTotal KPI samples: 99\n"
            "Total weak samples kept: 12\n\n  PASS: 28 (58.3%) — 3 misclassified, 25 marginal\n")
    assert parse_breakdown(text) == {"top_k_per_label": 7, "total_kpi_samples": 99, "weak_samples_kept": 12}
    assert parse_breakdown(None)["top_k_per_label"] is None


def test_label_counts_keep_first_appearance_order():
    assert list(label_counts(["B", "A", "B"]).items()) == [("B", 2), ("A", 1)]

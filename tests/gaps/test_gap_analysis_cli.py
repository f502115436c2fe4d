"""`tao-skills gap_analysis vcn_aoi` end to end, as an agent runs it."""

from __future__ import annotations

import json

import pytest

from support import assert_one_line_error, run_cli

CMD = ("gap_analysis", "vcn_aoi")


def _files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_local_run_prints_summary_and_writes_results(experiment):
    result = run_cli(*CMD, "--engine", "local", *experiment.keys(top_k_per_label=3))
    assert result.code == 0, result.stderr
    out = result.stdout
    assert out.startswith("engine: local (requested with --engine local)")
    assert "threshold: " in out and "(swept; candidates evaluated" in out and "kpi_gaps.parquet: " in out
    assert "Weak samples breakdown by label" in out and f"results: {experiment.results_dir}" in out
    assert "metrics.json" in _files(experiment.results_dir)


def test_json_output_is_one_object(experiment):
    result = run_cli(*CMD, "--engine", "local", "--json", *experiment.keys())
    data = result.json()
    assert data["engine"] == "local" and data["exit_code"] == 0 and data["unreachable"] is False
    assert data["threshold"] == float((experiment.results_dir / "threshold.txt").read_text())
    assert set(data["confusion"]) == {"tp", "fp", "tn", "fn"} and data["threshold_source"] == "swept"


def test_spec_file_with_overrides(experiment, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"inference_results_dir: {experiment.inference_dir}\ntrain_config: {experiment.train_config}\n"
                    f"results_dir: {tmp_path / 'ignored'}\ntop_k_per_label: 2\nmin_recall: 0.5\n")
    result = run_cli(*CMD, "-e", spec, "--engine", "local", "--json", f"results_dir={experiment.results_dir}",
                     "min_recall=0.8")
    assert result.code == 0, result.stderr
    metrics = json.loads((experiment.results_dir / "metrics.json").read_text())
    assert (metrics["top_k_per_label"], metrics["min_recall"]) == (2, 0.8)
    assert not (tmp_path / "ignored").exists()


def test_unreachable_exits_4_with_explanation(tmp_path, gap_cases):
    exp = gap_cases.write_experiment(tmp_path / "e", [("d", "o1", "PASS", 0.1), ("d", "o2", "pass", 0.2)])
    result = run_cli(*CMD, "--engine", "local", *exp.keys())
    assert result.code == 4
    assert "KPI UNREACHABLE" in result.stdout and "best_achievable_recall" in result.stdout
    assert _files(exp.results_dir) == ["gap_complete.json", "run_record.json", "unreachable_kpi.txt"]


def test_deploy_csv_is_accepted_and_said(tmp_path, gap_cases):
    exp = gap_cases.write_experiment(tmp_path / "e", [("d", "o1", "PASS", 0.1), ("d", "o2", "NG", 0.9)],
                                     score_column="output_score")
    result = run_cli(*CMD, "--engine", "local", *exp.keys())
    assert result.code == 0, result.stderr
    assert "score column: output_score" in result.stdout and "output_score" in result.stderr


def test_local_dry_run_validates_and_writes_nothing(experiment):
    result = run_cli(*CMD, "--engine", "local", "--dry-run", *experiment.keys())
    assert result.code == 0 and "nothing written" in result.stdout
    assert not experiment.results_dir.exists()


def test_docker_dry_run_prints_the_command(experiment):
    result = run_cli(*CMD, "--engine", "docker", "--dry-run", *experiment.keys())
    assert result.code == 0, result.stderr
    line = next(l for l in result.stdout.splitlines() if l.startswith("would run: "))
    assert line.startswith("would run: docker run --rm --gpus all --ipc=host -v ")
    assert "gap_analysis vcn_aoi -e " in line and "top_k_per_label=50" in line and "--user" not in line


def test_docker_engine_through_fake_docker(experiment, fake_docker):
    result = run_cli(*CMD, "--engine", "auto", *experiment.keys(), env=fake_docker.env)
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("engine: docker (auto: docker daemon, GPU and image present)")
    assert "ran: docker run" in result.stdout
    assert json.loads((experiment.results_dir / "metrics.json").read_text())["engine"] == "docker"


def test_results_folder_with_results_is_never_clobbered(experiment):
    assert run_cli(*CMD, "--engine", "local", *experiment.keys()).code == 0
    before = (experiment.results_dir / "metrics.json").read_bytes()
    result = run_cli(*CMD, "--engine", "local", *experiment.keys(min_recall=0.5))
    assert_one_line_error(result, "results_dir", "refusing to overwrite")
    assert (experiment.results_dir / "metrics.json").read_bytes() == before


HEADER = "input_path,object_name,label,siamese_score\n"


@pytest.mark.parametrize("name, csv_text, train, extra, needles", [
    ("missing csv", None, None, {}, ["inference.csv not found"]),
    ("missing columns", "input_path,label\nd,PASS\n", None, {}, ["missing columns: object_name, siamese_score"]),
    ("non-numeric", HEADER + "d,o,PASS,0.1\nd,o2,NG,high\n", None, {}, ["siamese_score", "1 row(s)", "CSV lines 3"]),
    ("nan", HEADER + "d,o,PASS,NaN\nd,o2,NG,0.2\n", None, {}, ["siamese_score", "NaN", "CSV lines 2"]),
    ("inf", HEADER + "d,o,PASS,0.1\nd,o2,NG,-inf\n", None, {}, ["infinite", "CSV lines 3"]),
    ("empty csv", "", None, {}, ["empty CSV"]),
    ("missing label", HEADER + "d,o,PASS,0.1\nd,o2,,0.2\n", None, {}, ["label", "missing", "CSV lines 3"]),
    ("header only", HEADER, None, {}, ["no data rows"]),
    ("no input_map", None, "dataset:\n  classify:\n    image_ext: .png\n", {}, ["dataset.classify.input_map"]),
    ("no image_ext", None, "dataset:\n  classify:\n    input_map: [A]\n", {}, ["dataset.classify.image_ext"]),
    ("missing train", None, "<delete>", {}, ["train config not found", "train_config"]),
    ("top_k 0", None, None, {"top_k_per_label": "0"}, ["top_k_per_label", "at least 1"]),
    ("min_recall 2", None, None, {"min_recall": "2"}, ["min_recall", "outside [0, 1]"]),
    ("unknown key", None, None, {"output_dir": "/x"}, ["output_dir", "unknown key"]),
    ("placeholder", None, None, {"kpi_media_path": "???"}, ["kpi_media_path", "???"]),
    ("escape input_path", HEADER + "../up,o,PASS,0.1\nd,o2,NG,0.9\n", None, {}, ["input_path", "escape"]),
    ("absolute input_path", HEADER + "/etc,o,PASS,0.1\nd,o2,NG,0.9\n", None, {}, ["input_path", "escape"]),
    ("escape object_name", HEADER + "d,../../o,PASS,0.1\nd,o2,NG,0.9\n", None, {}, ["object_name", "escape"]),
])
def test_bad_input_is_a_one_line_error_and_writes_nothing(experiment, name, csv_text, train, extra, needles):
    if name == "missing csv":
        experiment.csv.unlink()
    elif csv_text is not None:
        experiment.csv.write_text(csv_text)
    if train == "<delete>":
        experiment.train_config.unlink()
    elif train is not None:
        experiment.train_config.write_text(train)
    result = run_cli(*CMD, "--engine", "local", *experiment.keys(**extra))
    assert_one_line_error(result, *needles)
    assert result.code == (2 if name in ("missing csv", "missing train") else 1)  # README: a missing file exits 2
    assert _files(experiment.results_dir) == []


def test_missing_inference_folder(experiment, tmp_path):
    result = run_cli(*CMD, "--engine", "local", *experiment.keys(inference_results_dir=tmp_path / "nope"))
    assert_one_line_error(result, "folder not found", "inference_results_dir")


def test_help_names_keys_and_exit_codes():
    result = run_cli(*CMD, "--help")
    assert result.code == 0
    for needle in ("inference_results_dir", "top_k_per_label=50", "--engine", "--dry-run", "4 KPI unreachable"):
        assert needle in result.stdout

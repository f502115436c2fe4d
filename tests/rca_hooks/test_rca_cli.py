import json

from rca_results_builder import SECRETS, report_text
from support import assert_one_line_error, run_cli


def test_package_command_json(results_dir, project):
    transcript = project.parent / "session.jsonl"
    result = run_cli("gaps", "package", results_dir, "--transcript", transcript, "--json", cwd=project)
    assert result.code == 0, result.stderr
    summary = result.json()
    assert summary["manifest"] == str(results_dir / "rca_config" / "manifest.json")
    assert summary["redactions"] >= len(SECRETS) - 1 and summary["skill_source"]["kind"].startswith("project")
    text = (results_dir / "rca_config" / "transcript.jsonl").read_text()
    assert SECRETS["hf"] not in text and SECRETS["ngc"] not in text


def test_check_command_exit_codes(results_dir):
    ok = run_cli("gaps", "check", results_dir, "--json")
    assert ok.code == 0 and ok.json()["ok"] is True
    (results_dir / "RCA_Report.md").write_text(report_text(label_counts={"PASS": 14}))
    bad = run_cli("gaps", "check", results_dir)
    assert bad.code == 3 and "NO_PASS (5)" in bad.stdout and "has 1 problem(s)" in bad.stdout


def test_bad_input_is_one_line(tmp_path):
    assert_one_line_error(run_cli("gaps", "check", tmp_path / "nope"), "results folder not found", "OUT")
    out = tmp_path / "out"
    out.mkdir()
    (out / "vcn_aoi_spec.yaml").write_text("min_recall: 1.0\n")  # a run that has only just started
    assert_one_line_error(run_cli("gaps", "package", out, "--transcript", tmp_path / "missing.jsonl"),
                          "--transcript", "transcript not found")
    result = run_cli("gaps", "package", out, "--json")
    assert result.code == 0 and json.loads(result.stdout)["files"] >= 1  # a near-empty run still packages


def test_package_refuses_a_folder_that_is_not_a_results_folder(tmp_path):
    unrelated = tmp_path / "photos"
    unrelated.mkdir()
    (unrelated / "holiday.txt").write_text("keep me")
    result = run_cli("gaps", "package", str(unrelated))
    assert result.code == 1 and "not a gap analysis results folder" in result.stderr
    assert sorted(p.name for p in unrelated.iterdir()) == ["holiday.txt"]  # nothing written

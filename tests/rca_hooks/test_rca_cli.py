
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
    assert run_cli("gaps", "package", results_dir).code == 0
    ok = run_cli("gaps", "check", results_dir, "--json")
    assert ok.code == 0 and ok.json()["ok"] is True
    (results_dir / "RCA_Report.md").write_text(report_text(label_counts={"PASS": 14}))
    bad = run_cli("gaps", "check", results_dir)
    # the report finding, and the package is now stale (the report changed after packaging)
    assert bad.code == 3 and "NO_PASS (5)" in bad.stdout and "has 2 problem(s)" in bad.stdout
    assert "rca_config/ is stale (RCA_Report.md changed since packaging)" in bad.stdout


def test_bad_input_is_one_line(tmp_path):
    assert_one_line_error(run_cli("gaps", "check", tmp_path / "nope"), "results folder not found", "OUT")
    out = tmp_path / "out"
    out.mkdir()
    (out / "vcn_aoi_spec.yaml").write_text("min_recall: 1.0\n")  # a run that has only just started
    assert_one_line_error(run_cli("gaps", "package", out, "--transcript", tmp_path / "missing.jsonl"),
                          "--transcript", "transcript not found")
    # a run that has not finished (failed, killed, disk full) is never packaged as if it had
    assert_one_line_error(run_cli("gaps", "package", out), str(out), "incomplete results folder", f"delete {out}")
    assert_one_line_error(run_cli("gaps", "check", out), str(out), "incomplete results folder")
    assert not (out / "rca_config").exists()


def test_package_refuses_a_folder_that_is_not_a_results_folder(tmp_path):
    unrelated = tmp_path / "photos"
    unrelated.mkdir()
    (unrelated / "holiday.txt").write_text("keep me")
    result = run_cli("gaps", "package", str(unrelated))
    assert result.code == 1 and "not a gap analysis results folder" in result.stderr
    assert sorted(p.name for p in unrelated.iterdir()) == ["holiday.txt"]  # nothing written


def test_check_reports_a_missing_then_current_then_stale_package(results_dir, project):
    missing = run_cli("gaps", "check", results_dir, "--json", cwd=project)
    assert missing.code == 3
    body = missing.json()
    assert body["package"]["exists"] is False and body["package"]["current"] is False
    assert [f["check"] for f in body["findings"]] == ["package"]
    assert f"tao-skills gaps package {results_dir}" in body["findings"][0]["fix"]

    assert run_cli("gaps", "package", results_dir, "--no-transcript", cwd=project).code == 0
    current = run_cli("gaps", "check", results_dir, "--json", cwd=project)
    assert current.code == 0, current.stdout
    assert current.json()["package"] == {**current.json()["package"], "exists": True, "current": True, "reasons": []}

    report = results_dir / "RCA_Report.md"
    report.write_text(report.read_text().replace("Relabel obj000.", "Relabel obj001."))  # the report was edited
    stale = run_cli("gaps", "check", results_dir, cwd=project)
    assert stale.code == 3 and "rca_config/ is stale (RCA_Report.md changed since packaging)" in stale.stdout


def test_check_sees_changed_inputs_and_tampered_package(results_dir, project):
    assert run_cli("gaps", "package", results_dir, "--no-transcript", cwd=project).code == 0
    csv_path = results_dir.parents[1] / "inference" / "inference.csv"
    csv_path.write_text(csv_path.read_text() + "boards/pass,obj999,PASS,0.1\n")
    (results_dir / "rca_config" / "versions.yaml").write_text("tampered\n")
    reasons = run_cli("gaps", "check", results_dir, "--json", cwd=project).json()["package"]["reasons"]
    assert "rca_config/versions.yaml changed since packaging" in reasons
    assert f"input CSV {csv_path} changed since packaging" in reasons


def _last_step_commands() -> list[str]:
    """The bash lines of the gap SKILL.md's last numbered step."""
    import re

    from support import REPO_ROOT
    text = (REPO_ROOT / "skills" / "tao-analyze-gaps-visual-changenet" / "SKILL.md").read_text()
    path = text.split("## The path", 1)[1].split("\n## ", 1)[0]
    steps = re.split(r"\n(?=\d+\. \*\*)", path)
    last = steps[-1]
    assert last.startswith("7. **Check and package**")
    return [line.strip() for block in re.findall(r"```bash\n(.*?)```", last, re.S) for line in block.splitlines() if line.strip()]


def test_the_skills_last_step_packages_when_no_hook_ran(results_dir, project):
    import subprocess
    import sys
    check, package = _last_step_commands()
    assert check == 'tao-skills gaps check "$OUT"' and package == 'tao-skills gaps package "$OUT"'
    shim = f'tao-skills() {{ "{sys.executable}" -m tao_skill_bank "$@"; }}\n'

    def run(line):
        return subprocess.run(["bash", "-c", shim + line], cwd=project, env={**__import__("os").environ, "OUT": str(results_dir)},
                              capture_output=True, text=True, timeout=120)
    first = run(check)
    assert first.returncode == 3 and "rca_config/ is missing" in first.stdout  # the hook never ran
    assert run(package).returncode == 0
    again = run(check)
    assert again.returncode == 0, again.stdout

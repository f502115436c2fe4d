"""`tao-skills bank validate` end to end, as an agent runs it."""

from support import REPO_ROOT, assert_one_line_error, run_cli


def test_clean_bank_exits_0(tiny_bank):
    result = run_cli("bank", "validate", str(tiny_bank))
    assert result.code == 0, result.stdout
    assert result.stdout.strip().endswith(f"0 error(s), 0 warning(s) in {tiny_bank.resolve()}")


def test_errors_exit_3_with_json_findings(tiny_bank):
    (tiny_bank / "hooks" / "check.py").unlink()
    (tiny_bank / "skills" / "tao-demo-skill" / "evals" / "evals.json").unlink()
    result = run_cli("--bank", str(tiny_bank), "bank", "validate", "--json")
    assert result.code == 3
    report = result.json()
    assert (report["ok"], report["errors"], report["warnings"]) == (False, 1, 1)
    assert {f["rule"] for f in report["findings"]} == {"hooks", "evals"}
    for finding in report["findings"]:
        assert set(finding) == {"file", "rule", "message", "fix", "severity", "line"}
        assert finding["fix"]


def test_text_output_is_one_line_per_finding(tiny_bank):
    (tiny_bank / "hooks" / "check.py").unlink()
    result = run_cli("bank", "validate", str(tiny_bank))
    lines = result.stdout.splitlines()
    assert result.code == 3 and len(lines) == 2
    assert lines[0].startswith("error: hooks/hooks.json: [hooks]") and "— fix:" in lines[0]


def test_not_a_bank_is_an_environment_error(tmp_path):
    assert_one_line_error(run_cli("bank", "validate", str(tmp_path)), str(tmp_path))


def test_the_real_bank_validates_clean():
    result = run_cli("bank", "validate", str(REPO_ROOT), "--json")
    report = result.json()
    errors = [f"{f['file']}: [{f['rule']}] {f['message']}" for f in report["findings"] if f["severity"] == "error"]
    assert result.code == 0 and errors == [], "\n".join(errors)

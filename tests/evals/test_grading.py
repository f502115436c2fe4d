"""Each check type passes on the evidence it names and fails without it."""

from decimal import Decimal

import pytest

from tao_skill_bank.evals.grading import RunEvidence, check_one, grade, pattern_problems, quotes


@pytest.fixture
def workspace(tmp_path):
    out = tmp_path / "exp" / "rca_results" / "2026-01-01_000000"
    out.mkdir(parents=True)
    (out / "threshold.txt").write_text("0.43217\n")
    (out / "metrics.json").write_text('{"precision": 0.9125, "confusion": {"fn": 0}}')
    (out / "spotcheck.json").write_text('{"samples": [{"verdict": "mislabeled"}]}')
    return tmp_path


def evidence(workspace, output="", commands=()):
    return RunEvidence(output=output, commands=list(commands), workspace=workspace)


@pytest.mark.parametrize("check, commands, passed", [
    ({"type": "ran", "pattern": r"gaps run .*--exp-dir"}, ["tao-skills gaps run --exp-dir e --dataset-root r"], True),
    ({"type": "ran", "pattern": r"gaps run"}, ["tao-skills gaps example x"], False),
    ({"type": "not_ran", "pattern": r"container run"}, ["tao-skills spec build x"], True),
    ({"type": "not_ran", "pattern": r"^(?!.*--dry-run).*container run"}, ["tao-skills container run --dry-run"], True),
    ({"type": "not_ran", "pattern": r"^(?!.*--dry-run).*container run"}, ["tao-skills container run -e s"], False),
])
def test_command_checks(workspace, check, commands, passed):
    assert check_one(check, evidence(workspace, commands=commands)).passed is passed


@pytest.mark.parametrize("check, passed", [
    ({"type": "file", "glob": "**/rca_results/*/threshold.txt"}, True),
    ({"type": "file", "glob": "**/kpi_gaps.parquet"}, False),
    ({"type": "file", "glob": "**/spotcheck.json", "contains": r'"verdict":\s*"mislabeled"'}, True),
    ({"type": "file", "glob": "**/spotcheck.json", "contains": r'"verdict":\s*"systematic"'}, False),
    ({"type": "no_file", "glob": "**/unreachable_kpi.txt"}, True),
    ({"type": "no_file", "glob": "**/threshold.txt"}, False),
])
def test_file_checks(workspace, check, passed):
    assert check_one(check, evidence(workspace)).passed is passed


def test_files_reached_through_a_symlink_out_of_the_workspace_do_not_count(workspace, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "kpi_gaps.parquet").write_text("x")
    (workspace / "link.parquet").symlink_to(outside / "kpi_gaps.parquet")
    assert not check_one({"type": "file", "glob": "*.parquet"}, evidence(workspace)).passed


@pytest.mark.parametrize("output, passed", [
    ("The threshold is 0.4322 (recall 1.0).", True),     # rounded to its own precision
    ("threshold 0.43", True),
    ("threshold 0.43217", True),
    ("threshold 0.4", False),                           # one decimal says too little
    ("threshold 0.44", False),
    ("no number here", False),
])
def test_quotes_file(workspace, output, passed):
    check = {"type": "quotes_file", "glob": "**/threshold.txt"}
    assert check_one(check, evidence(workspace, output=output)).passed is passed


def test_quotes_file_json_key(workspace):
    check = {"type": "quotes_file", "glob": "**/metrics.json", "key": "precision"}
    assert check_one(check, evidence(workspace, output="precision 0.91")).passed
    assert not check_one({**check, "key": "recall"}, evidence(workspace, output="0.91")).passed


def test_quotes_rounding():
    assert quotes("0.50", Decimal("0.5"))
    assert quotes("1", Decimal("1.0"))
    assert not quotes("1", Decimal("0.97"))


def test_says_is_case_insensitive(workspace):
    assert check_one({"type": "says", "pattern": "FP16"}, evidence(workspace, output="use an fp16 engine")).passed


def test_grade_needs_every_check_and_no_checks_is_ungraded(workspace):
    checks = [{"type": "says", "pattern": "a"}, {"type": "says", "pattern": "zzz"}]
    result = grade(checks, evidence(workspace, output="a"))
    assert (result.graded, result.passed, [c.passed for c in result.checks]) == (True, False, [True, False])
    assert grade([], evidence(workspace)).as_dict() == {"graded": False, "passed": False, "checks": []}


def test_pattern_problems_name_the_check():
    assert pattern_problems([{"type": "says", "pattern": "ok"}, {"type": "ran", "pattern": "("}]) == \
        ["checks[1].pattern: missing ), unterminated subpattern at position 0"]

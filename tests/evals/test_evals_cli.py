"""`tao-skills evals run` end to end with scripted stand-in agents (no model, no network): one that
follows the skill when it is installed, one that does nothing — so grading is shown to pass and
to fail on the real bank's evals."""

import json
import sys
from pathlib import Path

import pytest

from support import REPO_ROOT, assert_one_line_error, run_cli

AGENTS = Path(__file__).resolve().parent / "agents"
GAPS = "tao-analyze-gaps-visual-changenet"
DEMO_EVAL = "7"  # "Show me how the gap analysis skill works; I don't have any data yet."


def agent(name: str) -> str:
    return f"{sys.executable} {AGENTS / name} {{prompt}}"


def run_evals(tmp_path, agent_name, *extra):
    out = tmp_path / "bench"
    result = run_cli("evals", "run", "--agent-cmd", agent(agent_name), "--skill", GAPS, "--eval", DEMO_EVAL,
                     "--out", out, *extra)
    bench = json.loads((out / "benchmark.json").read_text()) if (out / "benchmark.json").exists() else None
    return result, out, bench


@pytest.mark.slow
def test_an_agent_that_follows_the_skill_passes_only_with_the_skill(tmp_path):
    result, out, bench = run_evals(tmp_path, "follow_skill.py")
    assert result.code == 0, result.stderr
    assert f"results_dir: {out.resolve()}" in result.stdout
    conditions = bench["summary"]["conditions"]
    assert (conditions["with_skill"]["pass_rate"], conditions["without_skill"]["pass_rate"]) == (1.0, 0.0)
    assert bench["summary"]["pass_rate_delta"] == 1.0
    with_run = next(r for r in bench["runs"] if r["condition"] == "with_skill")
    assert [c["passed"] for c in with_run["checks"]] == [True] * 6
    assert with_run["commands"][0] == "tao-skills gaps example vcn_demo"
    run_dir = out / with_run["run_dir"]
    assert "The chosen threshold is" in (run_dir / "transcript.txt").read_text()
    assert json.loads((run_dir / "grading.json").read_text())["passed"] is True
    # The skill is installed where both clients look, without its evals (they hold the answers).
    for folder in (".claude/skills", ".agents/skills"):
        installed = run_dir / "workspace" / folder / GAPS
        assert (installed / "SKILL.md").is_file() and not (installed / "evals").exists()
    without = out / next(r for r in bench["runs"] if r["condition"] == "without_skill")["run_dir"]
    assert not (without / "workspace" / ".claude").exists() and not (without / "workspace" / ".agents").exists()
    summary = (out / "benchmark.md").read_text()
    assert "| with skill | 1 | 1 | 100% | 6/6 |" in summary and "| without skill | 1 | 0 | 0% | 0/6 |" in summary
    assert f"| {GAPS} | 7 | pass (6/6) | FAIL (0/6) |" in summary


def test_an_agent_that_does_nothing_fails_every_check(tmp_path):
    result, out, bench = run_evals(tmp_path, "do_nothing.py", "--json")
    assert result.code == 3  # a graded with-skill run failed
    assert json.loads(result.stdout)["conditions"]["with_skill"]["passed"] == 0
    assert all(not c["passed"] for r in bench["runs"] for c in r["checks"])
    summary = (out / "benchmark.md").read_text()
    assert "## Failed checks" in summary and "runs the 10-image spot check" in summary


def test_only_the_baseline_condition(tmp_path):
    result, _, bench = run_evals(tmp_path, "follow_skill.py", "--without-skill")
    assert result.code == 0
    assert [r["condition"] for r in bench["runs"]] == ["without_skill"]
    assert set(bench["summary"]["conditions"]) == {"without_skill"}


def test_a_timed_out_agent_is_recorded_and_fails(tmp_path):
    result, _, bench = run_evals(tmp_path, "sleepy.py", "--with-skill", "--timeout", "2")
    assert result.code == 3
    (run,) = bench["runs"]
    assert run["timed_out"] is True and run["exit_code"] is None and run["passed"] is False


def test_evals_without_checks_are_reported_ungraded(tmp_path):
    out = tmp_path / "bench"
    result = run_cli("evals", "run", "--agent-cmd", agent("do_nothing.py"), "--skill", GAPS, "--eval", "5",
                     "--with-skill", "--out", out)
    assert result.code == 0
    bench = json.loads((out / "benchmark.json").read_text())
    assert bench["runs"][0]["graded"] is False and bench["summary"]["conditions"]["with_skill"]["pass_rate"] is None
    assert "ungraded" in (out / "benchmark.md").read_text()


@pytest.mark.parametrize("args, code, needle", [
    (["--agent-cmd", "claude -p"], 1, "{prompt}"),
    (["--agent-cmd", "no-such-agent-xyz {prompt}"], 2, "not found"),
    (["--agent-cmd", "echo {prompt}", "--skill", "tao-nope"], 1, "--skill"),
    (["--agent-cmd", "echo {prompt}", "--skill", GAPS, "--eval", "999"], 1, "--eval"),
    (["--agent-cmd", "echo 'unclosed {prompt}"], 1, "--agent-cmd"),
])
def test_bad_requests_are_one_line_errors(tmp_path, args, code, needle):
    result = run_cli("evals", "run", *args, "--out", tmp_path / "bench")
    assert_one_line_error(result, needle)
    assert result.code == code and not (tmp_path / "bench").exists()


def test_an_existing_results_folder_is_never_reused(tmp_path):
    out = tmp_path / "bench"
    out.mkdir()
    (out / "keep.txt").write_text("previous results")
    result = run_cli("evals", "run", "--agent-cmd", "echo {prompt}", "--skill", GAPS, "--eval", DEMO_EVAL, "--out", out)
    assert result.code != 0 and (out / "keep.txt").read_text() == "previous results"
    assert not (out / "runs").exists()


def test_the_bank_evals_validate_with_their_checks():
    from tao_skill_bank.validate import validate_bank

    assert [f for f in validate_bank(REPO_ROOT) if f.rule == "evals"] == []
    graded = [e for s in (REPO_ROOT / "skills").glob("*/evals/evals.json")
              for e in json.loads(s.read_text())["evals"] if e.get("checks")]
    assert len(graded) >= 5

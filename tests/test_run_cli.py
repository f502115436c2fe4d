"""support.run_cli runs the CLI inside the test process: it must give exactly what a child
process (`python -m tao_skill_bank`, support.run_cli_subprocess) gives, and leave the test
process as it found it."""

import logging
import os
import re
import sys
import warnings

import pytest

from support import REPO_ROOT, run_cli, run_cli_subprocess


def _both(*args, normalise=lambda text: text, **kwargs):
    inside, child = run_cli(*args, **kwargs), run_cli_subprocess(*args, **kwargs)
    return ((inside.code, normalise(inside.stdout), normalise(inside.stderr)),
            (child.code, normalise(child.stdout), normalise(child.stderr)))


@pytest.mark.parametrize("argv", [
    ("--version",),                                   # argparse action: SystemExit(0) after stdout
    ("versions", "get", "images.tao_toolkit.pyt"),    # success, result on stdout
    ("versions", "get", "images.tao_toolkit.pyt", "--json"),
    ("versions", "get"),                              # usage mistake: one line, exit 1
    ("versions", "get", "images.nope"),               # bad input: one-line error, exit 1
    ("versions", "get", "images.nope", "--json"),     # JSON error on stdout as well
    ("versions",),                                    # group without subcommand: help on stderr, exit 1
    ("gaps", "summary", "/nonexistent/rca_results/x"),
])
def test_same_code_stdout_stderr_as_a_child_process(argv):
    inside, child = _both(*argv)
    assert inside == child
    assert inside[0] in (0, 1, 2)


def test_env_and_cwd_reach_the_command_as_in_a_child(tmp_path):
    # --bank . is resolved against cwd; $TAO_SKILL_BANK_PATH is read from the environment.
    inside, child = _both("--bank", ".", "versions", "get", "tao_version", cwd=tmp_path)
    assert inside == child and inside[0] != 0 and "--bank=." in inside[2]
    inside, child = _both("--bank", ".", "versions", "get", "tao_version", cwd=REPO_ROOT)
    assert inside == child and inside[0] == 0
    env = {"TAO_SKILL_BANK_PATH": str(tmp_path / "no-bank")}
    inside, child = _both("versions", "get", "tao_version", env=env)
    assert inside == child and inside[0] != 0 and "no-bank" in inside[2]
    inside, child = _both("versions", "get", "tao_version", env={"TAO_SKILL_BANK_PATH": str(REPO_ROOT)})
    assert inside == child and inside[0] == 0


def test_logging_configured_by_the_cli_lands_in_the_captured_stderr(tmp_path):
    from tao_skill_bank.gaps.example import ExampleConfig, create_example

    exp = tmp_path / "exp"
    create_example(exp, ExampleConfig(n_samples=40))
    outs = iter([tmp_path / "in", tmp_path / "child"])

    def normalise(text):
        return text.replace(str(tmp_path / "in"), "OUT").replace(str(tmp_path / "child"), "OUT")

    inside = run_cli("gaps", "run", "--exp-dir", exp, "--dataset-root", exp / "images", "--engine", "local",
                     "--out", next(outs))
    child = run_cli_subprocess("gaps", "run", "--exp-dir", exp, "--dataset-root", exp / "images",
                               "--engine", "local", "--out", next(outs))
    assert (inside.code, normalise(inside.stdout), normalise(inside.stderr)) == \
           (child.code, normalise(child.stdout), normalise(child.stderr))
    assert re.search(r"^INFO tao_skill_bank\.gaps\.\w+: engine: local", inside.stderr, re.M)
    # verbose mode is per run: the next run logs at INFO again, not DEBUG
    verbose = run_cli("-v", "versions", "get", "tao_version")
    assert verbose.code == 0
    assert "DEBUG" not in run_cli("versions", "get", "tao_version").stderr


def test_the_test_process_is_left_as_it_was(tmp_path):
    root = logging.getLogger()
    before = (dict(os.environ), os.getcwd(), sys.argv, sys.stdout, sys.stderr, sys.stdin,
              root.handlers[:], root.level, warnings.filters[:])
    result = run_cli("versions", "get", "tao_version", cwd=tmp_path, env={"TAO_SKILL_BANK_TEST_PROBE": "1"})
    assert result.code == 0
    after = (dict(os.environ), os.getcwd(), sys.argv, sys.stdout, sys.stderr, sys.stdin,
             root.handlers[:], root.level, warnings.filters[:])
    assert after == before


def test_stdin_is_the_given_text():
    from support import _cli_process

    with _cli_process([], None, None, "payload\n", 30):
        assert sys.stdin.read() == "payload\n"
    with _cli_process([], None, None, None, 30):
        assert sys.stdin.read() == ""   # like </dev/null, never the test runner's terminal

"""The CLI shell: help for every command, one-line errors, no tracebacks."""

import importlib

import pytest

from support import assert_one_line_error, run_cli
from tao_skill_bank import cli


def test_every_listed_command_module_exists_and_registers():
    for name in cli.COMMAND_MODULES:
        module = importlib.import_module(name)
        assert callable(getattr(module, "register", None)), name


def _commands(parser):
    import argparse
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                for child_name, child in _commands(sub):
                    yield f"{name} {child_name}", child


def test_top_level_help_lists_every_group():
    result = run_cli("--help")
    assert result.code == 0
    top = [name for name, _ in _commands(cli.build_parser()) if " " not in name]
    assert len(top) == len(cli.COMMAND_MODULES)  # one group per command module
    for name in top:
        assert name in result.stdout


def test_every_subcommand_has_help():
    names = [name for name, _ in _commands(cli.build_parser())]
    assert names
    for name in names:
        result = run_cli(*name.split(), "--help")
        assert result.code == 0, (name, result.stderr)
        assert "usage:" in result.stdout


def test_group_without_subcommand_shows_its_help():
    result = run_cli("versions")
    assert result.code == 1
    assert "get" in result.stderr and "Traceback" not in result.stderr


def test_json_error_is_machine_readable():
    result = run_cli("versions", "get", "images.nope", "--json")
    assert result.code == 1
    payload = result.json()
    assert payload["field"] == "images.nope" and payload["fix"]


def test_every_command_offers_json():
    # Agents parse every command's result: each leaf command must accept --json.
    commands = list(_commands(cli.build_parser()))
    leaves = [(name, sub) for name, sub in commands if not any(child.startswith(name + " ") for child, _ in commands)]
    assert len(leaves) > len(cli.COMMAND_MODULES)
    missing = [name for name, sub in leaves if "--json" not in sub._option_string_actions]
    assert missing == []


@pytest.mark.parametrize("argv, needle", [
    (("versions", "get"), "the following arguments are required: key"),
    (("--no-such-flag",), "unrecognized arguments"),
    (("versions", "fetch"), "invalid choice"),
])
def test_usage_mistakes_are_one_line_bad_input(argv, needle):
    result = run_cli(*argv)
    assert result.code == 1  # 2 is reserved for a missing environment
    assert_one_line_error(result, needle, "--help")
    assert "usage:" not in result.stderr


def test_file_system_refusals_are_one_line_environment_errors(tmp_path):
    # The parent of the target is a regular file: the OS refuses, the CLI says so in one line.
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    result = run_cli("gaps", "example", str(blocker / "exp"), "--json")
    assert result.code == 2, result
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    lines = [l for l in result.stderr.splitlines() if l.startswith("error:")]
    assert len(lines) == 1 and "not_a_folder" in lines[0] and "fix:" in lines[0]
    assert result.json()["exit_code"] == 2

"""`tao-skills`: the thin argparse shell over the bank's functional core.

Each command group lives in its own module exposing `register(subparsers)`; handlers take the
parsed args and return an exit code. Modules keep heavy imports (pandas, pyarrow, PIL) inside
their handlers so `tao-skills --help` and the hooks stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from tao_skill_bank import __version__
from tao_skill_bank.errors import EXIT_BAD_INPUT, EXIT_ENVIRONMENT, UserError

# (module, purpose) — order is the order shown in --help.
COMMAND_MODULES: list[str] = [
    "tao_skill_bank.versions_cli",          # versions get|check|stamp
    "tao_skill_bank.validate.validate_cli",  # bank validate
    "tao_skill_bank.gaps.gap_analysis_cli",  # gap_analysis vcn_aoi (container-compatible)
    "tao_skill_bank.gaps.gaps_cli",          # gaps run|summary|spotcheck|report|example|package|check
    "tao_skill_bank.oi.schemas_cli",        # schemas regenerate
    "tao_skill_bank.oi.spec_cli",           # spec validate|build
    "tao_skill_bank.oi.automl_cli",         # automl route
    "tao_skill_bank.oi.checkpoint_cli",     # checkpoint resolve
    "tao_skill_bank.oi.dataset_cli",        # dataset check
    "tao_skill_bank.oi.container_cli",       # container run
    "tao_skill_bank.evals.evals_cli",        # evals run
]

log = logging.getLogger("tao_skill_bank")


class _Parser(argparse.ArgumentParser):
    """A usage mistake is bad input: one line and exit 1 (argparse prints the usage block and
    exits 2, which the bank's convention reserves for a missing environment). Subparsers inherit it."""

    argv: list[str] = []  # the command line being parsed, for suggestions in error()

    def error(self, message: str):
        # A required option reported missing is often one the user mistyped (`--selct best`).
        known = {o for a in self._actions for o in a.option_strings}
        mistyped = [t.split("=", 1)[0] for t in _Parser.argv if t.startswith("--") and t.split("=", 1)[0] not in known]
        if mistyped and "required" in message and "did you mean" not in message:
            message = _unrecognized(mistyped, self).replace("unrecognized arguments", f"{message}; unknown")
        self.exit(EXIT_BAD_INPUT, f"error: {self.prog}: {message} — fix: see `{self.prog} --help`\n")

    def parse_args(self, args=None, namespace=None):
        """argparse's parse_args, but unknown options are reported by the subcommand that got them,
        with the option it probably meant (`--min_recall` -> `--min-recall`)."""
        argv = list(sys.argv[1:] if args is None else args)
        _Parser.argv = argv
        parsed, extras = self.parse_known_args(argv, namespace)
        if extras:
            leaf = _leaf_parser(self, argv)
            leaf.error(_unrecognized(extras, leaf))
        return parsed


def _leaf_parser(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.ArgumentParser:
    """The (sub)parser the command line ends in: follow subcommand names through the tree."""
    current = parser
    for token in argv:
        actions = [a for a in current._actions if isinstance(a, argparse._SubParsersAction)]
        if actions and token in actions[0].choices:
            current = actions[0].choices[token]
    return current


def _unrecognized(extras: list[str], parser: argparse.ArgumentParser) -> str:
    from tao_skill_bank.suggest import did_you_mean

    options = [o for a in parser._actions for o in a.option_strings]
    message = f"unrecognized arguments: {' '.join(extras)}"
    for extra in extras:
        if extra.startswith("-"):
            found = did_you_mean(extra.split("=", 1)[0], options, limit=2)
            if found:
                return f"{message} — did you mean {' or '.join(found)}?"
    return message


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tao-skills",
        description="Helpers behind the TAO skill bank: gap analysis, spec building and "
                    "validation, container runs, hooks. Results go to stdout, logs to stderr.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--bank", metavar="PATH",
                        help="skill bank root (default: $TAO_SKILL_BANK_PATH, else the bank this package ships)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    parser.add_argument("--traceback", action="store_true", help=argparse.SUPPRESS)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    _log_command(sys.argv[1:] if argv is None else argv)
    try:
        return _main(argv)
    except ModuleNotFoundError as exc:  # a command module itself needs a missing dependency
        error = _missing_dependency_error(exc)
        if error is None:
            raise
        print(f"error: {error.one_line()}", file=sys.stderr)
        return error.exit_code


def _log_command(argv: list[str]) -> None:
    """`tao-skills evals run` sets TAO_SKILL_BANK_COMMAND_LOG for the agent it runs: every command
    (from tao-skills, python -m tao_skill_bank or a skill launcher) is appended there for grading."""
    import os

    path = os.environ.get("TAO_SKILL_BANK_COMMAND_LOG")
    if not path:
        return
    import json

    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"argv": [str(a) for a in argv], "cwd": os.getcwd()}) + "\n")
    except OSError:
        pass  # grading loses one command; the command itself must still run


def _missing_dependency_error(exc: ModuleNotFoundError) -> UserError | None:
    """A missing runtime dependency is an environment problem with an install command, not a crash."""
    from tao_skill_bank.install import missing_dependency, missing_dependency_problem

    module = missing_dependency(exc)
    if module is None:
        return None
    message, fix = missing_dependency_problem(module)
    return UserError(message, fix=fix, exit_code=EXIT_ENVIRONMENT)


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    handler = getattr(args, "func", None)
    if handler is None:
        # A group named without a subcommand: show that group's help.
        sub = getattr(args, "group_parser", None) or parser
        sub.print_help(sys.stderr)
        return 1
    try:
        try:
            return int(handler(args) or 0)
        except BrokenPipeError:
            raise
        except ModuleNotFoundError as exc:
            error = _missing_dependency_error(exc)
            if error is None:
                raise
            raise error from None
        except OSError as exc:  # the file system said no (permissions, read-only, missing parent, full disk)
            raise UserError(exc.strerror or str(exc), file=exc.filename or None,
                            fix="check that the path exists and is writable, then rerun",
                            exit_code=EXIT_ENVIRONMENT) from None
    except UserError as err:
        if getattr(args, "json", False):
            import json
            print(json.dumps(err.as_dict()))
        print(f"error: {err.one_line()}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # last resort: one line, never a traceback for the user
        if args.traceback:
            raise
        print(f"error: internal error {type(exc).__name__}: {exc} "
              f"(rerun with --traceback and report it)", file=sys.stderr)
        return 70


if __name__ == "__main__":
    raise SystemExit(main())

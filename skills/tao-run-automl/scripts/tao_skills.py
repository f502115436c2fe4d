#!/usr/bin/env python3
"""Run the TAO skill bank CLI from this skill folder: `python3 scripts/tao_skills.py --help`.

Same commands as `tao-skills`. Uses the installed `tao_skill_bank` package, else the bank
checkout this folder sits in (../../../src). When the package or one of its runtime
dependencies is missing it prints one line with the install command and exits 2 — never a
traceback. Identical in every skill (tests/test_install.py keeps the copies in sync).
"""

import os
import shlex
import sys
from pathlib import Path

EXIT_ENVIRONMENT = 2
RUNTIME_MODULES = {"yaml", "jsonschema", "pandas", "pyarrow", "PIL", "jinja2", "tao_skill_bank"}
CHECKOUT_PLACEHOLDER = "<path to the TAO skill bank checkout>"


def _checkout(root):
    """`root` when it is a bank checkout pip can install (pyproject.toml + src/tao_skill_bank)."""
    try:
        if root and (root / "pyproject.toml").is_file() and (root / "src" / "tao_skill_bank").is_dir():
            return root.resolve()
    except OSError:
        pass
    return None


def _bank_root_around_this_skill():
    parents = Path(__file__).resolve().parents  # scripts/, <skill>/, skills/, <bank root>
    return parents[3] if len(parents) > 3 else None


def _nearby_checkout():
    """The checkout around this skill folder, else the one $TAO_SKILL_BANK_PATH names."""
    env = os.environ.get("TAO_SKILL_BANK_PATH")
    return (_checkout(_bank_root_around_this_skill())
            or _checkout(Path(env).expanduser() if env else None))


def _install_hint(missing):
    checkout = _nearby_checkout()
    target = shlex.quote(str(checkout)) if checkout else CHECKOUT_PLACEHOLDER
    what = ("tao-skills is not installed" if missing == "tao_skill_bank"
            else f"tao-skills needs the Python module '{missing}', which is missing")
    return f"error: {what} — fix: {shlex.quote(sys.executable)} -m pip install {target}"


def _forget_package():
    # Drop any half-imported package (e.g. a namespace stub) before importing the checkout's.
    for name in [m for m in sys.modules if m == "tao_skill_bank" or m.startswith("tao_skill_bank.")]:
        del sys.modules[name]


def _load_main():
    """(main, None), or (None, the missing module's top-level name)."""
    try:
        from tao_skill_bank.cli import main
        return main, None
    except ModuleNotFoundError as exc:
        missing = (exc.name or "tao_skill_bank").split(".")[0]
    checkout = _checkout(_bank_root_around_this_skill())
    if checkout is None:
        return None, missing
    _forget_package()
    sys.path.insert(0, str(checkout / "src"))
    try:
        from tao_skill_bank.cli import main
        return main, None
    except ModuleNotFoundError as exc:  # checkout present, its dependencies are not installed
        return None, (exc.name or "tao_skill_bank").split(".")[0]


def run(argv):
    cli_main, missing = _load_main()
    if cli_main is None:
        if missing not in RUNTIME_MODULES:
            raise ModuleNotFoundError(f"No module named '{missing}'", name=missing)
        print(_install_hint(missing), file=sys.stderr)
        return EXIT_ENVIRONMENT
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))

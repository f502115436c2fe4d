#!/usr/bin/env python3
"""Run the TAO skill bank CLI from this skill folder: `python3 scripts/tao_skills.py --help`.

Same commands as `tao-skills`. Uses the installed `tao_skill_bank` package, else the bank
checkout this folder sits in (../../../src); otherwise prints how to install it and exits 2.
Identical in every skill (tests/test_install.py keeps the copies in sync).
"""

import sys
from pathlib import Path

INSTALL_HINT = ("tao-skills is not installed: pip install tao-skill-bank "
                "(or pip install <path to the bank checkout>)")


def _load_main():
    try:
        from tao_skill_bank.cli import main
        return main
    except ImportError:
        pass
    checkout_src = (Path(__file__).resolve().parent / ".." / ".." / ".." / "src").resolve()
    if not (checkout_src / "tao_skill_bank").is_dir():
        return None
    # Forget any half-imported package (e.g. a namespace stub) before importing the checkout's.
    for name in [m for m in sys.modules if m == "tao_skill_bank" or m.startswith("tao_skill_bank.")]:
        del sys.modules[name]
    sys.path.insert(0, str(checkout_src))
    try:
        from tao_skill_bank.cli import main
        return main
    except ImportError:  # checkout present but its dependencies are not installed
        return None


if __name__ == "__main__":
    cli_main = _load_main()
    if cli_main is None:
        print(INSTALL_HINT, file=sys.stderr)
        sys.exit(2)
    sys.exit(cli_main(sys.argv[1:]))

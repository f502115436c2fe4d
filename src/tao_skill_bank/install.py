"""What to install when something is missing: the runtime dependency list and the one install
command every hint prints (CLI, skill launcher, SessionStart hook).

Stdlib only, free of package imports and cheap to import (os.path, no pathlib/re), so the
SessionStart hook can load it before deciding whether the package is usable. `tao-skill-bank` is not on the package index: the command names
this bank's own checkout (a path pip can install), or the missing dependencies by their index
names when the package itself is installed.
"""

import os
import sys

PACKAGE = "tao_skill_bank"
# import name -> distribution name on the package index (pyproject.toml `dependencies`).
RUNTIME_DEPENDENCIES = {
    "yaml": "pyyaml",
    "jsonschema": "jsonschema",
    "pandas": "pandas",
    "pyarrow": "pyarrow",
    "PIL": "pillow",
    "jinja2": "jinja2",
}
CHECKOUT_PLACEHOLDER = "<path to the TAO skill bank checkout>"
_PACKAGE_DIR = os.path.dirname(os.path.realpath(__file__))


def source_checkout(root: str | os.PathLike | None) -> str | None:
    """`root` (resolved) when it is a bank checkout pip can install (pyproject.toml + src/tao_skill_bank)."""
    if not root:
        return None
    root = os.fspath(root)
    if os.path.isfile(os.path.join(root, "pyproject.toml")) and \
            os.path.isfile(os.path.join(root, "src", PACKAGE, "__init__.py")):
        return os.path.realpath(root)
    return None


def running_checkout() -> str | None:
    """The checkout this package runs from (editable install or src/ on sys.path), if any."""
    return source_checkout(os.path.dirname(os.path.dirname(_PACKAGE_DIR)))


def findable(module: str) -> bool:
    """Whether a top-level module can be imported, asked of the import system's finders without
    importing it (nor importlib.util, whose imports cost a hook more than this whole check)."""
    if module in sys.modules:
        return sys.modules[module] is not None
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        try:
            if find_spec is not None and find_spec(module, None) is not None:
                return True
        except Exception:  # a broken third-party finder says nothing about this module
            continue
    return False


def missing_modules() -> list[str]:
    """Runtime dependencies this interpreter cannot import."""
    return [module for module in RUNTIME_DEPENDENCIES if not findable(module)]


def missing_dependency(exc: BaseException) -> str | None:
    """The top-level module name when `exc` is a missing runtime dependency (or the package)."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    top = exc.name.split(".")[0]
    return top if top in RUNTIME_DEPENDENCIES or top == PACKAGE else None


def pip_command(targets: list[str], python: str | None = None) -> str:
    import shlex  # only on the path that prints a hint (shlex imports re)

    return " ".join([shlex.quote(python or sys.executable), "-m", "pip", "install", *targets])


def install_command(missing: list[str] | None = None, checkout: str | os.PathLike | None = None,
                    python: str | None = None) -> str:
    """The command that makes `tao-skills` work here: install the checkout (which brings every
    dependency), else the missing dependencies by their index names."""
    checkout = checkout or running_checkout()
    if checkout:
        import shlex

        return pip_command([shlex.quote(os.fspath(checkout))], python)
    names = sorted({RUNTIME_DEPENDENCIES[m] for m in (missing or []) if m in RUNTIME_DEPENDENCIES})
    if names:
        return pip_command(names, python)
    return pip_command([CHECKOUT_PLACEHOLDER], python)


def missing_dependency_problem(module: str) -> tuple[str, str]:
    """(message, fix) for a missing runtime dependency: what is missing and the install command."""
    missing = sorted(set(missing_modules()) | ({module} if module in RUNTIME_DEPENDENCIES else set()))
    what = (f"Python module '{module}' is missing" if module != PACKAGE
            else "the tao_skill_bank package is not importable")
    return what, install_command(missing)

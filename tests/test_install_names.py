"""Every `pip install` the bank shows an agent or a user names something that exists: a path (this
bank's checkout) or a package that is really on the package index. `tao-skill-bank` is not on the
index, so a doc telling anyone to `pip install tao-skill-bank` is a dead end."""

import re
from pathlib import Path

import pytest

from support import REPO_ROOT
from tao_skill_bank.install import RUNTIME_DEPENDENCIES, install_command, pip_command

# Names checked on the package index (pypi.org) for this list; add one only after checking it.
ON_THE_INDEX = {
    "pyyaml", "jsonschema", "pandas", "pyarrow", "pillow", "jinja2",      # runtime dependencies
    "pytest", "skills-ref", "skillsaw",                                   # the test extra
    "nvidia-tao-core", "nvidia-tao-ds", "nvidia-tao-deploy", "nvidia-tao-automl", "nvidia-tao-sdk",
    "pip", "hatchling", "numpy", "omegaconf", "detect-secrets",
}
PIP_INSTALL_RE = re.compile(r"\bpip3?\s+install[ \t]+([^`\n|;&)\"#]*)")
OPTIONS_WITH_VALUE = {"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "--python",
                      "-t", "--target", "-i", "--index-url", "--extra-index-url", "--prefix", "-w"}
SPECIFIER_RE = re.compile(r"(\[.*\])?\s*((==|>=|<=|~=|!=|>|<).*)?$")


def scanned_files() -> list[Path]:
    files = [REPO_ROOT / "README.md", REPO_ROOT / "AGENTS.md"]
    files += sorted((REPO_ROOT / "docs").rglob("*.md"))
    files += sorted((REPO_ROOT / "skills").rglob("*.md"))
    files += sorted((REPO_ROOT / "skills").rglob("*.py"))
    files += sorted((REPO_ROOT / "hooks").glob("*.py"))
    files += sorted((REPO_ROOT / "src").rglob("*.py"))
    return [f for f in files if f.is_file()]


def package_names(text: str) -> list[str]:
    """Index package names in every `pip install ...` of `text` (paths, placeholders, variables and
    option values skipped)."""
    names = []
    for match in PIP_INSTALL_RE.finditer(text):
        tokens = re.sub(r"<[^>]*>?", " ", match.group(1)).split()  # <placeholders> may hold spaces
        skip_next = False
        for token in tokens:
            if skip_next:
                skip_next = False
                continue
            if token.startswith("-"):
                skip_next = token in OPTIONS_WITH_VALUE
                continue
            token = token.strip("'\".,:")
            if not token or token.startswith((".", "/", "~", "<", "$", "{", "*")) or "/" in token \
                    or any(c in token for c in "{}()") \
                    or token.isupper() or token in ("install", "it", "them"):
                continue  # a path, a placeholder (BANK, <path>), a variable or prose
            name = SPECIFIER_RE.sub("", token).lower().replace("_", "-")
            if name:
                names.append(name)
    return names


def test_the_scanner_catches_a_name_that_is_not_on_the_index():
    assert package_names("then `pip install tao-skill-bank` and go") == ["tao-skill-bank"]
    assert package_names("pip install -q -e '.[test]' && pip install --no-deps nvidia-tao-core==7.3.0") \
        == ["nvidia-tao-core"]
    assert package_names("python3 -m pip install BANK; pip install <path to the bank>") == []


@pytest.mark.parametrize("path", scanned_files(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_pip_install_names_a_real_package(path):
    unknown = sorted(set(package_names(path.read_text(encoding="utf-8"))) - ON_THE_INDEX)
    assert unknown == [], f"{path.relative_to(REPO_ROOT)} tells users to pip install {unknown}, not on the index"


def test_generated_install_commands_name_real_packages_or_paths(tmp_path):
    every_dependency = list(RUNTIME_DEPENDENCIES)
    assert set(package_names(install_command(every_dependency, checkout=None, python="python3"))) <= ON_THE_INDEX \
        or install_command(every_dependency, python="python3").endswith(str(REPO_ROOT.resolve()))
    assert package_names(pip_command(sorted(RUNTIME_DEPENDENCIES.values()))) == sorted(RUNTIME_DEPENDENCIES.values())
    assert set(RUNTIME_DEPENDENCIES.values()) <= ON_THE_INDEX


def test_runtime_dependencies_match_pyproject():
    import tomllib

    declared = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {SPECIFIER_RE.sub("", d).lower() for d in declared}
    assert names == set(RUNTIME_DEPENDENCIES.values())

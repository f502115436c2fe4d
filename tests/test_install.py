"""Install paths: the wheel carries the bank, the installed CLI works outside the checkout, and a
skill folder copied on its own either runs its launcher or says in one line how to install."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import yaml

from support import RELEASE, REPO_ROOT
from tao_skill_bank.validate.runner import skill_folders

pytestmark = pytest.mark.slow

SKILLS = skill_folders(REPO_ROOT)
LAUNCHERS = [skill / "scripts" / "tao_skills.py" for skill in SKILLS]
DATA_SERVICES_KEY = "images.tao_toolkit.data_services"
NOT_INSTALLED = "error: tao-skills is not installed — fix: "
# Runs a CLI command with pandas and Pillow unimportable (None in sys.modules blocks an import).
WITHOUT_PANDAS = ("import sys; sys.modules['pandas'] = None; sys.modules['PIL'] = None; "
                  "from tao_skill_bank.cli import main; sys.exit(main(sys.argv[1:]))")


def _run(cmd, cwd, extra_env=None, timeout=300):
    env = {k: v for k, v in os.environ.items() if k not in ("TAO_SKILL_BANK_PATH", "PYTHONPATH", "PYTHONHOME")}
    env.update(extra_env or {})
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)


def _venv_with_main_deps(path: Path) -> Path:
    """A fresh venv that sees this venv's dependencies (appended after its own site-packages, so
    whatever is installed into it wins) but not the editable tao_skill_bank."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=path)
    (Path(site.stdout.strip()) / "main_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheels")
    build = _run([sys.executable, "-m", "pip", "wheel", REPO_ROOT, "--no-deps", "-q", "-w", out], cwd=out)
    assert build.returncode == 0, build.stderr
    (built,) = out.glob("tao_skill_bank-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(tmp_path_factory, wheel) -> Path:
    """bin/ of a fresh venv with the wheel installed."""
    venv = tmp_path_factory.mktemp("installed") / "v"
    python = _venv_with_main_deps(venv)
    install = _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel], cwd=venv)
    assert install.returncode == 0, install.stderr
    return venv / "bin"


@pytest.fixture
def outside(tmp_path) -> Path:
    """A working directory outside the checkout."""
    assert not tmp_path.resolve().is_relative_to(REPO_ROOT.resolve())
    return tmp_path


def _expected(key: str) -> str:
    node = yaml.safe_load((REPO_ROOT / "versions.yaml").read_text())
    for part in key.split("."):
        node = node[part]
    return node


def test_wheel_ships_the_bank(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {"versions.yaml", ".claude-plugin/plugin.json", ".claude-plugin/marketplace.json",
               ".codex-plugin/plugin.json", "AGENTS.md", "hooks/hooks.json", "hooks/session_start.py", "schemas/versions.schema.json", "schemas/skill_info.schema.json",
               "schemas/evals.schema.json", "schemas/hooks.schema.json"}
    shipped |= {f"skills/{launcher.relative_to(REPO_ROOT / 'skills')}" for launcher in LAUNCHERS}
    missing = sorted(p for p in shipped if f"tao_skill_bank/_bank/{p}" not in names)
    assert missing == []


def test_installed_cli_runs_outside_the_checkout(installed, outside):
    where = _run([installed / "python", "-c", "import tao_skill_bank; print(tao_skill_bank.__file__)"], cwd=outside)
    assert Path(where.stdout.strip()).is_relative_to(installed.parent)  # the wheel, not the checkout
    result = _run([installed / "tao-skills", "versions", "get", DATA_SERVICES_KEY], cwd=outside)
    assert (result.returncode, result.stdout) == (0, _expected(DATA_SERVICES_KEY) + "\n")


def test_installed_cli_finds_the_shipped_bank(installed, outside):
    result = _run([installed / "tao-skills", "bank", "validate", "--json"], cwd=outside)
    assert Path(yaml.safe_load(result.stdout)["root"]).name == "_bank"
    assert Path(yaml.safe_load(result.stdout)["root"]).is_relative_to(installed.parent)


def test_installed_bank_validates_clean(installed, outside):
    result = _run([installed / "tao-skills", "bank", "validate"], cwd=outside)
    assert result.returncode == 0, result.stdout


def test_env_and_flag_override_discovery(installed, outside):
    def bank_with_tag(name, tag):
        root = outside / name
        shutil.copytree(REPO_ROOT / "schemas", root / "schemas")
        (root / "skills").mkdir()
        text = (REPO_ROOT / "versions.yaml").read_text()
        (root / "versions.yaml").write_text(text.replace(f"{RELEASE}-data-services", f"{tag}-data-services"))
        return root

    env_bank, flag_bank = bank_with_tag("env", "1.1.1"), bank_with_tag("flag", "2.2.2")
    env = {"TAO_SKILL_BANK_PATH": str(env_bank)}
    by_env = _run([installed / "tao-skills", "versions", "get", DATA_SERVICES_KEY], cwd=outside, extra_env=env)
    assert by_env.stdout.strip().endswith(":1.1.1-data-services")
    by_flag = _run([installed / "tao-skills", "--bank", flag_bank, "versions", "get", DATA_SERVICES_KEY],
                   cwd=outside, extra_env=env)
    assert by_flag.stdout.strip().endswith(":2.2.2-data-services")


# --- the per-skill launcher -------------------------------------------------------------------

def test_every_skill_ships_the_same_launcher():
    assert len(LAUNCHERS) >= 3
    texts = {launcher.read_bytes() for launcher in LAUNCHERS}
    assert len(texts) == 1, "skills/*/scripts/tao_skills.py drifted apart; copy one over the others"


@pytest.fixture
def copied_skill(outside) -> Path:
    """The first skill folder copied alone (no checkout around it)."""
    target = outside / "copied" / SKILLS[0].name
    shutil.copytree(SKILLS[0], target)
    return target


def test_copied_launcher_without_the_package_says_how_to_install(copied_skill, outside):
    # -I -S: no site-packages, no PYTHONPATH, so tao_skill_bank cannot be imported.
    result = _run([sys.executable, "-I", "-S", copied_skill / "scripts" / "tao_skills.py",
                   "versions", "get", DATA_SERVICES_KEY], cwd=outside)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{NOT_INSTALLED}{sys.executable} -m pip install <path to the TAO skill bank checkout>"]


def test_copied_launcher_names_the_bank_of_the_environment_variable(copied_skill, outside):
    result = _run([sys.executable, "-I", "-S", copied_skill / "scripts" / "tao_skills.py", "--help"], cwd=outside,
                  extra_env={"TAO_SKILL_BANK_PATH": str(REPO_ROOT)})
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"{NOT_INSTALLED}{sys.executable} -m pip install {REPO_ROOT.resolve()}"]


def test_launcher_in_a_checkout_without_dependencies_names_the_checkout(outside):
    # The package imports from ../../../src, but none of its runtime dependencies do.
    result = _run([sys.executable, "-I", "-S", LAUNCHERS[0], "versions", "get", DATA_SERVICES_KEY], cwd=outside)
    assert result.returncode == 2, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line == (f"error: Python module 'yaml' is missing — fix: {sys.executable} -m pip install "
                    f"{REPO_ROOT.resolve()}")


def test_cli_from_the_checkout_with_a_missing_dependency(outside, tmp_path):
    result = _run([sys.executable, "-c", WITHOUT_PANDAS, "gaps", "example", tmp_path / "demo"], cwd=outside)
    assert result.returncode == 2 and "internal error" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: Python module '") and "is missing" in line
    assert line.endswith(f"— fix: {sys.executable} -m pip install {REPO_ROOT.resolve()}")
    assert not (tmp_path / "demo").exists()


def test_installed_cli_with_a_missing_dependency_names_it_by_its_index_name(installed, outside, tmp_path):
    result = _run([installed / "python", "-c", WITHOUT_PANDAS, "gaps", "example", tmp_path / "demo", "--json"],
                  cwd=outside)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.endswith(f"— fix: {installed / 'python'} -m pip install pandas pillow"), line
    assert json.loads(result.stdout)["exit_code"] == 2


def test_installed_session_hook_finds_the_shipped_bank(installed, outside):
    hook = next(installed.parent.rglob("tao_skill_bank/_bank/hooks/session_start.py"))
    proc = subprocess.run([installed / "python", hook], input=b"{}", capture_output=True, cwd=outside,
                          env={"PATH": str(installed), "HOME": str(outside)}, timeout=60)
    context = json.loads(proc.stdout)["hookSpecificOutput"]["additionalContext"]
    assert proc.returncode == 0
    assert f"TAO skill bank at {hook.parents[1]}" in context
    assert f"tao-skills is ready: run `{installed / 'tao-skills'}`" in context


def test_copied_launcher_with_the_package_installed(installed, copied_skill, outside):
    result = _run([installed / "python", copied_skill / "scripts" / "tao_skills.py",
                   "versions", "get", DATA_SERVICES_KEY], cwd=outside)
    assert (result.returncode, result.stdout) == (0, _expected(DATA_SERVICES_KEY) + "\n"), result.stderr


def test_launcher_in_the_checkout_falls_back_to_src(tmp_path, outside):
    # Dependencies importable, tao_skill_bank not installed: the launcher uses ../../../src.
    python = _venv_with_main_deps(tmp_path / "deps-only")
    result = _run([python, LAUNCHERS[0], "versions", "get", DATA_SERVICES_KEY], cwd=outside)
    assert (result.returncode, result.stdout) == (0, _expected(DATA_SERVICES_KEY) + "\n"), result.stderr

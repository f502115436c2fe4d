"""Validators nobody on this team wrote: `agentskills validate` (skills-ref, the Agent Skills
reference validator) on every skill folder, and `skillsaw lint` on the whole repo."""

import subprocess
import sys
from pathlib import Path

import pytest

from support import REPO_ROOT
from tao_skill_bank.validate.runner import skill_folders

pytestmark = pytest.mark.external

BIN = Path(sys.executable).parent
SKILL_FOLDERS = skill_folders(REPO_ROOT)


def _tool(name: str) -> Path:
    path = BIN / name
    if not path.is_file():
        pytest.fail(f"{name} is not installed next to {sys.executable}: pip install -e '.[test]'")
    return path


def _run(*cmd) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300)


def test_the_bank_has_skills_to_validate():
    assert len(SKILL_FOLDERS) >= 3, [p.name for p in SKILL_FOLDERS]


@pytest.mark.parametrize("skill", SKILL_FOLDERS, ids=lambda p: p.name)
def test_agentskills_validate(skill):
    result = _run(_tool("agentskills"), "validate", skill)
    assert result.returncode == 0, result.stdout


def test_agentskills_rejects_a_broken_skill(tmp_path):
    # Control: the validator really runs and really fails (an extra frontmatter key).
    skill = tmp_path / "tao-broken"
    skill.mkdir()
    (skill / "SKILL.md").write_text("---\nname: tao-broken\ndescription: Broken. Use never.\nversion: 1\n---\n# x\n")
    assert _run(_tool("agentskills"), "validate", skill).returncode != 0


def test_skillsaw_lint_repo():
    result = _run(_tool("skillsaw"), "lint", REPO_ROOT)
    assert result.returncode == 0, result.stdout
    assert "Errors:   0" in result.stdout


def _claude_cli() -> str | None:
    """Claude Code's own validator is optional (≈235 MB from npm): point TAO_SKILL_BANK_CLAUDE_BIN
    at `node_modules/.bin/claude`, or have `claude` on PATH."""
    import os
    import shutil

    return os.environ.get("TAO_SKILL_BANK_CLAUDE_BIN") or shutil.which("claude")


@pytest.mark.parametrize("target", [".", ".claude-plugin/plugin.json"])
def test_claude_plugin_validate_strict(target, tmp_path):
    claude = _claude_cli()
    if not claude:
        pytest.skip("optional: Claude Code CLI not installed (npm install @anthropic-ai/claude-code, "
                    "then set TAO_SKILL_BANK_CLAUDE_BIN)")
    import os

    env = dict(os.environ, HOME=str(tmp_path), DISABLE_AUTOUPDATER="1", DISABLE_TELEMETRY="1",
               CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1")
    result = subprocess.run([claude, "plugin", "validate", "--strict", str(REPO_ROOT / target)], cwd=REPO_ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    assert result.returncode == 0 and "Validation passed" in result.stdout, result.stdout

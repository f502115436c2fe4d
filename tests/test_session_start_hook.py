"""hooks/session_start.py as Claude Code and Codex run it: payload on stdin, one JSON object with
the session context on stdout, `export TAO_SKILL_BANK_PATH=...` appended to $CLAUDE_ENV_FILE."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from support import REPO_ROOT

HOOK = REPO_ROOT / "hooks" / "session_start.py"
TAO_RELEASE = str(yaml.safe_load((REPO_ROOT / "versions.yaml").read_text())["tao_version"])


def run_hook(script=HOOK, stdin=b'{"hook_event_name": "SessionStart", "source": "startup"}',
             env=None, python=(sys.executable,)):
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith("CLAUDE_") and k not in ("TAO_SKILL_BANK_PATH", "PYTHONPATH")}
    full_env.update(env or {})
    proc = subprocess.run([*python, str(script)], input=stdin, capture_output=True, env=full_env, timeout=60)
    output = json.loads(proc.stdout) if proc.stdout.strip() else None
    return proc.returncode, output, proc.stderr.decode()


def context_of(output) -> str:
    assert set(output) == {"hookSpecificOutput"}
    specific = output["hookSpecificOutput"]
    assert specific["hookEventName"] == "SessionStart"
    return specific["additionalContext"]


def test_ready_environment_names_bank_release_and_command(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_cli = bin_dir / "tao-skills"
    fake_cli.write_text("#!/bin/sh\n")
    fake_cli.chmod(0o755)
    code, output, stderr = run_hook(env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    assert (code, stderr) == (0, "")
    line = context_of(output)
    assert "\n" not in line
    assert f"TAO skill bank at {REPO_ROOT.resolve()}" in line
    assert f"targets TAO {TAO_RELEASE} (versions.yaml)" in line
    assert f"tao-skills is ready: run `{fake_cli}`" in line


def test_without_tao_skills_on_path_names_the_launcher(tmp_path):
    code, output, _ = run_hook(env={"PATH": str(tmp_path)})
    assert code == 0
    assert "tao-skills is ready: run `python3 -m tao_skill_bank` or a skill's `scripts/tao_skills.py`" in context_of(output)


def test_missing_dependencies_give_the_install_command():
    # -I -S: no site-packages, so none of the runtime dependencies can be found; the package
    # itself comes from the checkout's src/ next to hooks/.
    code, output, _ = run_hook(python=(sys.executable, "-I", "-S"))
    assert code == 0
    line = context_of(output)
    assert "tao-skills is NOT usable yet (python3 lacks jinja2, jsonschema, pandas, pillow, pyarrow, pyyaml)" in line
    assert line.endswith(f"— install: python3 -m pip install {REPO_ROOT.resolve()}")
    assert (REPO_ROOT / "pyproject.toml").is_file()  # the command installs a real project


def test_hook_copied_alone_without_package_or_bank(tmp_path):
    lonely = tmp_path / "hooks" / "session_start.py"
    lonely.parent.mkdir()
    shutil.copy(HOOK, lonely)
    code, output, stderr = run_hook(script=lonely, python=(sys.executable, "-I", "-S"), env={"PATH": str(tmp_path)})
    assert (code, stderr) == (0, "")
    line = context_of(output)
    assert "bank folder not found" in line and "TAO release unknown" in line
    assert "tao-skills is NOT installed — install: python3 -m pip install <path to the TAO skill bank checkout>" in line


def test_bank_from_environment_variable(tmp_path):
    lonely = tmp_path / "hooks" / "session_start.py"
    lonely.parent.mkdir()
    shutil.copy(HOOK, lonely)
    code, output, _ = run_hook(script=lonely, env={"TAO_SKILL_BANK_PATH": str(REPO_ROOT)})
    assert code == 0 and f"TAO skill bank at {REPO_ROOT.resolve()}" in context_of(output)


def test_claude_env_file_gets_one_export_line(tmp_path):
    env_file = tmp_path / "session.env"
    env_file.write_text("export OTHER=1\n")
    for _ in range(2):
        code, _, _ = run_hook(env={"CLAUDE_ENV_FILE": str(env_file)})
        assert code == 0
    lines = env_file.read_text().splitlines()
    assert lines.count(f"export TAO_SKILL_BANK_PATH={REPO_ROOT.resolve()}") == 1 and lines[0] == "export OTHER=1"
    # Claude Code sources the file before each Bash command: the variable then names the bank.
    sourced = subprocess.run(["bash", "-c", f". {env_file}; printf %s \"$TAO_SKILL_BANK_PATH\""],
                             capture_output=True, text=True, check=True)
    assert sourced.stdout == str(REPO_ROOT.resolve())


def test_path_with_quotes_is_exported_shell_safe(tmp_path):
    bank = tmp_path / "it's a bank"
    shutil.copytree(REPO_ROOT / "hooks", bank / "hooks")
    shutil.copytree(REPO_ROOT / "skills", bank / "skills")
    shutil.copy(REPO_ROOT / "versions.yaml", bank / "versions.yaml")
    env_file = tmp_path / "session.env"
    code, output, _ = run_hook(script=bank / "hooks" / "session_start.py", env={"CLAUDE_ENV_FILE": str(env_file)})
    assert code == 0 and f"TAO skill bank at {bank}" in context_of(output)
    sourced = subprocess.run(["bash", "-c", f". '{env_file}'; printf %s \"$TAO_SKILL_BANK_PATH\""],
                             capture_output=True, text=True, check=True)
    assert sourced.stdout == str(bank)


def test_existing_bank_variable_is_left_alone(tmp_path):
    env_file = tmp_path / "session.env"
    code, _, _ = run_hook(env={"CLAUDE_ENV_FILE": str(env_file), "TAO_SKILL_BANK_PATH": str(REPO_ROOT)})
    assert code == 0 and not env_file.exists()


@pytest.mark.parametrize("stdin", [b"", b"not json", b"\xff\xfe", b"{" * 100_000])
def test_odd_stdin_never_breaks_the_session(stdin):
    code, output, _ = run_hook(stdin=stdin)
    assert code == 0 and "TAO skill bank at" in context_of(output)


def test_unwritable_env_file_is_skipped(tmp_path):
    code, output, _ = run_hook(env={"CLAUDE_ENV_FILE": str(tmp_path / "missing-dir" / "env")})
    assert code == 0 and "TAO skill bank at" in context_of(output)


def test_disabled_by_environment():
    assert run_hook(env={"TAO_SESSION_CONTEXT": "0"}) == (0, None, "")


def test_registered_for_session_start_in_the_plugin_hooks():
    hooks = json.loads((REPO_ROOT / "hooks" / "hooks.json").read_text())["hooks"]
    (group,) = hooks["SessionStart"]
    assert set(group["matcher"].split("|")) == {"startup", "resume", "clear", "compact"}
    (handler,) = group["hooks"]
    assert handler["command"] == 'python3 "${CLAUDE_PLUGIN_ROOT}/hooks/session_start.py"'


def test_documented_project_configs_run_the_session_hook(tmp_path):
    """docs/hooks.md's .claude/settings.json (hooks/ copied to .claude/hooks/) and .codex/hooks.json
    (BANK = the bank root) snippets, run as written."""
    import re
    import shlex

    text = (REPO_ROOT / "docs" / "hooks.md").read_text()
    claude_cfg, codex_cfg = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, re.DOTALL)]
    project = tmp_path / "project"
    shutil.copytree(REPO_ROOT / "hooks", project / ".claude" / "hooks")
    for cfg in (claude_cfg, codex_cfg):
        (group,) = cfg["hooks"]["SessionStart"]
        assert "startup" in group["matcher"].split("|")
        line = group["hooks"][0]["command"].replace("BANK", str(REPO_ROOT))
        argv = shlex.split(line.replace("$CLAUDE_PROJECT_DIR", str(project)))
        assert argv[0] == "python3"
        code, output, _ = run_hook(script=argv[1], env={"TAO_SKILL_BANK_PATH": str(REPO_ROOT)})
        assert code == 0 and f"targets TAO {TAO_RELEASE}" in context_of(output)

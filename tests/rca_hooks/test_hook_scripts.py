"""Drive hooks/*.py as Claude Code / Codex do: payload JSON on stdin, JSON decision on stdout."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from rca_results_builder import SECRETS, report_text
from support import REPO_ROOT
from tao_skill_bank import versions

REPORT_HOOK = REPO_ROOT / "hooks" / "rca_report_posttooluse.py"
RUN_HOOK = REPO_ROOT / "hooks" / "gap_run_check.py"


def run_hook(script, payload, env=None, python=(sys.executable,)):
    stdin = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CLAUDE_")}
    full_env.update(env or {})
    proc = subprocess.run([*python, str(script)], input=stdin, capture_output=True, env=full_env, timeout=60)
    output = json.loads(proc.stdout) if proc.stdout.strip() else None
    return proc.returncode, output, proc.stderr.decode()


def write_payload(results_dir, project, tool="Write"):
    report = results_dir / "RCA_Report.md"
    tool_input = {"file_path": str(report), "content": report.read_text()} if tool == "Write" else \
        {"file_path": str(report), "old_string": "a", "new_string": "b"}
    return {"session_id": "s1", "transcript_path": str(project.parent / "session.jsonl"), "cwd": str(project),
            "hook_event_name": "PostToolUse", "tool_name": tool, "tool_input": tool_input,
            "tool_response": {"filePath": str(report), "success": True}, "tool_use_id": "t1"}


def test_write_of_a_good_report_packages_and_adds_context(results_dir, project):
    code, output, stderr = run_hook(REPORT_HOOK, write_payload(results_dir, project))
    assert code == 0 and stderr == ""
    assert set(output) == {"hookSpecificOutput"}
    context = output["hookSpecificOutput"]
    assert context["hookEventName"] == "PostToolUse" and "checks passed" in context["additionalContext"]
    manifest = json.loads((results_dir / "rca_config" / "manifest.json").read_text())
    assert manifest["skill_source"]["kind"].startswith("project .claude/skills")
    blob = b"".join(p.read_bytes() for p in (results_dir / "rca_config").rglob("*") if p.is_file())
    assert not any(secret.encode() in blob for secret in SECRETS.values())


def test_edit_leaving_a_bad_report_blocks_with_the_findings(results_dir, project):
    (results_dir / "RCA_Report.md").write_text(report_text(threshold_quote="0.99", filler_words=100))
    code, output, _ = run_hook(REPORT_HOOK, write_payload(results_dir, project, tool="Edit"))
    assert code == 0 and output["decision"] == "block"
    assert "[threshold]" in output["reason"] and "[length]" in output["reason"]
    assert "Packaged" in output["hookSpecificOutput"]["additionalContext"]
    assert (results_dir / "rca_config" / "manifest.json").is_file()
    assert len(output["reason"]) < 10_000


def test_weird_paths_with_spaces_unicode_and_dotdot(tmp_path):
    from rca_results_builder import build_project, build_results_dir
    root = tmp_path / "my exp ü"
    root.mkdir()
    results_dir, project = build_results_dir(root), build_project(root)
    payload = write_payload(results_dir, project)
    payload["tool_input"]["file_path"] = str(project / ".." / os.path.relpath(results_dir, root) / "RCA_Report.md")
    code, output, stderr = run_hook(REPORT_HOOK, payload)
    assert code == 0 and stderr == "" and "checks passed" in output["hookSpecificOutput"]["additionalContext"]
    assert (results_dir / "rca_config" / "manifest.json").is_file()


def test_rewrite_refreshes_the_package(results_dir, project):
    run_hook(REPORT_HOOK, write_payload(results_dir, project))
    first = sorted(p.name for p in results_dir.iterdir())
    run_hook(REPORT_HOOK, write_payload(results_dir, project))
    assert sorted(p.name for p in results_dir.iterdir()) == first  # no staging or duplicate folders


def test_codex_apply_patch_payload(results_dir, project):
    rel = os.path.relpath(results_dir / "RCA_Report.md", project)
    payload = {"session_id": "s", "turn_id": "u", "cwd": str(project), "hook_event_name": "PostToolUse",
               "tool_name": "apply_patch", "tool_input": {"command": f"*** Begin Patch\n*** Update File: {rel}\n@@\n-a\n+b\n*** End Patch\n"}}
    code, output, _ = run_hook(REPORT_HOOK, payload)
    assert code == 0 and "checks passed" in output["hookSpecificOutput"]["additionalContext"]
    manifest = json.loads((results_dir / "rca_config" / "manifest.json").read_text())
    assert any(s["what"] == "transcript" for s in manifest["skipped"])  # no transcript_path: none guessed


def test_plugin_root_skill_is_packaged_from_a_copied_plugin_without_the_package(results_dir, tmp_path):
    plugin = tmp_path / "plugin root ü"
    shutil.copytree(REPO_ROOT / "hooks", plugin / "hooks")
    shutil.copytree(REPO_ROOT / "src" / "tao_skill_bank", plugin / "src" / "tao_skill_bank",
                    ignore=shutil.ignore_patterns("__pycache__"))
    skill = plugin / "skills" / "tao-analyze-gaps-visual-changenet"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text("---\nname: tao-analyze-gaps-visual-changenet\ndescription: plugin copy\n---\n")
    payload = {"cwd": str(tmp_path), "tool_name": "Write", "tool_input": {"file_path": str(results_dir / "RCA_Report.md")}}
    # -S: no site-packages, so the script must find the package in src/ next to its own folder.
    code, output, stderr = run_hook(plugin / "hooks" / "rca_report_posttooluse.py", payload,
                                    env={"CLAUDE_PLUGIN_ROOT": str(plugin)}, python=(sys.executable, "-S"))
    assert code == 0 and stderr == "" and output is not None
    manifest = json.loads((results_dir / "rca_config" / "manifest.json").read_text())
    assert manifest["skill_source"] == {"kind": "plugin ($CLAUDE_PLUGIN_ROOT)", "path": str(skill)}


@pytest.mark.parametrize("stdin", [b"", b"{", b"[]", b"\xff\xfe RCA_Report.md", b'{"tool_name": "Write", "tool_input": {"file_path": "RCA_Report.md"}}',
                                   b'{"tool_input": {"file_path": "/x/rca_results/2025-01-01_000000/RCA_Report.md"}, "tool_name": "Write"}',
                                   b"x" * (40 * 1024 * 1024)])
def test_junk_stdin_exits_0_quietly(stdin):
    for script in (REPORT_HOOK, RUN_HOOK):
        code, output, stderr = run_hook(script, stdin)
        assert code == 0 and "Traceback" not in stderr
        if script == RUN_HOOK or b"rca_results" not in stdin:
            assert output is None


def test_missing_results_folder_is_a_finding_not_a_crash():
    payload = {"tool_name": "Write", "tool_input": {"file_path": "/nonexistent/rca_results/2025-01-01_000000/RCA_Report.md"}}
    code, output, _ = run_hook(REPORT_HOOK, payload)
    assert code == 0 and output["decision"] == "block" and "not found" in output["reason"]


def test_rca_hooks_0_disables_both(results_dir, project):
    code, output, _ = run_hook(REPORT_HOOK, write_payload(results_dir, project), env={"RCA_HOOKS": "0"})
    assert (code, output) == (0, None) and not (results_dir / "rca_config").exists()
    bash = {"tool_name": "Bash", "tool_input": {"command": "tao-skills gaps run"}, "tool_response": {"stderr": "KeyError: 'siamese_score'"}}
    assert run_hook(RUN_HOOK, bash, env={"RCA_HOOKS": "0"})[:2] == (0, None)


def bash_payload(command, stdout="", stderr="", event="PostToolUse"):
    return {"session_id": "s", "cwd": "/tmp", "hook_event_name": event, "tool_name": "Bash",
            "tool_input": {"command": command}, "tool_response": {"stdout": stdout, "stderr": stderr, "interrupted": False}}


def test_bash_failure_blocks_with_the_fix():
    payload = bash_payload("tao-skills gaps run --inference-results-dir exp/inference --out o",
                           stderr="Traceback...\nKeyError: 'siamese_score'\n")
    code, output, _ = run_hook(RUN_HOOK, payload)
    assert code == 0 and output["decision"] == "block" and "output_score" in output["reason"]


def test_docker_run_with_the_pinned_image_and_missing_e():
    image = versions.get_value(versions.load_versions(REPO_ROOT), "images.tao_toolkit.data_services")
    payload = bash_payload(f"docker run --gpus all --rm {image} gap_analysis vcn_aoi results_dir=/o top_k_per_label=50",
                           stderr="docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock.")
    code, output, _ = run_hook(RUN_HOOK, payload)
    assert "-e <spec>" in output["reason"] and "Docker is not available" in output["reason"]
    assert "differs from versions.yaml" not in output["reason"]


def test_bash_success_and_failure_event_use_context():
    code, output, _ = run_hook(RUN_HOOK, bash_payload("tao-skills gaps run --out /e/rca_results/2025-01-01_000000",
                                                      stdout="threshold: 0.43\nprecision=0.9\n"))
    assert code == 0 and set(output) == {"hookSpecificOutput"}
    assert "tao-skills gaps spotcheck /e/rca_results/2025-01-01_000000" in output["hookSpecificOutput"]["additionalContext"]
    failure = bash_payload("tao-skills gaps run", event="PostToolUseFailure")
    failure["error"] = "ValueError: No threshold achieves 100% recall on the NO_PASS class."
    _, output, _ = run_hook(RUN_HOOK, failure)
    assert output["hookSpecificOutput"]["hookEventName"] == "PostToolUseFailure"
    assert "abridged report" in output["hookSpecificOutput"]["additionalContext"]


def test_multiline_command_with_continuations_is_recognised():
    payload = bash_payload("tao-skills gaps \\\n  run --out o", stderr="MissingMandatoryValue: train_config")
    assert "???" in run_hook(RUN_HOOK, payload)[1]["reason"]


def test_other_bash_commands_print_nothing():
    for command in ("ls -la", "git status", "tao-skills gaps summary out"):
        assert run_hook(RUN_HOOK, bash_payload(command, stderr="KeyError: 'siamese_score'")) == (0, None, "")


def _documented_hook_configs() -> list[dict]:
    import re
    text = (REPO_ROOT / "docs" / "hooks.md").read_text()
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.DOTALL)]


def test_documented_project_and_codex_configs_run_the_hooks(results_dir, project, tmp_path):
    """docs/hooks.md promises the same scripts work from .claude/settings.json (hooks/ copied to
    .claude/hooks/) and from .codex/hooks.json (BANK = the bank root): run its snippets as written."""
    import jsonschema
    import shlex
    claude_cfg, codex_cfg = _documented_hook_configs()
    schema = json.loads((REPO_ROOT / "schemas" / "hooks.schema.json").read_text())
    for cfg in (claude_cfg, codex_cfg):
        jsonschema.validate(cfg, schema)
    shutil.copytree(REPO_ROOT / "hooks", project / ".claude" / "hooks")
    env = {"CLAUDE_PROJECT_DIR": str(project)}

    def command_for(cfg, event, tool):
        group = next(g for g in cfg["hooks"][event] if tool in g["matcher"].split("|"))
        line = group["hooks"][0]["command"].replace("BANK", str(REPO_ROOT))
        argv = shlex.split(line.replace("$CLAUDE_PROJECT_DIR", str(project)))
        assert argv[0] == "python3" and os.path.isfile(argv[1]), line
        return argv[1]

    report = command_for(claude_cfg, "PostToolUse", "Write")
    code, output, stderr = run_hook(report, write_payload(results_dir, project), env=env)
    assert code == 0 and stderr == "" and "checks passed" in output["hookSpecificOutput"]["additionalContext"]
    bash = bash_payload("tao-skills gaps run --out o", stderr="KeyError: 'siamese_score'")
    for cfg, event in ((claude_cfg, "PostToolUse"), (claude_cfg, "PostToolUseFailure"), (codex_cfg, "PostToolUse")):
        assert "output_score" in json.dumps(run_hook(command_for(cfg, event, "Bash"), bash, env=env)[1])
    rel = os.path.relpath(results_dir / "RCA_Report.md", project)
    patch = {"cwd": str(project), "hook_event_name": "PostToolUse", "tool_name": "apply_patch",
             "tool_input": {"command": f"*** Begin Patch\n*** Add File: {rel}\n+x\n*** End Patch\n"}}
    code, output, _ = run_hook(command_for(codex_cfg, "PostToolUse", "apply_patch"), patch)
    assert code == 0 and "checks passed" in output["hookSpecificOutput"]["additionalContext"]


def test_the_package_next_to_the_hooks_wins_over_another_importable_copy(results_dir, project, tmp_path):
    # A plugin update must not run its hooks against an older tao_skill_bank that pip put on the path.
    stale = tmp_path / "stale" / "tao_skill_bank" / "rca_hooks"
    stale.mkdir(parents=True)
    (stale.parent / "__init__.py").write_text("")
    (stale / "__init__.py").write_text("")
    (stale / "entry.py").write_text("def report_hook(raw, **kwargs):\n    return {'stale': True}\n")
    code, output, _ = run_hook(REPORT_HOOK, write_payload(results_dir, project),
                               env={"PYTHONPATH": str(tmp_path / "stale")})
    assert code == 0 and "stale" not in output
    assert "checks passed" in output["hookSpecificOutput"]["additionalContext"]


def test_a_report_in_an_unfinished_run_is_blocked_and_nothing_is_packaged(results_dir, project):
    (results_dir / "gap_complete.json").unlink()  # the run was killed or ran out of disk
    code, output, _ = run_hook(REPORT_HOOK, write_payload(results_dir, project))
    assert code == 0 and output["decision"] == "block"
    assert "incomplete" in output["reason"] and f"delete {results_dir}" in output["reason"]
    assert not (results_dir / "rca_config").exists()

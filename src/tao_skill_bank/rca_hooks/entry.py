"""The two hooks as functions of the raw payload: what the hook scripts call after their fast
pre-filter. Each returns the JSON object to print (None = print nothing). The scripts catch
every exception; these functions still turn expected failures into findings."""

from __future__ import annotations

import os
from pathlib import Path

from tao_skill_bank.gaps import contract
from tao_skill_bank.rca_hooks import channel, payload as payload_mod, runcheck

# The packaging and report-check modules (and their redaction regexes) are imported by the report
# hook only: the run hook, on every Bash call, does not pay for them.

NEXT_STEP_OK = "The report is ready to hand over; cite rca_config/manifest.json for provenance."


def _env_path(env: dict, name: str) -> Path | None:
    value = env.get(name, "")
    return Path(value) if value and os.path.isabs(value) else None


def find_project_dir(start: Path, env: dict) -> Path:
    """$CLAUDE_PROJECT_DIR, else the nearest folder up from cwd holding .claude/.agents/.codex/.git."""
    explicit = _env_path(env, "CLAUDE_PROJECT_DIR")
    if explicit:
        return explicit
    for folder in [start, *list(start.parents)[:10]]:
        if any((folder / marker).exists() for marker in (".claude", ".agents", ".codex", ".git")):
            return folder
    return start


def package_request(results_dir: Path, project_dir: Path, transcript: Path | None, env: dict,
                    hook_bank_root: Path | None, include_transcript: bool = True):
    """RCA_PACKAGE_TRANSCRIPT=0 in the environment leaves the transcript out, as --no-transcript does."""
    from tao_skill_bank.rca_hooks.package import TRANSCRIPT_SWITCH, PackageRequest
    wanted = include_transcript and env.get(TRANSCRIPT_SWITCH, "").strip() != "0"
    return PackageRequest(results_dir=results_dir, project_dir=project_dir, transcript=transcript,
                          plugin_root=_env_path(env, "CLAUDE_PLUGIN_ROOT"), hook_bank_root=hook_bank_root,
                          include_transcript=wanted)


def report_hook(raw: bytes, env: dict | None = None, hook_bank_root: Path | None = None) -> dict | None:
    from tao_skill_bank.rca_hooks.package import PackagingError, build_package
    from tao_skill_bank.rca_hooks.reportcheck import ReportCheck, check_results_dir, finding

    env = dict(os.environ) if env is None else env
    data = payload_mod.parse_payload(raw)
    if data is None:
        return None
    out = payload_mod.report_results_dir(data)
    if out is None:
        return None
    event = payload_mod.event_name(data)
    transcript_text = payload_mod.text_field(data, "transcript_path")
    # Passed as given: packaging refuses (and names) a relative, `..`, non-.jsonl or special path.
    transcript = Path(transcript_text) if transcript_text and "\x00" not in transcript_text else None
    project = find_project_dir(payload_mod.payload_cwd(data), env)
    if not out.is_dir():
        return channel.problems(f"RCA hook: results folder {out} not found; nothing packaged — fix: write "
                                f"RCA_Report.md inside the rca_results/<timestamp> folder of the run", event=event)
    incomplete = contract.completion_problem(out)
    if incomplete:  # never package or bless a run that did not finish
        return channel.problems(f"RCA hook: results folder {out} is incomplete ({incomplete}); nothing packaged "
                                f"— fix: {contract.incomplete_fix(out)}, then write RCA_Report.md there", event=event)
    try:
        check = check_results_dir(out, project)
    except (OSError, RuntimeError, ValueError) as exc:  # e.g. a symlink loop under rca_images/: still package
        check = ReportCheck(results_dir=str(out))
        check.findings.append(finding("report", f"the report check stopped ({type(exc).__name__}: "
                                      f"{' '.join(str(exc).split())[:200]})", f"run `tao-skills gaps check {out}`"))
    try:
        manifest = build_package(package_request(out, project, transcript, env, hook_bank_root))
        packaged = (f"Packaged {out}/rca_config/ ({len(manifest['files'])} files in manifest.json, "
                    f"{len(manifest['skipped'])} item(s) skipped).")
    except PackagingError as exc:
        packaged = f"Packaging failed: {exc}"
        return channel.problems(f"RCA report at {out}: {packaged}\n" + _findings_text(check), event=event)
    if check.ok:
        return channel.context(f"RCA report checks passed ({'abridged' if check.abridged else 'full'}, "
                               f"{check.words} words). {packaged} {NEXT_STEP_OK}", event=event)
    return channel.problems(f"RCA report at {out} has {len(check.findings)} problem(s); fix them and write "
                            f"RCA_Report.md again:\n{_findings_text(check)}", extra_context=packaged, event=event)


def _findings_text(check) -> str:
    return "\n".join("- " + f.brief() for f in check.findings) or "- (no report findings)"


def run_hook(raw: bytes, env: dict | None = None, hook_bank_root: Path | None = None) -> dict | None:
    env = dict(os.environ) if env is None else env
    data = payload_mod.parse_payload(raw)
    if data is None:
        return None
    command = payload_mod.shell_command(data)
    if not command or not runcheck.is_gap_run(command):
        return None
    event = payload_mod.event_name(data)
    output = payload_mod.tool_output_text(data)
    from tao_skill_bank import bank
    roots = [r for r in (_env_path(env, "CLAUDE_PLUGIN_ROOT"), hook_bank_root) if r]
    roots += [root for _, root in bank.candidate_roots()]
    pinned = runcheck.pinned_image(runcheck.read_versions_text(roots))
    found = runcheck.diagnose(command, output, pinned)
    if not found:
        return channel.context(runcheck.success_context(command, output), event=event)
    text = "\n".join("- " + runcheck.line(d) for d in found)
    if runcheck.unreachable(found) and len(found) == 1:
        return channel.context(f"Gap-analysis run: KPI unreachable.\n{text}", event=event)
    return channel.problems(f"Gap-analysis run needs attention:\n{text}", event=event)

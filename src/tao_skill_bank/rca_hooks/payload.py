"""Read a hook payload defensively and decide what it is about.

Payloads come from Claude Code (Write/Edit/MultiEdit with `tool_input.file_path`, Bash with
`tool_input.command`) and Codex (`apply_patch` whose patch text names the files it adds or
updates). Every field may be missing or of the wrong type; every path is untrusted.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from tao_skill_bank.gaps import contract

MAX_PAYLOAD_BYTES = 32 * 1024 * 1024
REPORT_NAME = contract.REPORT
# <anything>/rca_results/<YYYY-MM-DD_HHMMSS[_N]>/RCA_Report.md
REPORT_PATH_RE = re.compile(r"(?:^|[\\/])rca_results[\\/]\d{4}-\d{2}-\d{2}_\d{6}(?:_\d+)?[\\/]RCA_Report\.md$")
# Codex apply_patch headers naming a file the patch leaves in place.
PATCH_FILE_RE = re.compile(r"^\*\*\* (?:Add File|Update File|Move to): (.*\S)", re.MULTILINE)
FILE_TOOLS = {"Write", "Edit", "MultiEdit"}
PATCH_TOOLS = {"apply_patch", "ApplyPatch"}


def parse_payload(raw: bytes | str) -> dict | None:
    """The payload as a dict, or None when it is empty, too large or not a JSON object."""
    if not raw or len(raw) > MAX_PAYLOAD_BYTES:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def text_field(mapping, key: str) -> str:
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if isinstance(value, str) else ""


def payload_cwd(payload: dict) -> Path:
    cwd = text_field(payload, "cwd")
    return Path(cwd) if cwd and os.path.isabs(cwd) else Path.cwd()


def written_paths(payload: dict) -> list[str]:
    """Paths a file-writing tool call left on disk (as given: may be relative)."""
    tool = text_field(payload, "tool_name")
    tool_input = payload.get("tool_input")
    if tool in FILE_TOOLS:
        path = text_field(tool_input, "file_path")
        return [path] if path else []
    if tool in PATCH_TOOLS or (tool == "" and isinstance(tool_input, str)):
        if isinstance(tool_input, str):
            patch = tool_input
        else:
            patch = next((text_field(tool_input, k) for k in ("command", "patch", "input")
                          if text_field(tool_input, k)), "")
        return [m.group(1).strip() for m in PATCH_FILE_RE.finditer(patch)]
    return []


def is_report_path(path: Path) -> bool:
    """RCA_Report.md inside rca_results/<timestamp>/, or inside any folder holding gap artifacts
    (the skill lets the user pick a custom output folder with the same inner structure)."""
    if path.name != REPORT_NAME:
        return False
    if REPORT_PATH_RE.search(str(path)):
        return True
    return looks_like_results_dir(path.parent)


def looks_like_results_dir(folder: Path) -> bool:
    """A folder holding gap-analysis artifacts or run files (when its name is not a timestamp)."""
    return contract.holds_run_files(folder)


def report_results_dir(payload: dict) -> Path | None:
    """The results folder whose RCA_Report.md this tool call wrote, else None."""
    cwd = payload_cwd(payload)
    for given in written_paths(payload):
        if "\x00" in given:
            continue
        path = Path(os.path.normpath(cwd / given))  # absolute given paths replace cwd
        if is_report_path(path):
            return path.parent
    return None


def shell_command(payload: dict) -> str:
    """The shell command of a Bash-like tool call ('' for anything else)."""
    if text_field(payload, "tool_name") in PATCH_TOOLS:
        return ""
    tool_input = payload.get("tool_input")
    command = tool_input.get("command") if isinstance(tool_input, dict) else None
    if isinstance(command, list):  # Codex may pass argv
        command = " ".join(str(part) for part in command)
    return command if isinstance(command, str) else ""


def tool_output_text(payload: dict, limit: int = 2_000_000) -> str:
    """stdout + stderr (+ error) of the tool call, whatever shape the runtime used."""
    parts: list[str] = []
    response = payload.get("tool_response")
    if isinstance(response, str):
        parts.append(response)
    elif isinstance(response, dict):
        for key in ("stdout", "stderr", "output", "error", "aggregated_output", "formatted_output"):
            value = response.get(key)
            if isinstance(value, str):
                parts.append(value)
    elif isinstance(response, list):
        parts.extend(item for item in response if isinstance(item, str))
    error = payload.get("error")
    if isinstance(error, str):
        parts.append(error)
    text = "\n".join(parts)
    # Failures print their cause last: keep the tail of oversized output.
    return text[-limit:]


def event_name(payload: dict) -> str:
    return text_field(payload, "hook_event_name") or "PostToolUse"

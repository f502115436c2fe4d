"""SKILL.md frontmatter and body rules of the Agent Skills spec (pure: text in, findings out)."""

from __future__ import annotations

import re
from typing import Any

from tao_skill_bank.findings import WARNING, Finding
from tao_skill_bank.validate.findings import BODY_LENGTH, FRONTMATTER

ALLOWED_KEYS = ("name", "description", "license", "compatibility", "metadata", "allowed-tools")
NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")  # no leading/trailing/double hyphen
NAME_MAX = 64
DESCRIPTION_MAX = 1024
COMPATIBILITY_MAX = 500
BODY_MAX_LINES = 500


def split_frontmatter(text: str) -> tuple[str | None, str]:
    """(frontmatter YAML text or None when the file does not open with a `---` block, body)."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None, text
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return "".join(lines[1:i]), "".join(lines[i + 1:])
    return None, text


def parse_skill_md(text: str, file: str) -> tuple[dict | None, str, list[Finding]]:
    """Parsed frontmatter mapping (None if unusable), the body, and parse findings."""
    from tao_skill_bank.errors import UserError
    from tao_skill_bank.safe_input import load_yaml_text

    raw, body = split_frontmatter(text)
    if raw is None:
        return None, body, [Finding(file, FRONTMATTER, "no YAML frontmatter block at the top",
                                    "start SKILL.md with `---`, name and description, then `---`")]
    try:
        meta = load_yaml_text(raw, source=file)
    except UserError as err:
        return None, body, [Finding(file, FRONTMATTER, f"frontmatter is refused ({err.message})",
                                    "quote the value or fold it with `>-` (a description holding ': ' must be quoted)")]
    if not isinstance(meta, dict):
        return None, body, [Finding(file, FRONTMATTER, "frontmatter must be a mapping",
                                    "write `name: ...` and `description: ...` between the `---` lines")]
    return meta, body, []


def frontmatter_findings(meta: dict, folder_name: str, file: str) -> list[Finding]:
    def bad(message: str, fix: str) -> Finding:
        return Finding(file, FRONTMATTER, message, fix)

    findings = []
    for key in meta:
        if key not in ALLOWED_KEYS:
            findings.append(bad(f"key '{key}' is not allowed by the Agent Skills spec",
                                f"remove it or move it under `metadata:`; allowed keys: {', '.join(ALLOWED_KEYS)}"))
    findings += _name_findings(meta.get("name"), folder_name, bad)
    findings += _description_findings(meta.get("description"), bad)
    for key, expected in (("license", "a short string"), ("allowed-tools", "a space-separated string")):
        if key in meta and not isinstance(meta[key], str):
            findings.append(bad(f"'{key}' must be {expected}, got {type(meta[key]).__name__}",
                                f"write `{key}` as {expected}"))
    if "compatibility" in meta:
        value = meta["compatibility"]
        if not isinstance(value, str) or not 1 <= len(value) <= COMPATIBILITY_MAX:
            findings.append(bad(f"'compatibility' must be a string of 1-{COMPATIBILITY_MAX} characters",
                                "say in one sentence what the environment needs"))
    if "metadata" in meta:
        findings += _metadata_findings(meta["metadata"], bad)
    return findings


def _name_findings(name: Any, folder_name: str, bad) -> list[Finding]:
    if not isinstance(name, str) or not name:
        return [bad("'name' is missing or not a string", f"add `name: {folder_name}`")]
    out = []
    if len(name) > NAME_MAX or not NAME_RE.match(name):
        out.append(bad(f"'name' '{name}' must be 1-{NAME_MAX} chars of a-z, 0-9 and single inner hyphens",
                       "use lowercase kebab-case, no leading/trailing/double '-'"))
    if name != folder_name:
        out.append(bad(f"'name' '{name}' differs from the folder name '{folder_name}'",
                       f"set `name: {folder_name}` or rename the folder"))
    return out


def _description_findings(description: Any, bad) -> list[Finding]:
    if not isinstance(description, str) or not description.strip():
        return [bad("'description' is missing or empty", "say what the skill does and when to use it")]
    out = []
    if len(description) > DESCRIPTION_MAX:
        out.append(bad(f"'description' has {len(description)} characters (max {DESCRIPTION_MAX})",
                       "shorten it; move detail into the body or references/"))
    if "<" in description or ">" in description:
        out.append(bad("'description' contains '<' or '>'", "reword without angle brackets"))
    return out


def _metadata_findings(metadata: Any, bad) -> list[Finding]:
    if not isinstance(metadata, dict):
        return [bad("'metadata' must be a mapping of string to string", "write `metadata:` with `key: \"value\"` lines")]
    return [bad(f"metadata '{key}' must map a string to a string (got {type(value).__name__})",
                f"quote the value: `{key}: \"{value}\"`")
            for key, value in metadata.items() if not isinstance(key, str) or not isinstance(value, str)]


def body_findings(body: str, file: str) -> list[Finding]:
    n_lines = len(body.splitlines())
    if n_lines >= BODY_MAX_LINES:
        return [Finding(file, BODY_LENGTH, f"body has {n_lines} lines (keep it under {BODY_MAX_LINES})",
                        "move detail into references/*.md and link to it", severity=WARNING)]
    return []

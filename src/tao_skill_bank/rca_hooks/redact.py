"""Remove secrets from text before it is packaged: known token shapes anywhere, and the values of
keys / environment variables whose names say they hold a secret (*KEY*, *TOKEN*, *SECRET*,
*PASSWORD*) in JSON, YAML-ish, env-file, `export X=...` and `--flag value` forms. Transcripts
are JSON lines whose strings hold shell commands, so the rules also work inside JSON-escaped
text (`\\"` quotes, `\\n` line ends)."""

from __future__ import annotations

import re

MARK = "[REDACTED]"

_NAME = r"[A-Za-z0-9_.-]*(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)[A-Za-z0-9_.-]*"
# Names that contain a secret word but never hold a secret (error names, token counters).
_HARMLESS_NAME_RE = re.compile(r"(?i)error|keyboard|tokeniz|tokens$|_keys?_?(?:id|column|field)s?$|^keys$|^sort_?key$|^versions-key$|^primary_?key$")

# Token shapes that are secrets wherever they appear.
_TOKEN_PATTERNS = [
    re.compile(r"nvapi-[A-Za-z0-9_-]{20,}"),                      # NGC personal/service keys
    re.compile(r"(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{20,}"),          # Hugging Face tokens
    re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])"),  # AWS access key ids
    re.compile(r"(?<![A-Za-z0-9_])(?:ghp|gho|ghs|github_pat)_[A-Za-z0-9_]{20,}"),
    re.compile(r"(?<![A-Za-z0-9_])sk-[A-Za-z0-9_-]{20,}"),
    # Legacy NGC API keys: base64 of "<id>:<uuid>", about 84 characters, alone between
    # delimiters (longer base64 runs, e.g. images in a transcript, are left alone).
    re.compile(r"(?<![A-Za-z0-9+/=])(?=[A-Za-z0-9+/]*[0-9])(?=[A-Za-z0-9+/]*[a-z])[A-Za-z0-9+/]{80,88}={0,2}(?![A-Za-z0-9+/=])"),
]
_BEARER_RE = re.compile(r"(?i)\b(Bearer|Basic|token)(\s+)(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{8,}")

# Value of a secret-named entry. Values stop at whitespace, quotes, backslash (JSON escapes),
# and shell/JSON punctuation.
_BARE_VALUE = r"[^\s\"'\\,;&|}\]]+"
_JSON_RE = re.compile(r"(?P<lead>(?P<q>\\*\")(?P<name>" + _NAME + r")(?P=q)\s*:\s*(?P=q))"
                      r"(?P<value>(?:[^\"\\]|\\(?!\"|$)[^\"]?)*?)(?P<trail>(?P=q))", re.IGNORECASE)
# NAME="a b" / NAME: 'a b' (possibly JSON-escaped quotes): the whole quoted value.
_QUOTED_RE = re.compile(r"(?P<lead>(?<![A-Za-z0-9_.-])(?P<name>" + _NAME + r")\s*(?:=|:)\s*(?P<quote>\\*[\"']))"
                        r"(?P<value>(?:[^\n\r\"\\]|\\\\)*?)(?P<trail>(?P=quote))", re.IGNORECASE)
# NAME=value (env, export, docker -e): one shell word.
_ASSIGN_RE = re.compile(r"(?P<lead>(?<![A-Za-z0-9_.-])(?P<name>" + _NAME + r")\s*=\s*)(?P<value>" + _BARE_VALUE + r")",
                        re.IGNORECASE)
# name: value (YAML-ish): the rest of the line (a JSON-escaped line ends at a backslash or quote).
_COLON_RE = re.compile(r"(?P<lead>(?<![A-Za-z0-9_.\"-])(?P<name>" + _NAME + r")\s*:(?!//)[ \t]*)"
                       r"(?P<value>[^\s\"\\][^\n\r\"\\]*)", re.IGNORECASE)
_FLAG_RE = re.compile(r"(?P<lead>(?<![A-Za-z0-9_])--?(?P<name>" + _NAME + r")(?:=|\s+)(?P<quote>\\*[\"']?))(?P<value>" + _BARE_VALUE + r")",
                      re.IGNORECASE)


def _keep(name: str, value: str) -> bool:
    """Values we leave alone: empty, already redacted, variable references, harmless names."""
    stripped = value.strip("\\\"'")
    return (not stripped or stripped == MARK or stripped.startswith("$") or stripped in {"null", "None", "true", "false"}
            or bool(_HARMLESS_NAME_RE.search(name)))


def redact_text(text: str) -> tuple[str, int]:
    """(redacted text, number of replacements)."""
    count = 0

    def named(match: re.Match) -> str:
        nonlocal count
        if _keep(match.group("name"), match.group("value")):
            return match.group(0)
        count += 1
        trail = match.group("trail") if "trail" in match.groupdict() else ""
        return match.group("lead") + MARK + (trail or "")

    def whole(match: re.Match) -> str:
        nonlocal count
        count += 1
        return MARK

    def bearer(match: re.Match) -> str:
        nonlocal count
        count += 1
        return match.group(1) + match.group(2) + MARK

    text = _JSON_RE.sub(named, text)
    text = _FLAG_RE.sub(named, text)
    text = _QUOTED_RE.sub(named, text)
    text = _ASSIGN_RE.sub(named, text)
    text = _COLON_RE.sub(named, text)
    text = _BEARER_RE.sub(bearer, text)
    for pattern in _TOKEN_PATTERNS:
        text = pattern.sub(whole, text)
    return text, count

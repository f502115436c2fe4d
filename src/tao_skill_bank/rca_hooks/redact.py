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

# Token shapes that are secrets wherever they appear, each with the literals one of its matches
# must contain (a cheap `in` test skips the regex on text without them).
_TOKEN_PATTERNS = [
    (("nvapi-",), re.compile(r"nvapi-[A-Za-z0-9_-]{20,}"), "token"),                          # NGC keys
    (("hf_",), re.compile(r"(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{20,}"), "token"),                 # Hugging Face
    (("AKIA", "ASIA"), re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])"), "token"),  # AWS key ids
    (("ghp_", "gho_", "ghs_", "github_pat_"), re.compile(r"(?<![A-Za-z0-9_])(?:ghp|gho|ghs|github_pat)_[A-Za-z0-9_]{20,}"), "token"),
    (("sk-",), re.compile(r"(?<![A-Za-z0-9_])sk-[A-Za-z0-9_-]{20,}"), "token"),
    # Legacy NGC API keys: base64 of "<id>:<uuid>", about 84 characters; found as base64 runs
    # of 80+ and kept only when 80–88 long with digits and lower case (longer runs, e.g. images
    # in a transcript, are left alone). A run search is ~7x faster than one lookaround regex.
    ((), re.compile(r"[A-Za-z0-9+/]{80,}={0,2}"), "legacy-ngc"),
]


def _is_legacy_ngc_key(run: str) -> bool:
    body = run.rstrip("=")
    return 80 <= len(body) <= 88 and any(c.isdigit() for c in body) and any(c.islower() for c in body)


# Where a secret-named entry may start: the named-entry rules only run on the stretch of a line
# from just before the first of these words to the line's end (transcripts are large).
# Searched in a lower-cased copy: ~8x faster than an IGNORECASE search.
_SECRET_WORD_RE = re.compile(r"key|token|secret|passw|credential|bearer|basic")
_NAME_REACH = 128
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

    def legacy_ngc(match: re.Match) -> str:
        return whole(match) if _is_legacy_ngc_key(match.group(0)) else match.group(0)

    def bearer(match: re.Match) -> str:
        nonlocal count
        count += 1
        return match.group(1) + match.group(2) + MARK

    def named_rules(segment: str) -> str:
        for rule in (_JSON_RE, _FLAG_RE, _QUOTED_RE, _ASSIGN_RE, _COLON_RE):
            segment = rule.sub(named, segment)
        return _BEARER_RE.sub(bearer, segment)

    text = "".join(named_rules(part) if is_candidate else part for part, is_candidate in _candidate_spans(text))
    for literals, pattern, kind in _TOKEN_PATTERNS:
        if not literals or any(literal in text for literal in literals):
            text = pattern.sub(legacy_ngc if kind == "legacy-ngc" else whole, text)
    return text, count


def _candidate_spans(text: str):
    """Split text into (part, may_hold_a_named_secret) pieces that join back to text."""
    pos = 0
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters change length when lower-cased
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    while (hit := _SECRET_WORD_RE.search(lowered, pos)) is not None:
        line_start = text.rfind("\n", 0, hit.start()) + 1
        start = max(line_start, pos, hit.start() - _NAME_REACH)
        end = text.find("\n", hit.end())
        end = len(text) if end < 0 else end
        yield text[pos:start], False
        yield text[start:end], True
        pos = end
    yield text[pos:], False

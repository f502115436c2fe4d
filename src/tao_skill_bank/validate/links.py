"""Relative markdown links (pure extraction; the runner checks the targets exist)."""

from __future__ import annotations

import re
from urllib.parse import unquote

INLINE_LINK_RE = re.compile(r"!?\[[^\]]*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
REFERENCE_DEF_RE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
FENCE_RE = re.compile(r"^\s{0,3}(```|~~~)")
CODE_SPAN_RE = re.compile(r"`+[^`]*`+")


def relative_link_targets(markdown: str) -> list[tuple[int, str]]:
    """(line number, path) for each link to a local file; URLs, mailto and #anchors are skipped,
    fragments stripped, and links inside code fences or code spans ignored."""
    targets = []
    in_fence = False
    for number, line in enumerate(markdown.splitlines(), start=1):
        if FENCE_RE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        prose = CODE_SPAN_RE.sub("", line)
        raw = [m.group(1) for m in INLINE_LINK_RE.finditer(prose)]
        definition = REFERENCE_DEF_RE.match(prose)
        if definition:
            raw.append(definition.group(1))
        for target in raw:
            path = _local_path(target)
            if path:
                targets.append((number, path))
    return targets


def _local_path(target: str) -> str | None:
    target = target.strip("<>").strip()
    if not target or target.startswith("#") or SCHEME_RE.match(target):
        return None
    path = target.split("#", 1)[0].split("?", 1)[0]
    return unquote(path) or None

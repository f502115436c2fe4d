"""A tiny reader for the flat and nested `key: value` YAML the bank writes (versions.yaml, the
gap spec). Standard library only, so the hooks need no pyyaml. Lists, anchors and multi-line
scalars are not understood: such values come back as raw text or are skipped."""

from __future__ import annotations

import re

# `key: value` (the value's surrounding spaces are stripped in Python: a lazy `.*?` before `\s*$`
# backtracks quadratically on long runs of spaces).
_LINE_RE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.-]+)[ \t]*:(?:[ \t](?P<value>.*)|$)")


MAX_DEPTH = 64  # nesting levels kept (as safe_input's limit for the full YAML reader)


def _scalar(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    comment = re.search(r"\s#", text)
    return (text[:comment.start()] if comment else text).rstrip()


def read_mapping(text: str) -> dict:
    """Nested dict of the `key: value` lines of `text`; values are strings."""
    root: dict = {}
    stack: list[tuple[int, dict]] = [(-1, root)]
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE_RE.match(line)
        if not match:
            continue
        indent = len(match.group("indent"))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if len(stack) > MAX_DEPTH:  # deeper than any file the bank writes: skipped, never a 3,000-deep dict
            continue
        parent = stack[-1][1] if stack else root
        value = match.group("value")
        value = value.strip() if value is not None else None
        if value is None or value == "" or value.startswith("#"):
            child: dict = {}
            parent[match.group("key")] = child
            stack.append((indent, child))
        else:
            parent[match.group("key")] = _scalar(value)
    return root


def dotted(data: dict, key: str) -> str | None:
    node = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, str) else None

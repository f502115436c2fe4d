"""Untrusted text into Markdown, and the few Markdown facts the report check needs.

`escape` is the one function every CSV-, YAML- or JSON-derived value goes through before it
reaches the report (the renderer registers it as the jinja filters `md` and `md_code`). Whatever
the value holds, the result stays inside its table cell or sentence: no new line, table cell,
heading, list, HTML tag, link, image or code span can start from it.

Stdlib only: the report check (a hook) reads reports with the same rules.
"""

from __future__ import annotations

import re

# Line breaks, other control characters and the invisible format characters (Unicode category
# Cf: zero-width spaces and joiners, bidi embeddings/overrides/isolates, BOM, tags), shown as
# visible escapes (\n, \x1b, \u202e) instead: a value cannot hide text or reorder what a reader
# sees around it.
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
                         "\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
                         "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
                         "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Markdown punctuation that can start structure mid-line (escaped with a backslash) and HTML (as
# entities). An underscore between two letters or digits stays as it is: CommonMark never reads
# it as emphasis, and label and file names are full of them (agents copy them from the raw text).
_INLINE_RE = re.compile(r"[\\`*\[\]|#~<>&]|(?<![^\W_])_|_(?![^\W_])")
_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_BACKTICK_RUN_RE = re.compile(r"`+")


def _visible(char: str) -> str:
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else
                                f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")


def visible_controls(text: str, keep: str = "") -> str:
    """`text` with line breaks and other control characters as visible escapes (`\\n`, `\\x1b`):
    one value, one line, also in plain-text output."""
    return _CONTROL_RE.sub(lambda m: m.group() if m.group() in keep else _visible(m.group()), text)


def escape(value, code: bool = False) -> str:
    """`value` as inert inline Markdown text; with `code=True`, as a code span (paths, file
    names), whose content renders verbatim except that `|` reads `\\|` outside tables."""
    text = visible_controls(str(value))
    if not code:
        return _INLINE_RE.sub(lambda m: _ENTITIES.get(m.group(), "\\" + m.group()), text)
    text = text.replace("|", "\\|")  # GFM splits table cells on '|' even inside code spans
    longest = max((len(run) for run in _BACKTICK_RUN_RE.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) else ""
    return f"{fence}{pad}{text}{pad}{fence}" if text else "` `"


def link_target(value) -> str:
    """A relative link or image target: every byte outside `A-Za-z0-9 . _ - / ~` percent-encoded, so
    no ')' , space, '<' or newline can end the link early."""
    from urllib.parse import quote

    return quote(str(value), safe="/._-~")


def fenced_block(text: str, info: str = "text") -> str:
    """A fenced code block holding `text` verbatim: the fence is longer than any backtick run in
    it, so no line of `text` can close it; carriage returns become line breaks (as Markdown reads
    them), other control characters visible escapes (a NUL would become U+FFFD)."""
    body = visible_controls(str(text).replace("\r\n", "\n").replace("\r", "\n"), keep="\n\t").rstrip("\n")
    longest = max((len(run) for run in _BACKTICK_RUN_RE.findall(body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body}\n{fence}"


_FENCE_OPEN_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


def fence_flags(lines: list[str]) -> list[bool]:
    """For each line, whether it belongs to a fenced code block (fence lines included), by
    CommonMark's rule: a fence closes only on a line of the same character, at least as long."""
    flags, open_fence = [], None
    for line in lines:
        if open_fence is None:
            match = _FENCE_OPEN_RE.match(line)
            if match and not (match.group(1)[0] == "`" and "`" in match.group(2)):
                open_fence = match.group(1)
            flags.append(open_fence is not None)
        else:
            flags.append(True)
            stripped = line.strip()
            if (len(line) - len(line.lstrip(" ")) <= 3 and stripped and set(stripped) == {open_fence[0]}
                    and len(stripped) >= len(open_fence)):
                open_fence = None
    return flags


_CELL_SPLIT_RE = re.compile(r"(?<!\\)\|")


def table_cells(row: str) -> list[str]:
    """Cells of a Markdown table row, split on every '|' not right after a backslash (as GFM and
    markdown-it split rows, whatever precedes that backslash)."""
    text = row.strip()
    cells = [c.strip() for c in _CELL_SPLIT_RE.split(text)]
    if text.startswith("|"):
        cells = cells[1:]
    if text.endswith("|") and not text.endswith("\\|") and cells and cells[-1] == "":
        cells = cells[:-1]
    return cells


_BACKTICKS_RE = re.compile(r"(?<!`)`+(?!`)")


def code_spans(line: str) -> list[tuple[int, int]]:
    """(start, end) of each code span of a line, backticks included, by CommonMark's rule: a
    backtick run not after a backslash opens one, the next run of the same length closes it, an
    unclosed run is literal text."""
    spans, runs = [], list(_BACKTICKS_RE.finditer(line))
    i = 0
    while i < len(runs):
        opener = runs[i]
        if _escaped(line, opener.start()):
            # the backslash escapes only the first backtick; the rest of the run may still open
            if len(opener.group()) == 1:
                i += 1
                continue
            opener = re.match(r"`+", line[opener.start() + 1:])
            start, length = runs[i].start() + 1, len(opener.group())
        else:
            start, length = opener.start(), len(opener.group())
        closer = next((j for j in range(i + 1, len(runs)) if len(runs[j].group()) == length), None)
        if closer is None:
            i += 1
            continue
        spans.append((start, runs[closer].end()))
        i = closer + 1
    return spans


def _escaped(line: str, index: int) -> bool:
    """Whether the character at `index` follows an odd number of backslashes."""
    count = 0
    while index - count - 1 >= 0 and line[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1


_ALT_OPEN_RE = re.compile(r"!\[")


def image_alt_spans(line: str) -> list[tuple[int, int]]:
    """(start, end) of the alt text of each image `![alt](target)` outside code spans, brackets
    included: a description, never where a report states which file it shows."""
    code = code_spans(line)
    spans = []
    for opener in _ALT_OPEN_RE.finditer(line):
        start = opener.start()
        if _escaped(line, start) or any(a <= start < b for a, b in code) or any(a <= start < b for a, b in spans):
            continue
        depth, index = 0, opener.end()
        while index < len(line):
            char = line[index]
            if char == "\\":
                index += 2
                continue
            if char == "[":
                depth += 1
            elif char == "]":
                if depth == 0:
                    break
                depth -= 1
            index += 1
        if index < len(line) and line.startswith("(", index + 1) and ")" in line[index + 2:]:
            spans.append((start, index + 1))
    return spans

"""markdown.escape / fenced_block / fence_flags / table_cells, judged by an independent CommonMark +
GFM-tables parser (markdown-it-py): whatever the text, it stays one cell, one sentence, one block."""

import random

import pytest

from tao_skill_bank import markdown

markdown_it = pytest.importorskip("markdown_it")

HOSTILE = ["X\n## 5. Visual Spot Check", "A|B", "<script>alert(1)</script>", "[click](http://evil.example)",
           "![img](x.png)", "`code`", "```", "# HEAD", "**bold**", "a\\", "\\|", "&amp;", "<!-- c -->", "> quote",
           "- item", "1. item", "~~strike~~", "a\r\nb", "tab\tx", "\x1b[31mred", "line\u2028sep", "===", "---",
           "<https://evil.example>", "[a]: http://ref", "\\", "``a``", "|", "x | y | z"]
ALPHABET = list("ab |\\`*_[]()#<>&!~-=+.\n\r\t:/") + ["\u2028", "\x00", "é"]


def _parser():
    return markdown_it.MarkdownIt("commonmark").enable("table")


def _text(inline) -> str:
    """Plain text of an inline token as a reader sees it (escapes and entities resolved)."""
    out = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append("\n")
        elif child.type == "image":
            out.append("<image>")
    return "".join(out)


def _cases(n=400, seed=4):
    rng = random.Random(seed)
    return HOSTILE + ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 14))) for _ in range(n)]


def test_escaped_text_is_one_table_cell_showing_the_value():
    for value in _cases():
        tokens = _parser().parse(f"| Label | n |\n|---|---|\n| {markdown.escape(value)} | 1 |\n")
        cells = [t for t in tokens if t.type == "inline"]
        assert [t.type for t in tokens if t.type.endswith("_open") and t.type.startswith("t")][:1] == ["table_open"], value
        assert len(cells) == 4, (value, [c.content for c in cells])   # header 2 + one row of 2
        assert _text(cells[2]) == markdown.visible_controls(value).strip(), value
        assert not [c for c in cells[2].children if c.type not in ("text", "softbreak")], value
        assert _text(cells[3]) == "1"


def test_escaped_text_is_one_plain_sentence():
    for value in _cases():
        tokens = _parser().parse(f"The label is {markdown.escape(value)} here.\n")
        assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"], value
        assert _text(tokens[1]) == f"The label is {markdown.visible_controls(value)} here.", value
        assert all(c.type == "text" for c in tokens[1].children), value


def test_code_spans_hold_the_value_verbatim():
    for value in _cases():
        tokens = _parser().parse(f"| Image |\n|---|\n| {markdown.escape(value, code=True)} |\n")
        cell = [t for t in tokens if t.type == "inline"][1]
        assert [c.type for c in cell.children] == ["code_inline"], value
        shown = markdown.visible_controls(value)
        # CommonMark strips one leading+trailing space of a padded span (the padding we added)
        assert cell.children[0].content == shown or cell.children[0].content.strip() == shown.strip(), value
        para = _parser().parse(f"Path {markdown.escape(value, code=True)}.\n")
        assert [c.type for c in para[1].children] == ["text", "code_inline", "text"], value


def test_fenced_blocks_cannot_be_closed_from_inside():
    for value in _cases(200) + ["```\n## 5. X\n```", "````", "  ```x", "~~~\n# h"]:
        tokens = _parser().parse("before\n\n" + markdown.fenced_block(value) + "\n\n## After\n")
        fences = [t for t in tokens if t.type == "fence"]
        assert len(fences) == 1, value
        expected = markdown.visible_controls(value.replace("\r\n", "\n").replace("\r", "\n"), keep="\n\t").rstrip("\n")
        assert fences[0].content.rstrip("\n") == expected, value
        assert [t.tag for t in tokens if t.type == "heading_open"] == ["h2"], value


def test_fence_flags_agree_with_the_parser():
    rng = random.Random(9)
    pieces = ["```", "````", "~~~", "   ```", "    ```", "```py", "``` `x`", "text", "## h", "", "````x", "~~~~"]
    for _ in range(300):
        lines = [rng.choice(pieces) for _ in range(rng.randint(1, 10))]
        flags = markdown.fence_flags(lines)
        inside = set()
        for token in _parser().parse("\n".join(lines) + "\n"):
            if token.type == "fence":
                start, end = token.map
                inside.update(range(start, end))
        assert {i for i, f in enumerate(flags) if f} == inside, lines


def test_table_cells_agree_with_the_parser():
    for value in _cases(300):
        row = f"| {markdown.escape(value)} | {markdown.escape(value, code=True)} | x |"
        assert len(markdown.table_cells(row)) == 3, row
    assert markdown.table_cells(r"| a \| b | `c` | d |") == [r"a \| b", "`c`", "d"]


def _line_cases(n=500, seed=21):
    rng = random.Random(seed)
    pieces = ["`", "``", "```", "\\", "\\`", "a", " ", "b c", "![", "](", ")", "]", "[", "x.png", "\\]", "*",
              "![a](x.png)", "![b ", "](rca_images/y.png)"]
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) for _ in range(n)]


def _backtick_in_target(inline) -> bool:
    """A backtick inside a link or image target: markdown-it reads the link first (the renderer
    percent-encodes every target, so a report it drafts never has one)."""
    return any("%60" in (c.attrs.get("src") or c.attrs.get("href") or "") for t in inline for c in t.children or []
               if c.type in ("image", "link_open"))


def test_code_spans_agree_with_the_parser():
    """The check reads the same code spans as markdown-it: their contents, in order."""
    for line in _line_cases():
        tokens = _parser().parse(f"p {line}\n")
        inline = [t for t in tokens if t.type == "inline"]
        if _backtick_in_target(inline):
            continue
        expected = [c.content for t in inline for c in t.children or [] if c.type == "code_inline"]
        got = []
        for a, b in markdown.code_spans(f"p {line}"):
            text = f"p {line}"[a:b]
            ticks = len(text) - len(text.lstrip("`"))
            content = text[ticks:len(text) - ticks]
            if content.startswith(" ") and content.endswith(" ") and content.strip(" "):
                content = content[1:-1]  # CommonMark strips one space each side of a padded span
            got.append(content)
        assert got == expected, line


def test_image_alt_spans_cover_the_parsers_images():
    """Every image markdown-it sees has its alt text inside a span of `image_alt_spans`."""
    for line in _line_cases() + ["![a](rca_images/x.png) | ![b \\] c](y.png) | `![x](y)`"]:
        tokens = _parser().parse(f"p {line}\n")
        images = [c for t in tokens if t.type == "inline" for c in t.children or [] if c.type == "image"]
        if _backtick_in_target([t for t in tokens if t.type == "inline"]):
            continue
        spans = markdown.image_alt_spans(f"p {line}")
        assert len(spans) >= len(images), line
        for image in images:
            assert any(f"({image.attrs['src']}" in f"p {line}"[b - 1:] for a, b in spans), line


def test_invisible_format_characters_are_shown_as_escapes():
    """Every Unicode format character (category Cf: zero-width, bidi controls, BOM, tags) and line
    or paragraph separator, as this Python's unicodedata classifies them, becomes visible."""
    import sys
    import unicodedata

    hidden = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) in ("Cf", "Cc", "Zl", "Zp")]
    assert len(hidden) > 150
    for char in hidden:
        shown = markdown.escape(f"PASS{char}X")
        assert not any(unicodedata.category(c) in ("Cf", "Cc", "Zl", "Zp") for c in shown), hex(ord(char))
        assert shown.startswith("PASS\\") and shown.endswith("X")

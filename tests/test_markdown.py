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

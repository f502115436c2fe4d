"""No measurement is quoted in two documents (so they cannot disagree), and every hook script has
its latency row in the README's Performance section."""

import re

from support import REPO_ROOT

FIGURE_ROW = re.compile(r"^\|\s*([^|]+?)\s*\|.*\d\s*(?:ms|s|MB/s|rows/s|MiB)\b", re.M)
SAME_MEASUREMENT = re.compile(r"[^a-z]+")


def _documents():
    return [REPO_ROOT / "README.md", REPO_ROOT / "AGENTS.md", *sorted((REPO_ROOT / "docs").rglob("*.md")),
            *sorted((REPO_ROOT / "skills").rglob("*.md"))]


def _measurements(text: str) -> set[str]:
    """The case names of table rows that carry a measured figure, digits and units dropped."""
    return {SAME_MEASUREMENT.sub(" ", m.lower()).strip() for m in FIGURE_ROW.findall(text)}


def test_no_measurement_is_quoted_in_two_documents():
    seen: dict[str, str] = {}
    twice = []
    for doc in _documents():
        for case in _measurements(doc.read_text()):
            if case in seen:
                twice.append((case, seen[case], str(doc.relative_to(REPO_ROOT))))
            seen.setdefault(case, str(doc.relative_to(REPO_ROOT)))
    assert twice == []


def test_the_check_sees_a_repeated_measurement():
    assert _measurements("| redact a 26 MB transcript | 5.0 s |") == _measurements("| Redact a 30 MB transcript | 3.9 s |")


def test_the_readme_has_a_latency_row_for_every_hook_script():
    text = (REPO_ROOT / "README.md").read_text()
    section = text[text.index("## Performance"):]
    rows = [line for line in section.splitlines() if line.startswith("| ") and " ms" in line]
    for needle in ("report hook, non-matching", "run-check hook, non-matching", "session-start hook"):
        assert any(needle in row for row in rows), needle
    assert "hooks_latency.py" in section

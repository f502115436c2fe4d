"""Check RCA_Report.md against its results folder.

Pure checks over the report text (sections, length, threshold quote, label counts, spot-check
table) plus one adapter, `check_results_dir`, that reads the folder. A finding names the check,
the problem and the fix, so the model can repair the report in one pass.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tao_skill_bank import fsutil, markdown, safe_input
from tao_skill_bank.errors import UserError
from tao_skill_bank.findings import Finding
from tao_skill_bank.gaps import contract
from tao_skill_bank.rca_hooks import results

REPORT_NAME = contract.REPORT
# Section titles without the level-2 marker (the check matches headings of any spacing).
FULL_SECTIONS = tuple(s.removeprefix("## ") for s in contract.SECTIONS)
ABRIDGED_SECTIONS = tuple(s.removeprefix("## ") for s in contract.ABRIDGED_SECTIONS)
ALLOWED_VERDICTS = contract.VERDICTS
WORD_RANGE = (1000, 1800)
# The range is for a run of REFERENCE_LABELS labels (PASS and a few defect classes, as the bundled
# example). The template writes about PER_LABEL_WORDS words per label (a row in sections 3 and 6, a
# five-row table in section 4), so a run with fewer labels may be that much shorter and one with
# more that much longer: a PASS/NO_PASS run, or one with 40 defect classes, still fits when tight.
REFERENCE_LABELS, PER_LABEL_WORDS = 5, 45
SPOTCHECK_ROWS = 10
FULL_ARTIFACTS = contract.FULL_REPORT_ARTIFACTS
# An unreachable KPI has no chosen threshold: the engine writes its note instead of the threshold,
# the metrics and the parquet.
ABRIDGED_ARTIFACTS = contract.ABRIDGED_REPORT_ARTIFACTS
MAX_CSV_BYTES = 512 * 1024 * 1024

# A level-2 heading; its closing `#`s and spaces are stripped in Python (a lazy `.+?` before
# `\s*#*\s*$` backtracks quadratically on a long line of spaces).
_HEADING_RE = re.compile(r"^##(?!#)[ \t]+(.*\S)")
_NUMBER = r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
# "threshold" then punctuation / a linking word, then the number it is set to.
# Bounded gaps between the words: linear on any line (an unbounded `\s*[\s*_`]*` pair is
# quadratic on a long run of spaces).
_THRESHOLD_QUOTE_RE = re.compile(r"(?i)\b(?P<lead>(?:chosen|selected|decision|operating|final)[ \t]{1,4})?threshold\b"
                                 r"(?:[ \t]{0,4}\([^)\n]{0,30}\))?[\s*_`:=|]{0,12}(?:(?:is|of|at|was|set to|=)[\s*_`]{0,12})?"
                                 r"(?P<num>" + _NUMBER + r")(?!\d|\.\d)")
_IMAGE_REF_RE = re.compile(r"rca_images/[^\s)|`'\"<>\]]+")


def finding(check: str, problem: str, fix: str) -> Finding:
    return Finding(REPORT_NAME, check, problem, fix)


def finding_dict(item: Finding) -> dict:
    """The report check's JSON view of a finding (`gaps check --json`)."""
    return {"check": item.rule, "problem": item.message, "fix": item.fix}


@dataclass
class ReportCheck:
    results_dir: str
    abridged: bool = False
    words: int = 0
    facts: dict = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict:
        return {"results_dir": self.results_dir, "ok": self.ok, "abridged": self.abridged, "words": self.words,
                "facts": self.facts, "findings": [finding_dict(f) for f in self.findings]}


# ---- pure checks over text ---------------------------------------------------------------------

def _norm_heading(text: str) -> str:
    text = re.sub(r"[*_`]", "", text).lower()
    return " ".join(text.replace("–", "-").split()).rstrip(".:")


def _heading(line: str) -> str | None:
    match = _HEADING_RE.match(line)
    if not match:
        return None
    title = match.group(1).rstrip("# \t")
    return title or None


def headings(text: str) -> list[str]:
    lines = text.splitlines()
    return [title for line, fenced in zip(lines, markdown.fence_flags(lines)) if not fenced and (title := _heading(line))]


def sections(text: str) -> dict[str, str]:
    """Body text of each level-2 section, keyed by normalised heading."""
    bodies: dict[str, list[str]] = {}
    current = None
    lines = text.splitlines()
    for line, fenced in zip(lines, markdown.fence_flags(lines)):
        title = None if fenced else _heading(line)
        if title:
            current = _norm_heading(title)
            bodies.setdefault(current, [])
        elif current is not None:
            bodies[current].append(line)
    return {k: "\n".join(v) for k, v in bodies.items()}


def check_sections(text: str, expected: tuple[str, ...]) -> list[Finding]:
    present = [_norm_heading(h) for h in headings(text)]
    wanted = [_norm_heading(h) for h in expected]
    missing = [h for h, n in zip(expected, wanted) if n not in present]
    layout = "abridged (unreachable KPI)" if expected == ABRIDGED_SECTIONS else "full"
    if missing:
        return [finding("sections", f"missing {layout} section(s): {', '.join('## ' + m for m in missing)}",
                        "use exactly these level-2 headings in order: " + "; ".join("## " + h for h in expected))]
    positions = [present.index(n) for n in wanted]
    if positions != sorted(positions):
        return [finding("sections", "sections are out of order",
                        "order the headings: " + "; ".join("## " + h for h in expected))]
    return []


def count_words(text: str, values=()) -> int:
    """Tokens holding a letter or digit. Each occurrence of a multi-word untrusted value (a label
    or lighting, raw or as rendered) is one word: a 600-word label repeated in five tables does not
    make a report too long."""
    long_values = [v for v in values if len(v.split()) > 1]
    if long_values:
        kept, end = [], 0
        for a, b in sorted(_occurrences(text, long_values)):
            if a >= end:  # a new occurrence (one overlapping the last is part of it)
                kept += [text[end:a], " value "]
            end = max(end, b)
        text = "".join(kept) + text[end:]
    return sum(1 for token in text.split() if re.search(r"[A-Za-z0-9]", token))


def word_values(texts) -> set[str]:
    """The values `count_words` counts as one word: each as written and as rendered."""
    return {str(t) for t in texts} | rendered_values(texts)


def word_range(labels: int | None) -> tuple[int, int]:
    """(fewest, most) words for a report on a run with `labels` labels (None: not known)."""
    low, high = WORD_RANGE
    labels = REFERENCE_LABELS if labels is None else labels
    return (low - PER_LABEL_WORDS * max(0, REFERENCE_LABELS - labels),
            high + PER_LABEL_WORDS * max(0, labels - REFERENCE_LABELS))


def check_length(words: int, abridged: bool, labels: int | None = None) -> list[Finding]:
    low, high = word_range(labels)
    scope = "" if labels in (None, REFERENCE_LABELS) else f" (the range for {labels} labels)"
    if words > high:
        return [finding("length", f"{words} words, above {high}{scope}", "cut narrative; keep the numbers and the action list")]
    if words < low and not abridged:
        return [finding("length", f"{words} words, below {low}{scope}",
                        "add the missing depth: per-label numbers, spot-check notes, concrete actions")]
    return []


def quote_matches(quoted: str, actual: float) -> bool:
    """A quoted number matches when it is `actual` rounded to the quoted precision (≥ 2 decimals,
    or exact)."""
    try:
        value = float(quoted)
    except ValueError:
        return False
    if "e" in quoted.lower():
        return abs(value - actual) <= 1e-6 * max(1.0, abs(actual))
    decimals = len(quoted.split(".", 1)[1]) if "." in quoted else 0
    if value == actual:
        return True
    return decimals >= 2 and abs(value - actual) <= 0.5 * 10 ** -decimals + 1e-12


def check_threshold_quote(text: str, threshold: float, values=()) -> list[Finding]:
    """Sections 1–2 must quote threshold.txt; a 'chosen threshold' quoting another number is wrong.
    A quote wholly inside a quoted value (a label or lighting in `values`, a code span) is the
    value's text, not the report's statement: it neither satisfies nor fails the check."""
    bodies = sections(text)
    scope = "\n".join(bodies.get(_norm_heading(h), "") for h in FULL_SECTIONS[:2])
    imitating = [v for v in values if _THRESHOLD_QUOTE_RE.search(v)]
    quotes = [q for q in _THRESHOLD_QUOTE_RE.finditer(scope) if not _inside(q.span(), quoted_spans(scope, imitating))]
    matching = [q for q in quotes if quote_matches(q.group("num"), threshold)]
    wrong_chosen = [q.group("num") for q in quotes if q.group("lead") and not quote_matches(q.group("num"), threshold)]
    if wrong_chosen:
        return [finding("threshold", f"chosen threshold quoted as {', '.join(wrong_chosen)} but threshold.txt says {threshold!r}",
                        f"quote the threshold from threshold.txt: {threshold!r}")]
    if not matching:
        seen = ", ".join(q.group("num") for q in quotes) or "none"
        return [finding("threshold", f"Verdict/Threshold Selection do not quote threshold.txt ({threshold!r}); threshold numbers seen: {seen}",
                        f"write 'chosen threshold: {threshold!r}' in ## 2. Threshold Selection "
                        "(a number inside a label, lighting or `code span` does not count)")]
    return []


# ---- values quoted from the CSV or the train YAML ----------------------------------------------
# A label, lighting or file name may read like a fact ("chosen threshold 7", "edge case",
# "rca_images/x.png", "SCRATCH | 14"). The renderer writes such values escaped
# (markdown.escape), as code spans or as image alt text; a fact counts only where it is not wholly
# inside one of those. An escaped value cannot hold the template's own markup around a fact
# (`**`, `](`), so no fact of the draft is ever discarded.

def quoted_spans(text: str, values=(), code: bool = True) -> list[tuple[int, int]]:
    """Spans of `text` holding quoted values: each occurrence of one of `values` (as rendered),
    image alt texts and, with `code`, code spans (lines of `text` are scanned one by one)."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        structural = markdown.image_alt_spans(line) + (markdown.code_spans(line) if code else [])
        spans += [(offset + a, offset + b) for a, b in structural]
        offset += len(line) + 1
    return spans + _occurrences(text, values)


def _occurrences(text: str, values) -> list[tuple[int, int]]:
    spans = []
    for value in values:
        start = text.find(value) if value else -1
        while start != -1:
            spans.append((start, start + len(value)))
            start = text.find(value, start + 1)
    return spans


def _inside(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(a <= span[0] and span[1] <= b for a, b in spans)


def rendered_values(texts) -> set[str]:
    """Every way the report may show an untrusted value: escaped as the renderer writes it in text
    (which is the raw text when it holds no Markdown punctuation), upper-cased too (labels are
    normalised), and with its control characters as visible escapes."""
    forms = set()
    for text in texts:
        for variant in {str(text), str(text).strip(), str(text).strip().upper()}:
            if variant:
                forms.add(markdown.escape(variant))
    return forms


def label_token_re(label: str) -> re.Pattern:
    # Exact token: PASS must not be satisfied by NO_PASS or PASS_2.
    return re.compile(r"(?<![A-Za-z0-9_-])" + re.escape(label) + r"(?![A-Za-z0-9_-])")


def _count_re(count: int) -> re.Pattern:
    forms = {str(count), f"{count:,}"}
    return re.compile(r"(?<![\d.,])(?:" + "|".join(map(re.escape, sorted(forms))) + r")(?![\d]|[.,]\d)")


def check_label_counts(text: str, label_counts: dict[str, tuple[set[str], int]]) -> list[Finding]:
    """Each label (any spelling seen in the CSV, or its normalised form) must share a line of the
    report with its row count. The label must not be part of a longer quoted value (another label,
    a code span), and the count must stand outside the label and outside every quoted value: a
    label reading 'SCRATCH | 14' or 'DEFECT_24' shows no count. A label holding line breaks is
    verbatim in a fenced block (the engine's breakdown): each of its lines is a quoted value too."""
    lines = text.splitlines()
    forms_of = {}
    for label, (spellings, _count) in label_counts.items():
        # as written, or as the report renderer escapes it (a label holding '|', '<' or a newline)
        forms = spellings | {label}
        forms_of[label] = sorted(f for f in forms | rendered_values(forms) if f)
    # values that can hold another label's name or a number: the only ones that can forge a count
    pieces = {p.strip() for forms in forms_of.values() for f in forms for p in _LINE_BREAK_RE.split(f)}
    compound = sorted({f for f in pieces | {f for forms in forms_of.values() for f in forms}
                       if f and (re.search(r"\d", f) or len(_TOKEN_SPLIT_RE.split(f.strip())) > 1)})
    compound_by_token: dict[str, set[str]] = {}  # token -> compound values holding it (a line reads only its own)
    for form in compound:
        for token in filter(None, _TOKEN_SPLIT_RE.split(form)):
            compound_by_token.setdefault(token, set()).add(form)
    quoted: dict[int, list[tuple[int, int]]] = {}
    # number -> lines showing it, token -> lines holding it: each label reads only the lines with both
    lines_with: dict[int, list[int]] = {}
    lines_with_token: dict[str, set[int]] = {}
    for index, line in enumerate(lines):
        for value in sorted(_numbers_in(line)):
            lines_with.setdefault(value, []).append(index)
        for token in set(_TOKEN_SPLIT_RE.split(line)):
            lines_with_token.setdefault(token, set()).add(index)
    missing = []
    for label, (_spellings, count) in label_counts.items():
        tokens = [label_token_re(f) for f in forms_of[label]]
        count_re = _count_re(count)
        shown = False
        # a token-bounded occurrence of a value holds the value's first token as a whole token of the line
        firsts = [next(filter(None, _TOKEN_SPLIT_RE.split(f)), None) for f in forms_of[label]]
        having = set().union(*(lines_with_token.get(t, ()) for t in firsts)) if all(firsts) else None
        for number in lines_with.get(count, []):
            if having is not None and number not in having:
                continue
            line = lines[number]
            counts = [c.span() for c in count_re.finditer(line)]
            if not counts:
                continue
            names = [t.span() for token in tokens for t in token.finditer(line)]
            if not names:
                continue
            if number not in quoted:
                near = {f for token in set(_TOKEN_SPLIT_RE.split(line)) for f in compound_by_token.get(token, ())}
                quoted[number] = quoted_spans(line, sorted(near))
            if any(_shows_count(line, name, at, quoted[number]) for name in names for at in counts):
                shown = True
                break
        if not shown:
            missing.append(f"{label} ({count})")
    if missing:
        return [finding("labels", f"label(s) not shown with their inference.csv row count: {', '.join(missing)}",
                        "list every label with its total rows from inference.csv on one line or table row "
                                        "(e.g. in ## 6. Per-Label Breakdown), the count outside the label's own text")]
    return []


_TOKEN_SPLIT_RE = re.compile(r"[^A-Za-z0-9_-]+")
_LINE_BREAK_RE = re.compile(r"\r\n|[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")  # as str.splitlines splits
# Runs of digits and commas: every number `_count_re` can match (1400 or 1,400) is one of a run's
# comma-separated parts or the whole run without its commas (a superset; no nested repetition).
_DIGIT_RUN_RE = re.compile(r"\d[\d,]*")


def _numbers_in(line: str) -> set[int]:
    found = set()
    for run in _DIGIT_RUN_RE.findall(line):
        parts = [p for p in run.split(",") if p]
        found.update(int(p) for p in parts if len(p) <= 20)  # no row count has more digits
        if len(run) <= 30:
            found.add(int("".join(parts)))
    return found


def _shows_count(line: str, name: tuple[int, int], count: tuple[int, int], quoted: list[tuple[int, int]]) -> bool:
    if count[0] < name[1] and name[0] < count[1]:
        return False  # the number is part of the label
    for a, b in quoted:
        holds_name = a <= name[0] and name[1] <= b and (a, b) != name
        if holds_name and line[a + 1:b - 1].strip() != line[name[0]:name[1]]:
            return False  # the label is part of a longer value (a code span quoting just it is fine)
        if a <= count[0] and count[1] <= b and (a, b) != count:
            return False  # the number is part of a quoted value
    return True


def table_rows(section: str) -> list[str]:
    """Data rows of the markdown tables in a section (header and separator rows dropped)."""
    lines = [l.strip() for l in section.splitlines()]
    rows = []
    for i, line in enumerate(lines):
        if not line.startswith("|") or re.fullmatch(r"\|[\s:|-]*\|?", line):
            continue
        next_line = lines[i + 1] if i + 1 < len(lines) else ""
        if re.fullmatch(r"\|?\s*:?-{3,}.*", next_line):
            continue  # header row
        rows.append(line)
    return rows


def _verdict_re(verdict: str) -> re.Pattern:
    return re.compile(r"(?i)(?<![A-Za-z])" + r"[\s-]".join(map(re.escape, verdict.split())) + r"(?![A-Za-z])")


def verdicts_in(row: str, allowed: tuple[str, ...], values=()) -> list[str]:
    """The allowed verdicts written in `row`, not counting those inside a quoted value (a label
    named 'edge case', a code span, an image's alt text)."""
    patterns = {v: _verdict_re(v) for v in allowed}
    imitating = [value for value in values if any(p.search(value) for p in patterns.values())]
    spans = quoted_spans(row, imitating)
    return [v for v, p in patterns.items() if any(not _inside(m.span(), spans) for m in p.finditer(row))]


_LINK_TARGET_RE = re.compile(r"\]\((?:<)?(rca_images/[^\s)|`'\"<>\]]+)")


def image_refs(cell: str, values=()) -> list[str]:
    """The rca_images/ files a cell names: an image or link target always counts; a bare path
    counts when it is not inside alt text or a quoted value (a label naming rca_images/x.png)."""
    code = markdown.code_spans(cell)
    targets = [m for m in _LINK_TARGET_RE.finditer(cell) if not _inside(m.span(1), code)]
    taken = [m.span(1) for m in targets]
    spans = quoted_spans(cell, [v for v in values if _IMAGE_REF_RE.search(v)], code=False)
    bare = [m for m in _IMAGE_REF_RE.finditer(cell) if m.span() not in taken and not _inside(m.span(), spans)]
    return [m.group(1) for m in targets] + [m.group() for m in bare]


def _column(section: str, name: str) -> int | None:
    """Index of the column headed `name` in the section's first table, else None."""
    lines = [l.strip() for l in section.splitlines()]
    for line, next_line in zip(lines, lines[1:]):
        if line.startswith("|") and re.fullmatch(r"\|?\s*:?-{3,}.*", next_line):
            names = [_norm_heading(c) for c in markdown.table_cells(line)]
            return names.index(name) if name in names else None
    return None


def _cell(row: str, column: int | None) -> str:
    """The row's cell in `column` when the table has it, else the whole row (a free-form table):
    a label or file name elsewhere in the row cannot count as a verdict or an image."""
    cells = markdown.table_cells(row)
    return cells[column] if column is not None and column < len(cells) else row


def check_spotcheck_rows(section: str, allowed: tuple[str, ...], image_exists, values=()) -> list[Finding]:
    rows = table_rows(section)
    verdict_column, image_column = _column(section, "verdict"), _column(section, "image")
    findings = []
    if len(rows) != SPOTCHECK_ROWS:
        findings.append(finding("spot check", f"## 5. Visual Spot Check has {len(rows)} table rows, expected {SPOTCHECK_ROWS}",
                                "one row per spot-check sample (5 weakest PASS + 5 weakest NO_PASS, see spotcheck.json)"))
    for number, row in enumerate(rows, 1):
        found = verdicts_in(_cell(row, verdict_column), allowed, values)
        if len(found) != 1:
            findings.append(finding("spot check", f"row {number} has {len(found)} verdicts ({', '.join(found) or 'none'})",
                                    f"give exactly one of: {', '.join(allowed)}"))
        refs = image_refs(_cell(row, image_column), values)
        if not refs:
            findings.append(finding("spot check", f"row {number} names no image under rca_images/",
                                    "link the thumbnail, e.g. ![](rca_images/<file>.png)"))
        for ref in refs:
            if not image_exists(ref):
                findings.append(finding("spot check", f"row {number}: {ref} does not exist",
                                        "run `tao-skills gaps spotcheck` or fix the image path"))
    return findings


# ---- adapter: read the folder ------------------------------------------------------------------

def label_counts_from_csv(path: Path) -> dict[str, tuple[set[str], int]]:
    """{normalised label: (spellings seen, rows)} from inference.csv (stdlib csv)."""
    spellings: dict[str, set[str]] = {}
    counts: Counter = Counter()
    fd, _ = fsutil.open_untrusted(path, cap=MAX_CSV_BYTES, follow=True, max_links=None)  # judged on the opened fd
    with open(fd, newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "label" not in [f.strip() for f in reader.fieldnames]:
            raise KeyError("label")
        key = next(f for f in reader.fieldnames if f.strip() == "label")
        for row in reader:
            raw = str(row.get(key) or "").strip()
            norm = raw.upper()
            counts[norm] += 1
            spellings.setdefault(norm, set()).add(raw)
    return {label: (spellings[label], counts[label]) for label in counts}


def _allowed_verdicts(out: Path) -> tuple[str, ...]:
    text = results.read_small_text(out / contract.SPOTCHECK)
    try:  # the agent edits spotcheck.json: bounded parse (depth, huge ints), any problem -> defaults
        listed = safe_input.load_json_text(text, source=contract.SPOTCHECK).get("allowed_verdicts") if text else None
    except (UserError, AttributeError):
        listed = None
    if isinstance(listed, list) and listed and all(isinstance(v, str) and v.strip() for v in listed):
        return tuple(v.strip().lower() for v in listed)
    return ALLOWED_VERDICTS


def _image_exists(out: Path):
    try:
        images = (out / contract.IMAGES_DIR).resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return lambda ref: False

    def exists(ref: str) -> bool:
        try:
            target = (out / ref).resolve()
            return target.is_file() and target.is_relative_to(images)
        except (OSError, ValueError, RuntimeError):  # RuntimeError: a symlink loop (before Python 3.13)
            return False
    return exists


def _artifact_findings(out: Path, names: tuple[str, ...]) -> list[Finding]:
    missing = [n for n in names if not ((out / n.rstrip("/")).is_dir() if n.endswith("/") else (out / n).is_file())]
    if not missing:
        return []
    return [finding("artifacts", f"missing in the results folder: {', '.join(missing)}",
                    "rerun the step that writes them (`tao-skills gaps run` for the gap artifacts, "
                    "`tao-skills gaps spotcheck` for rca_images/)")]


def check_results_dir(out: Path, project_dir: Path | None = None) -> ReportCheck:
    out = Path(out)
    check = ReportCheck(results_dir=str(out))
    text = results.read_small_text(out / REPORT_NAME, limit=4 * 1024 * 1024)
    if text is None:
        check.findings.append(finding("report", f"{out / REPORT_NAME} not found or unreadable",
                                      "write RCA_Report.md into the results folder"))
        return check
    incomplete = contract.completion_problem(out)
    if incomplete:  # a failed or killed run: nothing in it can be trusted
        check.findings.append(finding("results", f"incomplete results folder: {incomplete}",
                                      contract.incomplete_fix(out)))
        return check
    check.abridged = (out / contract.UNREACHABLE).is_file()
    label_findings, labels = _label_findings(out, text, project_dir, check)
    names = labels | _lightings(out)  # the untrusted names the report quotes
    values = sorted(rendered_values(names))
    check.words = count_words(text, word_values(names))
    check.findings += check_sections(text, ABRIDGED_SECTIONS if check.abridged else FULL_SECTIONS)
    counted = check.facts.get("labels")
    check.findings += check_length(check.words, check.abridged, len(counted) if counted else None)
    threshold = results.read_threshold(out)
    check.facts["threshold"] = threshold
    if threshold is not None:
        check.findings += check_threshold_quote(text, threshold, values)
    check.findings += label_findings
    if check.abridged:
        check.findings += _unreachable_quote_findings(out, text)
        check.findings += _artifact_findings(out, ABRIDGED_ARTIFACTS)
    else:
        spot = sections(text).get(_norm_heading(FULL_SECTIONS[4]), "")
        check.findings += check_spotcheck_rows(spot, _allowed_verdicts(out), _image_exists(out), values)
        check.findings += _artifact_findings(out, FULL_ARTIFACTS)
    return check


def _label_findings(out: Path, text: str, project_dir: Path | None, check: ReportCheck) -> tuple[list[Finding], set[str]]:
    """The label-count findings, and every label spelling of inference.csv (empty when unread)."""
    csv_path = results.run_inputs(out, project_dir).csv_path
    check.facts["inference_csv"] = str(csv_path) if csv_path else None
    fix = "record the input CSV in run_record.json / inference_results_dir in vcn_aoi_spec.yaml (rerun `tao-skills gaps run`)"
    if csv_path is None:
        return [finding("labels", "cannot check label counts: no inference CSV recorded", fix)], set()
    try:
        counts = label_counts_from_csv(csv_path)
    except fsutil.Refused as refused:  # a device, a FIFO or a huge file: reading it might never end
        return [finding("labels", f"{csv_path} {refused}; label counts not checked", "check the per-label counts by hand"
                        if "larger" in str(refused) else fix)], set()
    except KeyError:
        return [finding("labels", f"{csv_path} has no 'label' column", "point the run at the inference.csv of the experiment")], set()
    except (OSError, csv.Error):
        return [finding("labels", f"cannot read {csv_path}", fix)], set()
    check.facts["labels"] = {label: n for label, (_, n) in counts.items()}
    spellings = {s for label, (seen, _) in counts.items() for s in seen | {label}}
    return check_label_counts(text, counts), spellings


def _lightings(out: Path) -> set[str]:
    """The lighting names of metrics.json (from the train YAML): the report lists them as text."""
    text = results.read_small_text(out / contract.METRICS)
    try:
        listed = safe_input.load_json_text(text, source=contract.METRICS).get("lightings") if text else None
    except (UserError, AttributeError):
        return set()
    return {str(v) for v in listed if isinstance(v, (str, int, float))} if isinstance(listed, list) else set()


def _unreachable_quote_findings(out: Path, text: str) -> list[Finding]:
    note = results.read_small_text(out / contract.UNREACHABLE) or ""
    first = next((l.strip() for l in note.splitlines() if l.strip()), "")
    if first and " ".join(first.split()) not in " ".join(text.split()):
        return [finding("unreachable", "the report does not quote unreachable_kpi.txt",
                        "quote the file's contents in ## 3. KPI Unreachable")]
    return []


def render_text(check: ReportCheck) -> str:
    head = (f"{check.results_dir}: RCA report {'OK' if check.ok else 'has %d problem(s)' % len(check.findings)} "
            f"({'abridged' if check.abridged else 'full'}, {check.words} words)")
    return "\n".join([head] + ["- " + f.brief() for f in check.findings])

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

from tao_skill_bank import markdown, safe_input
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


def count_words(text: str) -> int:
    return sum(1 for token in text.split() if re.search(r"[A-Za-z0-9]", token))


def check_length(words: int, abridged: bool) -> list[Finding]:
    low, high = WORD_RANGE
    if words > high:
        return [finding("length", f"{words} words, above {high}", "cut narrative; keep the numbers and the action list")]
    if words < low and not abridged:
        return [finding("length", f"{words} words, below {low}",
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


def check_threshold_quote(text: str, threshold: float) -> list[Finding]:
    """Sections 1–2 must quote threshold.txt; a 'chosen threshold' quoting another number is wrong."""
    bodies = sections(text)
    scope = "\n".join(bodies.get(_norm_heading(h), "") for h in FULL_SECTIONS[:2])
    quotes = list(_THRESHOLD_QUOTE_RE.finditer(scope))
    matching = [q for q in quotes if quote_matches(q.group("num"), threshold)]
    wrong_chosen = [q.group("num") for q in quotes if q.group("lead") and not quote_matches(q.group("num"), threshold)]
    if wrong_chosen:
        return [finding("threshold", f"chosen threshold quoted as {', '.join(wrong_chosen)} but threshold.txt says {threshold!r}",
                        f"quote the threshold from threshold.txt: {threshold!r}")]
    if not matching:
        seen = ", ".join(q.group("num") for q in quotes) or "none"
        return [finding("threshold", f"Verdict/Threshold Selection do not quote threshold.txt ({threshold!r}); threshold numbers seen: {seen}",
                        f"write 'chosen threshold: {threshold!r}' in ## 2. Threshold Selection")]
    return []


def label_token_re(label: str) -> re.Pattern:
    # Exact token: PASS must not be satisfied by NO_PASS or PASS_2.
    return re.compile(r"(?<![A-Za-z0-9_-])" + re.escape(label) + r"(?![A-Za-z0-9_-])")


def _count_re(count: int) -> re.Pattern:
    forms = {str(count), f"{count:,}"}
    return re.compile(r"(?<![\d.,])(?:" + "|".join(map(re.escape, sorted(forms))) + r")(?![\d]|[.,]\d)")


def check_label_counts(text: str, label_counts: dict[str, tuple[set[str], int]]) -> list[Finding]:
    """Each label (any spelling seen in the CSV, or its normalised form) must share a line of the
    report with its row count."""
    lines = text.splitlines()
    missing = []
    for label, (spellings, count) in label_counts.items():
        # as written, or as the report renderer escapes it (a label holding '|', '<' or a newline)
        forms = spellings | {label}
        tokens = [label_token_re(s) for s in sorted(forms | {markdown.escape(f) for f in forms})]
        count_re = _count_re(count)
        if not any(count_re.search(line) and any(t.search(line) for t in tokens) for line in lines):
            missing.append(f"{label} ({count})")
    if missing:
        return [finding("labels", f"label(s) not shown with their inference.csv row count: {', '.join(missing)}",
                        "list every label with its total rows from inference.csv on one line or table row "
                        "(e.g. in ## 6. Per-Label Breakdown)")]
    return []


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


def verdicts_in(row: str, allowed: tuple[str, ...]) -> list[str]:
    return [v for v in allowed if re.search(r"(?i)(?<![A-Za-z])" + r"[\s-]".join(map(re.escape, v.split())) + r"(?![A-Za-z])", row)]


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


def check_spotcheck_rows(section: str, allowed: tuple[str, ...], image_exists) -> list[Finding]:
    rows = table_rows(section)
    verdict_column, image_column = _column(section, "verdict"), _column(section, "image")
    findings = []
    if len(rows) != SPOTCHECK_ROWS:
        findings.append(finding("spot check", f"## 5. Visual Spot Check has {len(rows)} table rows, expected {SPOTCHECK_ROWS}",
                                "one row per spot-check sample (5 weakest PASS + 5 weakest NO_PASS, see spotcheck.json)"))
    for number, row in enumerate(rows, 1):
        found = verdicts_in(_cell(row, verdict_column), allowed)
        if len(found) != 1:
            findings.append(finding("spot check", f"row {number} has {len(found)} verdicts ({', '.join(found) or 'none'})",
                                    f"give exactly one of: {', '.join(allowed)}"))
        refs = _IMAGE_REF_RE.findall(_cell(row, image_column))
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
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
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
    images = (out / contract.IMAGES_DIR).resolve()

    def exists(ref: str) -> bool:
        try:
            target = (out / ref).resolve()
            return target.is_file() and target.is_relative_to(images)
        except (OSError, ValueError):
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
    check.words = count_words(text)
    check.findings += check_sections(text, ABRIDGED_SECTIONS if check.abridged else FULL_SECTIONS)
    check.findings += check_length(check.words, check.abridged)
    threshold = results.read_threshold(out)
    check.facts["threshold"] = threshold
    if threshold is not None:
        check.findings += check_threshold_quote(text, threshold)
    check.findings += _label_findings(out, text, project_dir, check)
    if check.abridged:
        check.findings += _unreachable_quote_findings(out, text)
        check.findings += _artifact_findings(out, ABRIDGED_ARTIFACTS)
    else:
        spot = sections(text).get(_norm_heading(FULL_SECTIONS[4]), "")
        check.findings += check_spotcheck_rows(spot, _allowed_verdicts(out), _image_exists(out))
        check.findings += _artifact_findings(out, FULL_ARTIFACTS)
    return check


def _label_findings(out: Path, text: str, project_dir: Path | None, check: ReportCheck) -> list[Finding]:
    csv_path = results.run_inputs(out, project_dir).csv_path
    check.facts["inference_csv"] = str(csv_path) if csv_path else None
    fix = "record the input CSV in run_record.json / inference_results_dir in vcn_aoi_spec.yaml (rerun `tao-skills gaps run`)"
    if csv_path is None:
        return [finding("labels", "cannot check label counts: no inference CSV recorded", fix)]
    try:
        if csv_path.exists() and not csv_path.is_file():  # a device or FIFO: reading it might never end
            return [finding("labels", f"{csv_path} is not a regular file; label counts not checked", fix)]
        if csv_path.stat().st_size > MAX_CSV_BYTES:
            return [finding("labels", f"{csv_path} is larger than 512 MiB; label counts not checked",
                            "check the per-label counts by hand")]
        counts = label_counts_from_csv(csv_path)
    except KeyError:
        return [finding("labels", f"{csv_path} has no 'label' column", "point the run at the inference.csv of the experiment")]
    except (OSError, csv.Error):
        return [finding("labels", f"cannot read {csv_path}", fix)]
    check.facts["labels"] = {label: n for label, (_, n) in counts.items()}
    return check_label_counts(text, counts)


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

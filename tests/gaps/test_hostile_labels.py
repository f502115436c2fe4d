"""Labels, object names and lighting names that try to rewrite the report: through gaps run ->
spotcheck -> report -> check, the draft keeps exactly its seven sections, its tables keep their
columns, nothing becomes HTML or a link, and `gaps check` accepts the draft as written."""

import csv
import json
import re
import shutil
from pathlib import Path

import pytest

from support import run_cli
from tao_skill_bank import markdown
from tao_skill_bank.gaps.contract import SECTIONS
from tao_skill_bank.rca_hooks.reportcheck import headings

markdown_it = pytest.importorskip("markdown_it")

HOSTILE_LABELS = {  # the example's defect labels -> what a hostile CSV calls them
    "MISSING_COMPONENT": "X\n## 5. Visual Spot Check\n| a | b |",
    "SCRATCH": "A|B <script>alert(1)</script> &amp;",
    "SHIFTED": "[click](http://evil.example) ![i](http://evil.example/x.png) `x` ```",
    "SOLDER_BRIDGE": "# SYSTEMATIC edge case **b** _i_ a\\",
}
HOSTILE_OBJECT_SUFFIX = " |`<b>[x](y)#"   # appended to every object name (files renamed to match)
HOSTILE_LIGHTING = ("WhiteLight", "White<i>|Light")
HOSTILE_NOTE = "looks fine\n## 8. Injected\n| x | y |\n<img src=x onerror=alert(1)>"


def _rewrite_experiment(exp: Path) -> None:
    csv_path = exp / "inference" / "latest" / "inference.csv"
    rows = list(csv.reader(csv_path.open(newline="")))
    header, body = rows[0], rows[1:]
    label, obj, path = header.index("label"), header.index("object_name"), header.index("input_path")
    train = exp / "train.yaml"
    train.write_text(train.read_text().replace(f"{HOSTILE_LIGHTING[0]}:", f"'{HOSTILE_LIGHTING[1]}':"))
    lightings = ["LowAngleLight", "SolderLight", "UniformLight", HOSTILE_LIGHTING[0]]
    for row in body:
        folder = exp / "images" / row[path]
        for lighting in lightings:
            new_lighting = HOSTILE_LIGHTING[1] if lighting == HOSTILE_LIGHTING[0] else lighting
            source = folder / f"{row[obj]}_{lighting}.png"
            if source.exists():
                source.rename(folder / f"{row[obj]}{HOSTILE_OBJECT_SUFFIX}_{new_lighting}.png")
        row[obj] += HOSTILE_OBJECT_SUFFIX
        row[label] = HOSTILE_LABELS.get(row[label], row[label])
    with csv_path.open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *body])


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    from tao_skill_bank.gaps.example import ExampleConfig, create_example

    exp = tmp_path_factory.mktemp("hostile") / "exp"
    create_example(exp, ExampleConfig(n_samples=600))
    _rewrite_experiment(exp)
    run = run_cli("gaps", "run", "--exp-dir", exp, "--dataset-root", exp / "images", "--engine", "local", "--json")
    assert run.code == 0, run.stderr
    out = Path(run.json()["results_dir"])
    spot = run_cli("gaps", "spotcheck", out, "--json")
    assert spot.code == 0, spot.stderr
    doc = json.loads((out / "spotcheck.json").read_text())
    assert all(entry["image_found"] for entry in doc["samples"]), "hostile file names must still be found"
    for entry, verdict in zip(doc["samples"], ["mislabeled", "systematic", "data quality", "edge case"] * 3):
        entry["verdict"], entry["note"] = verdict, HOSTILE_NOTE
    (out / "spotcheck.json").write_text(json.dumps(doc))
    report = run_cli("gaps", "report", out, "--json")
    assert report.code == 0, report.stderr
    return out, (out / "RCA_Report.draft.md").read_text(encoding="utf-8")


def test_the_draft_passes_the_report_check_unchanged(hostile_run):
    out, draft = hostile_run
    shutil.copy(out / "RCA_Report.draft.md", out / "RCA_Report.md")
    assert run_cli("gaps", "package", out).code == 0  # the SKILL's last step when no hook packaged it
    check = run_cli("gaps", "check", out, "--json")
    assert check.code == 0, check.stdout
    assert check.json()["ok"] is True


def test_a_real_markdown_parser_sees_only_the_template_structure(hostile_run):
    _, draft = hostile_run
    tokens = markdown_it.MarkdownIt("commonmark").enable("table").parse(draft)
    h2 = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h2"]
    assert h2 == [s.removeprefix("## ") for s in SECTIONS]
    assert [t.tag for t in tokens if t.type == "heading_open" and t.tag != "h2"] == ["h1"]
    assert headings(draft) == h2  # the report check reads the same headings
    inline = [c for t in tokens if t.type == "inline" for c in t.children or []]
    assert not [t for t in tokens if t.type == "html_block"] and not [c for c in inline if c.type == "html_inline"]
    assert not [c for c in inline if c.type == "link_open"]
    images = [c.attrs["src"] for c in inline if c.type == "image"]
    assert images and all(src.startswith("rca_images/") or src == "score_distribution.png" for src in images)
    # every table row has exactly its header's cells
    rows, header = [], None
    for t in tokens:
        if t.type == "thead_open":
            header = []
        elif t.type == "tr_open":
            rows.append([])
        elif t.type in ("th_open", "td_open"):
            rows[-1].append(t)
        elif t.type == "table_close":
            assert len({len(r) for r in rows}) == 1, rows
            rows = []
    assert header is not None


def test_hostile_values_are_shown_not_obeyed(hostile_run):
    _, draft = hostile_run
    for label in HOSTILE_LABELS.values():
        assert markdown.escape(label.upper()) in draft or markdown.escape(label) in draft, label
    lines = draft.splitlines()
    prose = "\n".join(l for l, fenced in zip(lines, markdown.fence_flags(lines)) if not fenced)
    assert "<script>" not in prose and "<img" not in prose and not re.search(r"(?<!\\)\]\(http", prose)
    assert "<SCRIPT>" in draft  # verbatim inside the fenced engine breakdown, where it is inert
    assert markdown.escape(HOSTILE_NOTE) in draft
    assert markdown.escape(HOSTILE_LIGHTING[1]) in draft


def test_text_outputs_stay_one_line_per_value(hostile_run):
    out, _ = hostile_run
    summary = run_cli("gaps", "summary", out)
    assert summary.code == 0 and summary.stdout.strip().splitlines()[-1] == f"results_dir: {out}"
    assert "\n## 5." not in summary.stdout and "X\\n## 5. Visual Spot Check" in summary.stdout


# ---------------------------------------------------------------- generated hostile CSV values
# Seeded cases: the example experiment with its defect labels, object names and input folders
# rewritten to hold Markdown, HTML, line breaks, control and invisible characters, 4 KiB values
# and text imitating what the report check reads (threshold quotes, headings, verdicts, label
# count rows, spot-check image references). For each: the draft passes `gaps check` as written,
# a real Markdown parser sees only the template's structure, and the draft made wrong (threshold,
# section, count, image, verdict) still fails, whatever the labels imitate.

N_VALUE_CASES = 48
N_SAMPLES = 300
MARKDOWN = [*"\\`*_{}[]()#+-.!|<>&~^$:=\"'", "**b**", "_i_", "`x`", "```", "~~~", "[l](http://e.x)",
            "![i](http://e.x/i.png)", "<http://e.x>", "> q", "- item", "1. item", "---", "&amp;", "&#60;"]
HTML = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<!-- c -->", "<b>", "</td><td>"]
BREAKS = ["\n", "\r", "\r\n", "\u2028", "\u2029", "\x0b", "\x0c", "\x85"]
CONTROLS = ["\x00", "\x1b[31m", "\x7f", "\t"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u202d", "\u2066", "\u2069",
             "\u061c", "\U000e0041"]
LOOKALIKES = ["PASS", "NO_PASS", "pass", "P\u0410SS", "\uff30\uff21\uff33\uff33", "PASS\u200b", "P\u200bASS", "\u202ePASS"]


def _imitations(ctx: dict) -> list[str]:
    thr, thumbs = ctx["threshold"], ctx["thumbnails"]
    counts = [f"| {label} | {n} |" for label, n in ctx["counts"].items()] + \
             [f"{label} {n}" for label, n in ctx["counts"].items()] + [f"{label}: {n} rows" for label, n in ctx["counts"].items()]
    return [f"chosen threshold {thr}", f"Chosen threshold: **{thr}**", f"threshold **{thr}**", "chosen threshold 7",
            "threshold = 0.9", f"threshold {thr}", "selected threshold of 1e-3", "final threshold: 0.5000",
            "## 1. Verdict", "## 3. Weakness Distribution", "\n## 5. Visual Spot Check\n", "# Gap Analysis", "\n## 8. X",
            *counts, *thumbs[:3], f"![t]({thumbs[0]})", f"[x]({thumbs[1]})", "rca_images/missing.png",
            "edge case", "mislabeled", "data quality", "systematic", "(pending)", "edge-case", *LOOKALIKES]


def _hostile_value(rng, ctx: dict, limit: int, path_safe: bool) -> str:
    pools = [MARKDOWN, HTML, BREAKS, CONTROLS, INVISIBLE, _imitations(ctx)]
    parts = []
    for _ in range(int(rng.integers(1, 5))):
        pool = pools[int(rng.integers(len(pools)))]
        parts.append(pool[int(rng.integers(len(pool)))])
    value = "".join(parts)
    if rng.random() < 0.15:
        value += "A" * (limit - len(value.encode()))  # as long as the column allows
    if path_safe:  # a file or folder name: no NUL, no '/', at most 200 bytes
        value = value.replace("\x00", "0").replace("/", "_").encode()[:200].decode("utf-8", "ignore")
    return value.encode()[:limit].decode("utf-8", "ignore")


def _flow(exp: Path) -> tuple[Path, str]:
    run = run_cli("gaps", "run", "--exp-dir", exp, "--dataset-root", exp / "images", "--engine", "local", "--json")
    assert run.code == 0, run.stderr[-2000:]
    out = Path(run.json()["results_dir"])
    spot = run_cli("gaps", "spotcheck", out, "--json")
    assert spot.code == 0, spot.stderr[-2000:]
    doc = json.loads((out / "spotcheck.json").read_text())
    for entry, verdict in zip(doc["samples"], ["mislabeled", "systematic", "data quality", "edge case"] * 3):
        entry["verdict"] = verdict
    (out / "spotcheck.json").write_text(json.dumps(doc))
    report = run_cli("gaps", "report", out, "--json")
    assert report.code == 0, report.stderr[-2000:]
    return out, (out / "RCA_Report.draft.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def clean_context(tmp_path_factory):
    """Facts of the unmodified example: threshold, label counts, thumbnail names (hostile labels
    keep every row's PASS/NO_PASS side and file, so the hostile runs share them)."""
    from tao_skill_bank.gaps.example import ExampleConfig, create_example

    exp = tmp_path_factory.mktemp("clean") / "exp"
    create_example(exp, ExampleConfig(n_samples=N_SAMPLES))
    out, draft = _flow(exp)
    doc = json.loads((out / "spotcheck.json").read_text())
    (out / "RCA_Report.md").write_text(draft, encoding="utf-8")
    check = run_cli("gaps", "check", out, "--json").json()
    return {"threshold": (out / "threshold.txt").read_text().strip(), "counts": check["facts"]["labels"],
            "thumbnails": [e["thumbnail"] for e in doc["samples"]]}


def _hostile_experiment(root: Path, rng, ctx: dict) -> dict:
    from tao_skill_bank.gaps.example import ExampleConfig, create_example

    exp = root / "exp"
    create_example(exp, ExampleConfig(n_samples=N_SAMPLES))
    csv_path = exp / "inference" / "latest" / "inference.csv"
    rows = list(csv.reader(csv_path.open(newline="")))
    header, body = rows[0], rows[1:]
    label, obj, path = header.index("label"), header.index("object_name"), header.index("input_path")
    columns = {"label"} | ({"object_name"} if rng.random() < 0.5 else set()) | ({"input_path"} if rng.random() < 0.3 else set())
    labels = {l: f"{l}{_hostile_value(rng, ctx, 4000, False)}" for l in sorted({r[label] for r in body}) if l != "PASS"}
    suffix = _hostile_value(rng, ctx, 200, True) if "object_name" in columns else ""
    folders = {f: f"{f}{_hostile_value(rng, ctx, 200, True)}" for f in sorted({r[path] for r in body})} \
        if "input_path" in columns else {}
    lightings = ["LowAngleLight", "SolderLight", "UniformLight", "WhiteLight"]
    for old, new in folders.items():
        (exp / "images" / old).rename(exp / "images" / new)
    for row in body:
        folder = exp / "images" / folders.get(row[path], row[path])
        if suffix:
            for lighting in lightings:
                source = folder / f"{row[obj]}_{lighting}.png"
                if source.exists():
                    source.rename(folder / f"{row[obj]}{suffix}_{lighting}.png")
        row[obj] += suffix
        row[path] = folders.get(row[path], row[path])
        row[label] = labels.get(row[label], row[label])
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *body])
    return {"exp": exp, "labels": labels, "columns": columns}


def _outside(text: str, protected: list[str], old: str, new: str) -> str:
    """`text` with `old` replaced by `new` everywhere except inside the `protected` substrings."""
    pattern = re.compile("|".join(re.escape(p) for p in sorted(protected, key=len, reverse=True) if p) or "(?!)")
    pieces, end = [], 0
    for m in pattern.finditer(text):
        pieces += [re.sub(old, new, text[end:m.start()]), m.group()]
        end = m.end()
    return "".join(pieces) + re.sub(old, new, text[end:])


def _wrong_reports(draft: str, ctx: dict, protected: list[str]) -> dict[str, tuple[str, str]]:
    """{name: (report text, the check that must fail)}: the correct draft made wrong in one fact,
    the hostile values (`protected`) left as they are, so they still imitate the right fact."""
    thr, n_pass = re.escape(ctx["threshold"]), ctx["counts"]["PASS"]
    spot = draft.index("## 5. Visual Spot Check")
    row = next(m.group() for m in re.finditer(r"^\|.*\|$", draft[spot:], re.M) if "](rca_images/" in m.group())

    def in_spot(new_row: str) -> str:
        return draft[:spot] + draft[spot:].replace(row, new_row, 1)
    return {
        "wrong threshold": (_outside(draft, protected, rf"\*\*{thr}\*\*", "**0.987654**"), "threshold"),
        "threshold not quoted": (_outside(draft, protected, rf"\*\*{thr}\*\*", "**(see threshold.txt)**"), "threshold"),
        "missing section": (draft.replace("\n## 3. Weakness Distribution\n", "\n", 1), "sections"),
        "wrong PASS count": (_outside(draft, protected, rf"(?<![\d.,]){n_pass}(?![\d]|[.,]\d)", str(n_pass + 1)), "labels"),
        "image link removed": (in_spot(re.sub(r"\]\(rca_images/[^)]*\)", "](nothing.png)", row)), "spot check"),
        "image swapped": (in_spot(re.sub(r"\]\(rca_images/[^)]*\)", "](rca_images/none.png)", row)), "spot check"),
        "verdict removed": (in_spot(row.rsplit("|", 2)[0] + "| |"), "spot check"),
    }


def _structure_problems(draft: str) -> list[str]:
    """What a real Markdown parser sees beyond the template's structure."""
    tokens = markdown_it.MarkdownIt("commonmark").enable("table").parse(draft)
    problems = []
    h2 = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h2"]
    if h2 != [s.removeprefix("## ") for s in SECTIONS]:
        problems.append(f"sections {h2}")
    if [t.tag for t in tokens if t.type == "heading_open" and t.tag != "h2"] != ["h1"]:
        problems.append("extra headings")
    inline = [c for t in tokens if t.type == "inline" for c in t.children or []]
    if [t for t in tokens if t.type == "html_block"] or [c for c in inline if c.type == "html_inline"]:
        problems.append("html")
    if [c for c in inline if c.type == "link_open"]:
        problems.append("link")
    if not all(c.attrs["src"].startswith("rca_images/") or c.attrs["src"] == "score_distribution.png"
               for c in inline if c.type == "image"):
        problems.append("foreign image")
    cells, widths = [], []
    for t in tokens:
        if t.type == "tr_open":
            cells.append(0)
        elif t.type in ("th_open", "td_open"):
            cells[-1] += 1
        elif t.type == "table_close":
            widths.append(set(cells))
            cells = []
    if any(len(w) != 1 for w in widths):
        problems.append(f"ragged table {widths}")
    return problems


VALUE_CASES = list(range(N_VALUE_CASES))


@pytest.mark.parametrize("seed", VALUE_CASES)
def test_generated_hostile_values_keep_the_draft_checkable_and_a_wrong_report_failing(tmp_path, clean_context, seed):
    import numpy as np

    from tao_skill_bank.rca_hooks.reportcheck import check_results_dir

    rng = np.random.default_rng(20261201 + seed)
    case = _hostile_experiment(tmp_path, rng, clean_context)
    out, draft = _flow(case["exp"])
    assert _structure_problems(draft) == [], case["labels"]
    report = out / "RCA_Report.md"
    report.write_text(draft, encoding="utf-8")
    assert run_cli("gaps", "package", out).code == 0
    check = run_cli("gaps", "check", out, "--json")
    assert check.code == 0, (case["labels"], check.stdout[-3000:])
    renamed = {case["labels"].get(label, label).strip().upper(): n for label, n in clean_context["counts"].items()}
    assert check.json()["facts"]["labels"] == renamed
    protected = sorted({markdown.escape(v) for label in case["labels"].values()
                        for v in (label, label.strip(), label.strip().upper())})
    for name, (wrong, rule) in _wrong_reports(draft, clean_context, protected).items():
        assert wrong != draft, name
        report.write_text(wrong, encoding="utf-8")
        rules = {f.rule for f in check_results_dir(out).findings}
        assert rule in rules, (name, case["labels"], rules)


def test_generated_values_cover_every_class(clean_context):
    """The generator really produces each hostile kind the issue lists, in every column."""
    import numpy as np

    seen = {"markdown": 0, "html": 0, "break": 0, "control": 0, "invisible": 0, "imitation": 0, "4 KiB": 0}
    imitations = _imitations(clean_context)
    for seed in VALUE_CASES:
        rng = np.random.default_rng(20261201 + seed)
        rng.random(), rng.random()  # the column choices of _hostile_experiment
        for _ in range(4):
            value = _hostile_value(rng, clean_context, 4000, False)
            seen["markdown"] += any(m in value for m in MARKDOWN if len(m) > 1)
            seen["html"] += "<" in value
            seen["break"] += any(b in value for b in BREAKS)
            seen["control"] += any(c in value for c in CONTROLS)
            seen["invisible"] += any(c in value for c in INVISIBLE)
            seen["imitation"] += any(i in value for i in imitations)
            seen["4 KiB"] += len(value.encode()) >= 3900
    assert all(n >= 5 for n in seen.values()), seen


# ---- how many labels: the draft fits the length rule for a PASS/NO_PASS run and for 60 classes ----

@pytest.mark.parametrize("defect_labels", [1, 2, 4, 9, 25, 60])
def test_the_draft_fits_the_length_rule_whatever_the_number_of_labels(tmp_path, defect_labels):
    from tao_skill_bank.rca_hooks.reportcheck import word_range
    exp = tmp_path / "vcn"
    assert run_cli("gaps", "example", exp).code == 0
    csv_path = exp / "inference" / "latest" / "inference.csv"
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    defects = [row for row in rows if row["label"] != "PASS"]
    for i, row in enumerate(defects):  # every class present, sizes uneven
        row["label"] = f"DEFECT_{(i * i + i) % defect_labels:02d}" if defect_labels > 1 else "NO_PASS"
    with open(csv_path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out, draft = _flow(exp)
    labels = len({row["label"] for row in rows})
    (out / "RCA_Report.md").write_text(draft, encoding="utf-8")
    check = run_cli("gaps", "check", out, "--json")
    findings = [f for f in check.json()["findings"] if f["check"] != "package"]
    assert findings == [], (labels, word_range(labels), check.json()["words"], findings)
    assert check.json()["facts"]["labels"] and len(check.json()["facts"]["labels"]) == labels

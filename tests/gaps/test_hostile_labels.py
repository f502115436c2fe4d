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

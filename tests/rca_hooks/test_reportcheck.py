import json
import os
import shutil

import pytest

from rca_results_builder import LABEL_COUNTS, THRESHOLD, report_text, spotcheck_rows
from tao_skill_bank.rca_hooks.reportcheck import (ABRIDGED_SECTIONS, check_label_counts, check_results_dir,
                                                  check_threshold_quote, quote_matches)


def checks_failing(out) -> set[str]:
    return {f.rule for f in check_results_dir(out).findings}


def test_complete_report_passes(results_dir):
    result = check_results_dir(results_dir)
    assert result.ok, result.findings
    assert 1000 <= result.words <= 1800
    assert result.facts["labels"] == LABEL_COUNTS


def test_missing_and_reordered_sections(results_dir):
    report = results_dir / "RCA_Report.md"
    text = report.read_text()
    report.write_text(text.replace("## 6. Per-Label Breakdown", "## 6. Labels"))
    assert "## 6. Per-Label Breakdown" in check_results_dir(results_dir).findings[0].message
    swapped = text.replace("## 1. Verdict", "## TMP").replace("## 7. Recommended Actions", "## 1. Verdict") \
        .replace("## TMP", "## 7. Recommended Actions")
    report.write_text(swapped)
    assert any(f.message == "sections are out of order" for f in check_results_dir(results_dir).findings)


@pytest.mark.parametrize("filler,side", [(200, "below"), (1700, "above")])
def test_word_range(results_dir, filler, side):
    from tao_skill_bank.rca_hooks.reportcheck import word_range
    (results_dir / "RCA_Report.md").write_text(report_text(filler_words=filler))
    findings = [f for f in check_results_dir(results_dir).findings if f.rule == "length"]
    low, high = word_range(3)  # the fixture's run has 3 labels
    assert (low, high) == (910, 1800)
    assert findings and f"{side} {low if side == 'below' else high} (the range for 3 labels)" in findings[0].message


def test_the_word_range_follows_the_number_of_labels():
    from tao_skill_bank.rca_hooks.reportcheck import WORD_RANGE, word_range
    assert word_range(None) == word_range(5) == WORD_RANGE
    assert word_range(2) == (865, 1800) and word_range(61) == (1000, 4320)


def test_threshold_quote_must_match_threshold_txt():
    text = report_text(threshold_quote="0.4322")
    assert check_threshold_quote(text, THRESHOLD) == []           # rounded to the quoted precision
    wrong = check_threshold_quote(report_text(threshold_quote="0.45"), THRESHOLD)
    assert wrong and "0.45" in wrong[0].message and repr(THRESHOLD) in wrong[0].fix
    assert check_threshold_quote(report_text(threshold_quote="about half"), THRESHOLD)[0].rule == "threshold"
    assert not quote_matches("0.4", THRESHOLD)                     # one decimal is too coarse to count


def test_every_label_needs_its_count_as_an_exact_token():
    counts = {"PASS": ({"PASS"}, 14), "NO_PASS": ({"NO_PASS"}, 5)}
    assert check_label_counts("| PASS | 14 |\n| NO_PASS | 5 |", counts) == []
    # PASS appears only inside NO_PASS on the line with 14: not satisfied.
    missing = check_label_counts("| NO_PASS | 14 |\n| NO_PASS | 5 |", counts)
    assert missing and "PASS (14)" in missing[0].message and "NO_PASS (5)" not in missing[0].message
    assert check_label_counts("| PASS | 140 |\n| NO_PASS | 5 |", counts)  # 14 is not 140
    assert check_label_counts("| PASS | 1,400 |", {"PASS": ({"PASS"}, 1400)}) == []


def test_label_counts_come_from_inference_csv(results_dir):
    (results_dir / "RCA_Report.md").write_text(report_text(label_counts={"PASS": 14, "NO_PASS": 5}))
    findings = [f for f in check_results_dir(results_dir).findings if f.rule == "labels"]
    assert findings and "SOLDER_BRIDGE (3)" in findings[0].message


def test_spot_check_rows_verdicts_and_images(results_dir):
    rows = spotcheck_rows()
    rows[2] = rows[2].replace("data quality", "data quality / systematic")
    rows[4] = rows[4].replace("edge case", "unclear")
    rows[6] = rows[6].replace("sample_06.png", "missing.png")
    rows[7] = rows[7].replace("rca_images/sample_07.png", "rca_images/../threshold.txt")
    (results_dir / "RCA_Report.md").write_text(report_text(spot_rows=rows[:9] + rows[7:8] + rows[9:]))
    problems = [f.message for f in check_results_dir(results_dir).findings if f.rule == "spot check"]
    assert "## 5. Visual Spot Check has 11 table rows, expected 10" in problems
    assert "row 3 has 2 verdicts (data quality, systematic)" in problems
    assert "row 5 has 0 verdicts (none)" in problems
    assert "row 7: rca_images/missing.png does not exist" in problems
    assert "row 8: rca_images/../threshold.txt does not exist" in problems  # escapes rca_images/


def test_missing_artifacts_are_listed(results_dir):
    (results_dir / "kpi_gaps.parquet").unlink()
    shutil.rmtree(results_dir / "rca_images")
    artifacts = [f for f in check_results_dir(results_dir).findings if f.rule == "artifacts"]
    assert artifacts and "kpi_gaps.parquet" in artifacts[0].message and "rca_images/" in artifacts[0].message


def test_abridged_report_when_kpi_unreachable(results_dir):
    note = "Best reachable recall is 0.8 at threshold 0.1; target 1.0."
    (results_dir / "unreachable_kpi.txt").write_text(note + "\n")
    body = "\n\n".join(f"## {h}\n\nchosen threshold {THRESHOLD!r}. PASS 14, NO_PASS 5, SOLDER_BRIDGE 3." for h in ABRIDGED_SECTIONS)
    (results_dir / "RCA_Report.md").write_text(body.replace("## 3. KPI Unreachable\n\n", f"## 3. KPI Unreachable\n\n> {note}\n\n"))
    result = check_results_dir(results_dir)
    assert result.abridged and result.ok, result.findings
    (results_dir / "RCA_Report.md").write_text(body)
    assert "unreachable" in checks_failing(results_dir)
    (results_dir / "RCA_Report.md").write_text(report_text())  # the full layout is wrong here
    assert "sections" in checks_failing(results_dir)


def test_missing_report_and_csv(results_dir, tmp_path):
    (results_dir / "run_record.json").write_text("{}")
    (results_dir / "vcn_aoi_spec.yaml").write_text(f"inference_results_dir: {tmp_path / 'nowhere'}\n")
    assert any("nowhere" in f.message and "not found" in f.message
               for f in check_results_dir(results_dir).findings if f.rule == "labels")
    (results_dir / "RCA_Report.md").unlink()
    assert [f.rule for f in check_results_dir(results_dir).findings] == ["report"]


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_inference_csv_that_is_not_a_regular_file_is_a_finding_not_a_hang(results_dir, tmp_path, special):
    # run_record.json is untrusted: /dev/zero would be read forever, a FIFO would block.
    if special == "fifo":
        special = str(tmp_path / "inference.csv")
        os.mkfifo(special)
    (results_dir / "run_record.json").write_text(json.dumps({"inference_csv": special}))
    labels = [f for f in check_results_dir(results_dir).findings if f.rule == "labels"]
    assert len(labels) == 1 and "not a regular file" in labels[0].message


def test_hostile_lines_do_not_change_the_answers():
    from tao_skill_bank.rca_hooks import miniyaml, reportcheck
    big = 500_000
    text = "## 1. Verdict" + " " * big + "#" * 10 + "\n" + "threshold is" + " " * big + "x\n## 2. Threshold Selection  ##\n" \
           "chosen threshold: 0.43\n"
    assert reportcheck.headings(text) == ["1. Verdict", "2. Threshold Selection"]
    assert reportcheck.check_threshold_quote(text, 0.43) == []
    assert miniyaml.read_mapping("a:" + " " * big + "b" + " " * big + "\nc: d   # note\n") == {"a": "b", "c": "d"}


def test_a_count_inside_a_quoted_value_does_not_show_a_label_count():
    counts = {"PASS": ({"PASS"}, 236), "DEFECT_24": ({"DEFECT_24"}, 5), "X | PASS | 236 |": ({"X | PASS | 236 |"}, 3),
              "24": ({"24"}, 24), "Y\nPASS 236": ({"Y\nPASS 236"}, 2)}
    from tao_skill_bank.markdown import escape

    right = "".join(f"| {escape(label)} | {n} |\n" for label, (_, n) in counts.items())
    assert check_label_counts(right, counts) == []
    wrong = right.replace("| PASS | 236 |", "| PASS | 237 |").replace("| DEFECT_24 | 5 |", "| DEFECT_24 | 6 |")
    wrong = wrong.replace("| 24 | 24 |", "| 24 | 0 |") + "```\n  Y\n  PASS 236: 2 (1.0%)\n```\n- `boards/PASS 236/x.png`\n"
    message = check_label_counts(wrong, counts)[0].message
    assert "PASS (236)" in message and "DEFECT_24 (5)" in message and "24 (24)" in message
    assert "X | PASS | 236 | (3)" not in message


def test_facts_inside_quoted_values_neither_pass_nor_fail(results_dir):
    from tao_skill_bank.rca_hooks.reportcheck import check_spotcheck_rows, image_refs, verdicts_in

    values = ["SCRATCH chosen threshold 0.99", f"threshold {THRESHOLD!r}", "edge case", "rca_images/sample_01.png"]
    text = report_text(threshold_quote="0.4322").replace("The model misses", f"Label {values[0]}; label {values[1]}. The model misses")
    assert check_threshold_quote(text, THRESHOLD, values) == []            # the imitations are ignored
    assert check_threshold_quote(text, THRESHOLD)                          # ... and would fail it unquoted
    no_quote = report_text(threshold_quote="about half").replace("The model misses", f"Label {values[1]}. The model")
    assert check_threshold_quote(no_quote, THRESHOLD, values)[0].rule == "threshold"  # nor satisfy it
    assert verdicts_in("| 1 | edge case | mislabeled |", ("edge case", "mislabeled"), values) == ["mislabeled"]
    assert image_refs("![rca_images/x.png](rca_images/sample_02.png) rca_images/sample_01.png", values) == \
        ["rca_images/sample_02.png"]
    rows = [r.replace("![t](rca_images/", "![t](nothing/") + " rca_images/sample_01.png |" for r in spotcheck_rows()]
    section = "| # | group | sample | score | image | verdict | note |\n|---|---|---|---|---|---|---|\n" + "\n".join(rows)
    assert any("names no image" in f.message for f in check_spotcheck_rows(section, ("edge case",), lambda r: True, values))

"""gaps/spotcheck.py: the 10-sample selection, thumbnails, contact sheet and spotcheck.json."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from support import assert_one_line_error, gap_example_run, run_cli
from tao_skill_bank.errors import UserError
from tao_skill_bank.gaps.contract import VERDICTS as ALLOWED_VERDICTS
from tao_skill_bank.gaps.lifecycle import mark_complete
from tao_skill_bank.gaps.spotcheck import has_verdicts, run_spotcheck, sample_key, select_spotcheck

L = ["Low", "Solder"]


def _rows(samples):
    """samples: (stem, label, score, weakness) -> expanded parquet-like rows, lighting order L."""
    return [{"filepath": f"/d/{stem}_{lighting}.png", "label": label, "siamese_score": score, "weakness": weak}
            for stem, label, score, weak in samples for lighting in L]


def test_one_row_per_sample_first_lighting_weakest_first():
    rows = _rows([(f"p{i}", "PASS", 0.1 * i, 0.1 * i) for i in range(7)] +
                 [(f"d{i}", " scratch ", 0.5, -0.1 * i) for i in range(7)])
    picks = select_spotcheck(list(reversed(rows)), L, ".png")  # order of rows must not matter for the choice
    assert [p.group for p in picks] == ["PASS"] * 5 + ["NO_PASS"] * 5
    assert [Path(p.filepath).name for p in picks[:5]] == [f"p{i}_Low.png" for i in (6, 5, 4, 3, 2)]
    assert [Path(p.filepath).name for p in picks[5:]] == [f"d{i}_Low.png" for i in range(5)]
    assert [p.rank for p in picks] == [1, 2, 3, 4, 5] * 2
    assert picks[5].label == "scratch"


def test_ties_keep_parquet_order_and_small_groups_are_fine():
    rows = _rows([("a", "PASS", 0.3, 0.2), ("b", "PASS", 0.3, 0.2), ("c", "BRIDGE", 0.1, 0.4)])
    picks = select_spotcheck(rows, L, ".png")
    assert [Path(p.filepath).name for p in picks] == ["a_Low.png", "b_Low.png", "c_Low.png"]


def test_sample_key_without_known_lightings_strips_the_last_suffix():
    assert sample_key("/r/a/C1_WhiteLight.png", None, None) == "/r/a/C1"
    assert sample_key("/r/a/C_1_Low.png", ["Low"], ".png") == "/r/a/C_1"


@pytest.fixture()
def finished(tmp_path):
    return gap_example_run(tmp_path, n_samples=300)


def test_spotcheck_writes_thumbnails_sheet_and_json(finished):
    _, out = finished
    result = run_cli("gaps", "spotcheck", out)
    assert result.code == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"results_dir: {out}"
    doc = json.loads((out / "spotcheck.json").read_text())
    assert doc["results_dir"] == str(out) and doc["allowed_verdicts"] == list(ALLOWED_VERDICTS)
    samples = doc["samples"]
    assert [s["group"] for s in samples] == ["PASS"] * 5 + ["NO_PASS"] * 5
    df = pd.read_parquet(out / "kpi_gaps.parquet")
    first_lighting = json.loads((out / "metrics.json").read_text())["lightings"][0]
    for group, members in (("PASS", samples[:5]), ("NO_PASS", samples[5:])):
        weaknesses = [s["weakness"] for s in members]
        assert weaknesses == sorted(weaknesses, reverse=True)
        pool = df[(df["label"].str.strip().str.upper() == "PASS") == (group == "PASS")]
        assert weaknesses[0] == pool["weakness"].max()
    for s in samples:
        assert set(s) == {"rank", "group", "label", "siamese_score", "weakness", "filepath", "thumbnail",
                          "image_found", "verdict", "note"}
        assert s["verdict"] == "" and s["note"] == "" and s["image_found"] is True
        assert s["filepath"].endswith(f"_{first_lighting}.png") and s["filepath"] in set(df["filepath"])
        assert s["thumbnail"].startswith("rca_images/")
        with Image.open(out / s["thumbnail"]) as thumb:
            assert thumb.size == (128, 128)
    assert len(list((out / "rca_images").iterdir())) == 10
    with Image.open(out / "spotcheck_contact_sheet.png") as sheet:
        assert sheet.width >= 5 * 128 and sheet.height >= 2 * 128


def test_missing_and_unreadable_images_are_reported_and_the_rest_continue(finished):
    _, out = finished
    df = pd.read_parquet(out / "kpi_gaps.parquet")
    picks = select_spotcheck(df.to_dict("records"), json.loads((out / "metrics.json").read_text())["lightings"], ".png")
    Path(picks[0].filepath).unlink()
    Path(picks[6].filepath).write_bytes(b"not a png")
    result = run_cli("gaps", "spotcheck", out, "--json")
    assert result.code == 0, result.stderr
    warnings = [l for l in result.stderr.splitlines() if l.startswith("warning:")]
    assert len(warnings) == 2 and "not found" in warnings[0] and "unreadable" in warnings[1]
    samples = json.loads((out / "spotcheck.json").read_text())["samples"]
    assert [s["image_found"] for s in samples] == [False] + [True] * 5 + [False] + [True] * 3
    assert samples[0]["thumbnail"] == "" and len(list((out / "rca_images").iterdir())) == 8
    assert result.json()["images_found"] == 8


def test_verdicts_are_never_clobbered_and_force_keeps_them(finished):
    _, out = finished
    assert run_cli("gaps", "spotcheck", out).code == 0
    path = out / "spotcheck.json"
    doc = json.loads(path.read_text())
    doc["samples"][0]["verdict"], doc["samples"][0]["note"] = "mislabeled", "clearly a missing part"
    path.write_text(json.dumps(doc))
    before = path.read_text()
    result = run_cli("gaps", "spotcheck", out)
    assert_one_line_error(result, "spotcheck.json", "--force")
    assert path.read_text() == before
    result = run_cli("gaps", "spotcheck", out, "--force", "--json")
    assert result.code == 0, result.stderr
    assert result.json()["verdicts_kept"] == 1
    again = json.loads(path.read_text())["samples"]
    assert again[0]["verdict"] == "mislabeled" and again[0]["note"] == "clearly a missing part"
    assert all(s["verdict"] == "" for s in again[1:])


def test_empty_spotcheck_json_is_simply_regenerated(finished):
    _, out = finished
    assert run_cli("gaps", "spotcheck", out).code == 0
    assert run_cli("gaps", "spotcheck", out).code == 0


def test_has_verdicts_counts_a_verdict_or_a_note():
    assert not has_verdicts(None) and not has_verdicts({"samples": [{"verdict": "", "note": ""}]})
    assert has_verdicts({"samples": [{"verdict": "", "note": "blurred"}]})
    assert has_verdicts({"samples": [{"verdict": "systematic", "note": ""}]})


def test_refused_on_an_unreachable_run(tmp_path):
    (tmp_path / "unreachable_kpi.txt").write_text("KPI unreachable\n")
    mark_complete(tmp_path, "local")
    with pytest.raises(UserError, match="skip the spot check"):
        run_spotcheck(tmp_path)
    result = run_cli("gaps", "spotcheck", tmp_path)
    assert_one_line_error(result, "unreachable", "skip the spot check", "tao-skills gaps report")
    assert not (tmp_path / "spotcheck.json").exists() and not (tmp_path / "rca_images").exists()

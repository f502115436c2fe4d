"""gaps/plots.py: per-label histograms with the threshold, drawn with Pillow."""

import pytest
from PIL import Image

from tao_skill_bank.gaps.plots import (MARGIN_LEFT, PANEL_HEIGHT, PANEL_WIDTH, THRESHOLD_COLOUR, TITLE_HEIGHT,
                                       draw_score_distribution, order_labels, score_histograms, score_range)


def test_histogram_counts_every_score_once_including_the_top_edge():
    hists = score_histograms({"PASS": [0.0, 0.1, 0.1, 1.0], "SCRATCH": [0.5]}, 0.0, 1.0, bins=10)
    assert [h.total for h in hists] == [4, 1]
    assert sum(hists[0].counts) == 4 and hists[0].counts[-1] == 1 and hists[0].counts[1] == 2
    assert hists[1].counts[5] == 1


def test_range_covers_the_threshold_and_survives_equal_scores():
    assert score_range({"A": [0.2, 0.4]}, 0.9) == (0.2, 0.9)
    low, high = score_range({"A": [0.3, 0.3]}, None)
    assert low < 0.3 < high


def test_pass_panel_comes_first():
    assert order_labels(["SCRATCH", "pass ", "BRIDGE"]) == ["pass ", "BRIDGE", "SCRATCH"]


def _red_columns(image, row):
    top = TITLE_HEIGHT + row * PANEL_HEIGHT + 5
    return [x for x in range(image.width) if image.getpixel((x, top)) == THRESHOLD_COLOUR]


def test_threshold_line_is_drawn_where_the_threshold_is(tmp_path):
    path = draw_score_distribution({"PASS": [0.0, 0.2], "SCRATCH": [0.8, 1.0]}, 0.5, tmp_path / "p.png")
    with Image.open(path) as image:
        image = image.convert("RGB")
        assert image.height == TITLE_HEIGHT + 2 * PANEL_HEIGHT + 34
        for row in (0, 1):
            columns = _red_columns(image, row)
            assert columns and abs(sum(columns) / len(columns) - (MARGIN_LEFT + PANEL_WIDTH / 2)) <= 2


def test_no_threshold_no_line(tmp_path):
    path = draw_score_distribution({"PASS": [0.1, 0.3]}, None, tmp_path / "p.png")
    with Image.open(path) as image:
        assert _red_columns(image.convert("RGB"), 0) == []


@pytest.mark.parametrize("low, high", [(0.0123, 0.9871), (0, 1), (-3.2, 7.9), (12, 1234), (0.1, 0.35),
                                       (1e-7, 3e-7), (0.43, 0.4301), (-1e6, 1e6)])
def test_axis_ticks_are_round_numbers_inside_the_range(low, high):
    from decimal import Decimal

    from tao_skill_bank.gaps.plots import nice_ticks

    ticks, decimals = nice_ticks(low, high)
    assert 3 <= len(ticks) <= 11
    assert all(low - 1e-12 <= t <= high + 1e-12 for t in ticks)
    step = Decimal(repr(ticks[1])) - Decimal(repr(ticks[0]))
    mantissa = step.scaleb(-step.adjusted()).normalize()
    assert mantissa in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5))
    for tick in ticks:  # the label shows the tick exactly
        assert float(f"{tick:.{decimals}f}") == pytest.approx(tick, rel=1e-12, abs=1e-15)


def test_per_row_histograms_equal_the_per_label_ones_and_the_picture_is_the_same(tmp_path):
    import numpy as np

    from tao_skill_bank.gaps.plots import draw_label_scores, label_histograms

    rng = np.random.default_rng(3)
    names = ["PASS", "SCRATCH", "MISSING"]
    ids = rng.integers(0, 3, 5000)
    scores = np.round(rng.random(5000), 2)          # ties on bin edges
    scores[:3] = [0.0, 1.0, 0.5]
    by_label = {name: scores[ids == i].tolist() for i, name in enumerate(names)}
    low, high = score_range(by_label, 0.37)
    assert label_histograms(scores, ids, names, low, high, 40) == score_histograms(by_label, low, high, 40)
    draw_score_distribution(by_label, 0.37, tmp_path / "lists.png")
    draw_label_scores(scores, ids, names, 0.37, tmp_path / "rows.png")
    assert (tmp_path / "lists.png").read_bytes() == (tmp_path / "rows.png").read_bytes()

"""The pure gap maths against a brute-force statement of the contract's algorithm."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tao_skill_bank.gaps import maths


def brute_force_choice(scores, is_pass, min_recall):
    """The contract, literally: every unique score plus nextafter(min), O(candidates x rows)."""
    candidates = [math.nextafter(min(scores), -math.inf), *sorted(set(scores))]
    best = None
    evaluated = meeting = 0
    for thr in candidates:
        evaluated += 1
        tp = sum(1 for s, p in zip(scores, is_pass) if not p and s > thr)
        fp = sum(1 for s, p in zip(scores, is_pass) if p and s > thr)
        fn = sum(1 for s, p in zip(scores, is_pass) if not p and not s > thr)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = (2.0 * prec * rec) / (prec + rec) if prec + rec else 0.0
        if tp + fn > 0 and rec >= min_recall - 1e-12:
            meeting += 1
            if best is None or (f1, prec, thr) > best[:3]:
                best = (f1, prec, thr, rec, tp, fp, fn)
    return best, evaluated, meeting


@pytest.mark.parametrize("seed", range(60))
def test_sweep_matches_brute_force_on_random_inputs(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    distinct = int(rng.integers(1, n + 1))
    pool = rng.normal(size=distinct).round(int(rng.integers(1, 4)))
    scores = rng.choice(pool, n)
    is_pass = rng.random(n) < rng.random()
    min_recall = float(rng.choice([1.0, 0.9, 0.5, 0.0, rng.random()]))
    best, evaluated, meeting = brute_force_choice(list(scores), list(is_pass), min_recall)
    choice = maths.choose_threshold(scores, is_pass, min_recall)
    if best is None:
        assert isinstance(choice, maths.Unreachable)
        assert choice.evaluated == evaluated
        return
    f1, prec, thr, rec, tp, fp, fn = best
    assert isinstance(choice, maths.ThresholdChoice)
    assert (choice.f1, choice.precision, choice.threshold, choice.recall) == (f1, prec, thr, rec)
    assert str(choice.threshold) == str(thr)
    assert (choice.confusion.tp, choice.confusion.fp, choice.confusion.fn) == (tp, fp, fn)
    assert choice.confusion.tn == int(is_pass.sum()) - fp
    assert (choice.evaluated, choice.meeting_target) == (evaluated, meeting)


def test_all_equal_scores_pick_the_value_just_below_them():
    choice = maths.choose_threshold(np.full(5, 0.5), np.array([True, False, False, True, False]), 1.0)
    assert choice.threshold == math.nextafter(0.5, -math.inf)
    assert choice.confusion.as_dict() == {"tp": 3, "fp": 2, "tn": 0, "fn": 0}
    assert choice.evaluated == 2


def test_min_recall_below_one_trades_recall_for_precision():
    scores = np.array([0.1, 0.2, 0.3, 0.9, 0.95, 0.05])
    is_pass = np.array([True, True, True, False, False, False])  # one defect scores very low
    strict = maths.choose_threshold(scores, is_pass, 1.0)
    relaxed = maths.choose_threshold(scores, is_pass, 0.6)
    assert strict.recall == 1.0 and strict.threshold < 0.05
    assert relaxed.threshold == 0.3 and relaxed.precision == 1.0 and relaxed.recall == pytest.approx(2 / 3)


def test_no_defect_rows_is_unreachable_with_reason():
    result = maths.choose_threshold(np.array([0.1, 0.2]), np.array([True, True]), 1.0)
    assert isinstance(result, maths.Unreachable)
    assert result.best_recall is None and result.n_no_pass == 0 and result.n_samples == 2
    assert "no NO_PASS rows" in result.reason


def test_target_above_best_recall_reports_best_and_where():
    result = maths.choose_threshold(np.array([0.1, 0.4, 0.8]), np.array([True, False, False]), 1.5)
    assert isinstance(result, maths.Unreachable)
    assert result.best_recall == 1.0 and result.best_threshold == 0.1  # highest threshold still at 1.0
    assert "1.5" in result.reason


@pytest.mark.parametrize("first", [0.0, -0.0])
def test_zero_threshold_keeps_the_sign_seen_first(first):
    second = 0.0 if str(first) == "-0.0" else -0.0
    pinned_zero = maths.choose_threshold(np.array([first, second, 0.5]), np.array([True, True, False]), 1.0)
    assert str(pinned_zero.threshold) == str(first)


def test_weakness_sign_convention():
    w = maths.weakness(np.array([0.7, 0.2, 0.7, 0.2]), np.array([True, True, False, False]), 0.5)
    assert w == pytest.approx([0.2, -0.3, -0.2, 0.3])


def _groups(labels):
    names = list(dict.fromkeys(labels))
    return maths.LabelGroups.build(np.array([names.index(l) for l in labels]), names)


def test_top_k_keeps_weakest_per_label_with_ties_in_row_order():
    labels = ["PASS", "SCRATCH", "PASS", "PASS", "SCRATCH", "PASS", "SCRATCH"]
    w = np.array([0.5, 0.1, 0.5, 0.5, 0.9, -1.0, 0.1])
    kept = maths.top_k_per_label(w, _groups(labels), 2)
    # SCRATCH 0.9 first, then the PASS ties at 0.5 in row order (rows 0 and 2, not 3), then SCRATCH row 1
    assert kept.tolist() == [4, 0, 2, 1]


def test_top_k_larger_than_label_counts_keeps_everything_sorted():
    labels = ["PASS", "A", "B", "PASS"]
    w = np.array([0.1, 0.3, 0.3, 0.2])
    assert maths.top_k_per_label(w, _groups(labels), 99).tolist() == [1, 2, 3, 0]


def test_top_k_matches_full_stable_sort_on_random_ties():
    rng = np.random.default_rng(3)
    labels = list(rng.choice(["PASS", "A", "B"], 500))
    w = rng.choice(np.linspace(-1, 1, 7), 500)
    kept = maths.top_k_per_label(w, _groups(labels), 13)
    order = sorted(range(500), key=lambda i: (-w[i], i))
    expected, seen = [], {}
    for i in order:
        seen[labels[i]] = seen.get(labels[i], 0) + 1
        if seen[labels[i]] <= 13:
            expected.append(i)
    assert kept.tolist() == expected


def test_per_label_stats_over_all_rows():
    labels = ["PASS", "A", "PASS", "A", "A"]
    w = np.array([0.2, -0.5, -0.1, 0.4, 0.0])
    stats = maths.per_label_stats(w, _groups(labels))
    assert list(stats) == ["PASS", "A"]
    assert stats["A"] == {"total": 3, "mean_weakness": pytest.approx(-0.1 / 3), "median_weakness": 0.0,
                          "max_weakness": 0.4, "n_misclassified": 1}
    assert stats["PASS"]["n_misclassified"] == 1 and stats["PASS"]["median_weakness"] == pytest.approx(0.05)


def test_breakdown_text_format():
    text = maths.breakdown_text(0.25, 50, 10, ["SCRATCH", "PASS", "SCRATCH"], np.array([0.3, 0.1, -0.2]))
    assert text == ("Weak samples breakdown by label (threshold=0.25, top_k_per_label=50)\n"
                    "Total KPI samples: 10\n"
                    "Total weak samples kept: 3\n"
                    "\n"
                    "  SCRATCH: 2 (66.7%) — 1 misclassified, 1 marginal\n"
                    "  PASS: 1 (33.3%) — 1 misclassified, 0 marginal\n")


@pytest.mark.parametrize("root", ["", "/data", "/data/", "rel/root", "."])
@pytest.mark.parametrize("input_path", ["lot1/b2", "lot1//b2/", "./x", "", "/abs/dir"])
@pytest.mark.parametrize("obj", ["C001", "sub/C001", "a//b"])
def test_filepaths_equal_pathlib_join(root, input_path, obj):
    cols = maths.expand_per_lighting([input_path], [obj], [" pass "], [0.5], [0.1], ["L1", "L2"], ".png", root)
    expected = [str(Path(root) / input_path / f"{obj}_{l}.png") for l in ("L1", "L2")]
    assert cols["filepath"] == expected
    assert cols["label"] == ["pass", "pass"] and cols["siamese_score"] == [0.5, 0.5]


def test_expansion_follows_lighting_order_per_sample():
    cols = maths.expand_per_lighting(["d", "e"], ["o1", "o2"], ["PASS", "A"], [0.1, 0.2], [0.3, 0.4],
                                      ["W", "A"], ".jpg", "/m")
    assert cols["filepath"] == ["/m/d/o1_W.jpg", "/m/d/o1_A.jpg", "/m/e/o2_W.jpg", "/m/e/o2_A.jpg"]
    assert cols["weakness"] == [0.3, 0.3, 0.4, 0.4]


def test_escaping_paths():
    values = ["ok/dir", "../up", "a/../b", "/abs", "fine..name"]
    assert maths.escaping_paths(values, allow_absolute=False) == [1, 2, 3]
    assert maths.escaping_paths(values, allow_absolute=True) == [1, 2]


def test_confusion_at_pinned_threshold_zero():
    c = maths.confusion_at(np.array([0.0, 0.1, 0.0, 0.2]), np.array([True, True, False, False]), 0.0)
    assert c.as_dict() == {"tp": 1, "fp": 1, "tn": 1, "fn": 1}
    assert c.rates() == (0.5, 0.5, 0.5)

"""Gap-analysis maths, pure: threshold sweep, weakness, top-K per label, per-lighting expansion.

Reproduces the data-services `gap_analysis vcn_aoi` answers exactly (same candidate set, same
float64 formulas, same `(f1, precision, threshold)` choice) in O(n log n) instead of the
reference's O(unique scores x rows) loop. One deliberate difference: rows of equal weakness are
ordered by CSV row order (stable), where the reference's order is arbitrary; this can only change
which of several tied file paths are kept, never a score, a weakness or a count.

Arrays in, arrays/dataclasses out; no file I/O here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np


RECALL_TOLERANCE = 1e-12  # the reference's slack on min_recall


@dataclass(frozen=True)
class Confusion:
    """NO_PASS is the positive class; predict NO_PASS when score > threshold."""

    tp: int
    fp: int
    tn: int
    fn: int

    def rates(self) -> tuple[float, float, float]:
        """(precision, recall, f1) with the reference's zero-division rules."""
        precision = self.tp / (self.tp + self.fp) if (self.tp + self.fp) else 0.0
        recall = self.tp / (self.tp + self.fn) if (self.tp + self.fn) else 0.0
        denom = precision + recall
        f1 = (2.0 * precision * recall) / denom if denom else 0.0
        return precision, recall, f1

    def as_dict(self) -> dict[str, int]:
        return {"tp": self.tp, "fp": self.fp, "tn": self.tn, "fn": self.fn}


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    precision: float
    recall: float
    f1: float
    confusion: Confusion
    evaluated: int        # candidate thresholds evaluated (unique scores + one below the minimum)
    meeting_target: int   # candidates whose NO_PASS recall met min_recall


@dataclass(frozen=True)
class Unreachable:
    """No candidate threshold meets min_recall."""

    min_recall: float
    best_recall: float | None      # None when there is no NO_PASS row (recall undefined)
    best_threshold: float | None   # highest threshold reaching best_recall
    evaluated: int
    n_samples: int
    n_pass: int
    n_no_pass: int

    @property
    def reason(self) -> str:
        if self.n_no_pass == 0:
            return (f"inference.csv has no NO_PASS rows (all {self.n_samples} samples are labelled PASS), "
                    "so NO_PASS recall is undefined at every threshold")
        return (f"the best NO_PASS recall any threshold reaches is {self.best_recall!r} "
                f"(at threshold {self.best_threshold!r}), below min_recall={self.min_recall!r}")


def confusion_at(scores: np.ndarray, is_pass: np.ndarray, threshold: float) -> Confusion:
    predicted_no_pass = np.asarray(scores) > threshold
    actual_no_pass = ~np.asarray(is_pass, dtype=bool)
    tp = int(np.count_nonzero(predicted_no_pass & actual_no_pass))
    fp = int(np.count_nonzero(predicted_no_pass & ~actual_no_pass))
    n_no_pass = int(np.count_nonzero(actual_no_pass))
    return Confusion(tp=tp, fp=fp, tn=len(actual_no_pass) - n_no_pass - fp, fn=n_no_pass - tp)


def choose_threshold(scores: np.ndarray, is_pass: np.ndarray, min_recall: float) -> ThresholdChoice | Unreachable:
    """The reference's sweep, vectorised: one sort, counts by run ends, the same float64 maths.

    Candidates ascend, so the NO_PASS count above them (tp) never grows and recall is monotone:
    the candidates meeting min_recall are a prefix, and precision/F1 are only needed there.
    """
    scores = np.asarray(scores, dtype=np.float64)
    is_pass = np.asarray(is_pass, dtype=bool)
    n = len(scores)
    n_pass = int(np.count_nonzero(is_pass))
    n_no_pass = n - n_pass
    ordered = np.sort(scores)
    run_end = np.empty(n, dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=run_end[:-1])
    run_end[-1:] = True
    ends = np.flatnonzero(run_end)
    del run_end
    candidates = np.concatenate([[math.nextafter(float(ordered[0]), -math.inf)], ordered[ends]])
    del ordered
    at_or_below = np.concatenate([[0], ends + 1])          # rows with score <= candidate
    # NO_PASS rows at or below each candidate: place the smaller class on the candidate grid
    smaller_is_pass = n_pass < n_no_pass
    smaller = np.sort(scores[is_pass] if smaller_is_pass else scores[~is_pass])
    slots = np.searchsorted(candidates, smaller, side="left")  # every score is a candidate
    smaller_le = np.cumsum(np.bincount(slots, minlength=len(candidates)))
    no_pass_le = at_or_below - smaller_le if smaller_is_pass else smaller_le
    tp = n_no_pass - no_pass_le
    fp = (n - at_or_below) - tp
    evaluated = len(candidates)
    if n_no_pass == 0:
        return Unreachable(min_recall=min_recall, best_recall=None, best_threshold=None, evaluated=evaluated,
                           n_samples=n, n_pass=n_pass, n_no_pass=0)
    recall = tp / float(n_no_pass)
    meeting = int(np.count_nonzero(recall >= min_recall - RECALL_TOLERANCE))  # a prefix (monotone)
    if meeting == 0:
        best_recall = float(recall[0])
        return Unreachable(min_recall=min_recall, best_recall=best_recall,
                           best_threshold=float(candidates[np.flatnonzero(recall == best_recall)[-1]]),
                           evaluated=evaluated, n_samples=n, n_pass=n_pass, n_no_pass=n_no_pass)
    tp, fp, recall, candidates = tp[:meeting], fp[:meeting], recall[:meeting], candidates[:meeting]
    predicted = (tp + fp).astype(np.float64)
    precision = np.divide(tp.astype(np.float64), predicted, out=np.zeros(meeting), where=predicted > 0)
    denom = precision + recall
    f1 = np.divide(2.0 * precision * recall, denom, out=np.zeros(meeting), where=denom != 0)
    # max by (f1, precision, threshold): narrow the set one key at a time
    best = np.flatnonzero(f1 == f1.max())
    best = best[precision[best] == precision[best].max()]
    winner = int(best[np.argmax(candidates[best])])
    tp_w, fp_w = int(tp[winner]), int(fp[winner])
    return ThresholdChoice(threshold=_as_first_seen(float(candidates[winner]), scores),
                           precision=float(precision[winner]), recall=float(recall[winner]), f1=float(f1[winner]),
                           confusion=Confusion(tp=tp_w, fp=fp_w, tn=n_pass - fp_w, fn=n_no_pass - tp_w),
                           evaluated=evaluated, meeting_target=meeting)


def _as_first_seen(threshold: float, scores: np.ndarray) -> float:
    """0.0 and -0.0 are one candidate; the reference's set keeps the one seen first in the CSV,
    and that sign shows in threshold.txt."""
    if threshold != 0.0:
        return threshold
    zeros = np.flatnonzero(scores == 0.0)
    return float(scores[zeros[0]]) if len(zeros) else threshold


def weakness(scores: np.ndarray, is_pass: np.ndarray, threshold: float) -> np.ndarray:
    """Signed distance from the threshold in the wrong direction: > 0 misclassified, <= 0 correct."""
    scores = np.asarray(scores, dtype=np.float64)
    return np.where(np.asarray(is_pass, dtype=bool), scores - threshold, threshold - scores)


@dataclass(frozen=True)
class LabelGroups:
    """Row indices per normalised label (each group in CSV row order), computed once."""

    names: list[str]                       # normalised label per group id, first-appearance order
    rows: list[np.ndarray] = field(repr=False)

    @classmethod
    def build(cls, label_ids: np.ndarray, names: Sequence[str]) -> "LabelGroups":
        label_ids = np.asarray(label_ids)
        # uint16 keys let numpy use its radix sort (stable, linear) for the usual few labels
        keys = label_ids.astype(np.uint16) if len(names) < 65536 else label_ids
        order = np.argsort(keys, kind="stable")
        counts = np.bincount(label_ids, minlength=len(names))
        bounds = np.concatenate([[0], np.cumsum(counts)])
        return cls(list(names), [order[bounds[g]:bounds[g + 1]] for g in range(len(names))])


def top_k_per_label(weakness_values: np.ndarray, groups: LabelGroups, k: int) -> np.ndarray:
    """Row indices of the k weakest rows per label, ordered by weakness descending then CSV row.

    Linear per label: partition finds the k-th largest weakness; rows strictly above it are all
    kept and ties at the cut are taken in row order.
    """
    kept = []
    for rows in groups.rows:
        if len(rows) > k:
            values = weakness_values[rows]
            cut = np.partition(values, len(values) - k)[len(values) - k]
            above = rows[values > cut]
            tied = rows[values == cut][: k - len(above)]
            rows = np.concatenate([above, tied])
        kept.append(rows)
    kept_rows = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
    return kept_rows[np.lexsort((kept_rows, -weakness_values[kept_rows]))]


def per_label_stats(weakness_values: np.ndarray, groups: LabelGroups) -> dict[str, dict]:
    """Over every row of the CSV: total, mean/median/max weakness, misclassified (weakness > 0)."""
    stats = {}
    for name, rows in zip(groups.names, groups.rows):
        if len(rows) == 0:
            continue
        values = weakness_values[rows]
        stats[name] = {"total": int(len(values)), "mean_weakness": float(np.mean(values)),
                       "median_weakness": float(np.median(values)), "max_weakness": float(values.max()),
                       "n_misclassified": int(np.count_nonzero(values > 0))}
    return stats


def breakdown_text(threshold: float, top_k: int, n_samples: int, kept_labels: Sequence[str],
                   kept_weakness: np.ndarray) -> str:
    """The container's weak_samples_breakdown.txt, byte for byte. `kept_labels` are normalised
    labels of the kept rows in output order (labels appear in first-appearance order)."""
    lines = [f"Weak samples breakdown by label (threshold={threshold}, top_k_per_label={top_k})",
             f"Total KPI samples: {n_samples}",
             f"Total weak samples kept: {len(kept_labels)}",
             ""]
    total_kept = max(len(kept_labels), 1)
    order: dict[str, list[int]] = {}
    for position, label in enumerate(kept_labels):
        order.setdefault(label, []).append(position)
    for label, positions in order.items():
        count = len(positions)
        misclassified = int(np.count_nonzero(np.asarray(kept_weakness)[positions] > 0))
        lines.append(f"  {label}: {count} ({100.0 * count / total_kept:.1f}%) — "
                     f"{misclassified} misclassified, {count - misclassified} marginal")
    return "\n".join(lines) + "\n"


def expand_per_lighting(input_paths: Sequence[str], object_names: Sequence[str], labels: Sequence[str],
                        scores: Sequence[float], weakness_values: Sequence[float], lightings: Sequence[str],
                        image_ext: str, kpi_media_path: str) -> dict[str, list]:
    """One row per (kept sample, lighting) in input_map order; filepath built like the reference:
    str(Path(kpi_media_path) / input_path / f"{object_name}_{lighting}{image_ext}")."""
    root = Path(kpi_media_path)
    base_of: dict[str, str] = {}
    columns: dict[str, list] = {"filepath": [], "label": [], "siamese_score": [], "weakness": []}
    for input_path, obj, label, score, weak in zip(input_paths, object_names, labels, scores, weakness_values):
        base = base_of.get(input_path)
        if base is None:
            base = base_of[input_path] = str(root / input_path)
        stripped = str(label).strip()
        for lighting in lightings:
            columns["filepath"].append(_join(base, f"{obj}_{lighting}{image_ext}"))
            columns["label"].append(stripped)
            columns["siamese_score"].append(float(score))
            columns["weakness"].append(float(weak))
    return columns


def _join(base: str, name: str) -> str:
    """str(Path(base) / name) without building a Path for the common simple case."""
    if "/" in name or "\\" in name:
        return str(Path(base) / name)
    if base == ".":
        return name
    return base + name if base.endswith("/") else f"{base}/{name}"


def escaping_paths(values: Sequence[str], *, allow_absolute: bool) -> list[int]:
    """Indices of relative paths that would leave their root ('..' parts, or absolute ones)."""
    bad = []
    for i, value in enumerate(values):
        path = Path(value)
        if ".." in path.parts or (path.is_absolute() and not allow_absolute):
            bad.append(i)
    return bad

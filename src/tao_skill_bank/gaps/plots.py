"""Plots people look at before they read the report, drawn with Pillow only.

`score_histograms` / `label_histograms` are pure (numbers in, bin counts out, NumPy per row);
`draw_score_distribution` (scores per label) and `draw_label_scores` (per-row arrays, what `gaps run`
uses on the whole CSV) render one panel per label on a shared score axis with the decision
threshold as a red line, and write the PNG atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from tao_skill_bank.gaps.contract import is_pass

PANEL_WIDTH = 720
PANEL_HEIGHT = 110
MARGIN_LEFT = 150
MARGIN_RIGHT = 20
TITLE_HEIGHT = 34
AXIS_HEIGHT = 34
PASS_COLOUR = (46, 139, 87)
DEFECT_COLOUR = (214, 96, 36)
THRESHOLD_COLOUR = (200, 0, 0)


@dataclass(frozen=True)
class Histogram:
    label: str
    counts: list[int]
    total: int


def score_range(scores_by_label: Mapping[str, Sequence[float]], threshold: float | None) -> tuple[float, float]:
    import numpy as np

    arrays = [np.asarray(scores, dtype=np.float64) for scores in scores_by_label.values()]
    return _range([a for a in arrays if len(a)], threshold)


def _range(arrays: list, threshold: float | None) -> tuple[float, float]:
    """[low, high] over the scores and the threshold (vectorised min/max), widened when flat."""
    values = [(float(a.min()), float(a.max())) for a in arrays]
    if threshold is not None:
        values.append((float(threshold), float(threshold)))
    if not values:
        return 0.0, 1.0
    low, high = min(v[0] for v in values), max(v[1] for v in values)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    return low, high


def bin_index(scores, low: float, high: float, bins: int):
    """Bin of each score over [low, high]; the top edge falls in the last bin (NumPy, per row)."""
    import numpy as np

    width = (high - low) / bins
    index = ((np.asarray(scores, dtype=np.float64) - low) / width).astype(np.int64)  # truncates, as int()
    return np.clip(index, 0, bins - 1)


def score_histograms(scores_by_label: Mapping[str, Sequence[float]], low: float, high: float,
                     bins: int = 40) -> list[Histogram]:
    """Per-label bin counts over [low, high]; the top edge falls in the last bin."""
    import numpy as np

    out = []
    for label, scores in scores_by_label.items():
        counts = np.bincount(bin_index(scores, low, high, bins), minlength=bins)
        out.append(Histogram(label=label, counts=[int(c) for c in counts], total=len(scores)))
    return out


def nice_ticks(low: float, high: float, target: int = 5) -> tuple[list[float], int]:
    """Round axis ticks inside [low, high] (steps of 1, 2, 2.5 or 5 x 10^k, about `target` of
    them) and the number of decimals that prints each one exactly."""
    import math

    span = high - low
    if not math.isfinite(span) or span <= 0:
        return [low], 3
    raw = span / max(1, target)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12) + 0.0)
        value = first + len(ticks) * step
    from decimal import Decimal

    exponent = Decimal(repr(round(step, 12))).normalize().as_tuple().exponent
    return ticks, max(0, -int(exponent))


def label_histograms(scores, label_ids, names: Sequence[str], low: float, high: float,
                     bins: int = 40) -> list[Histogram]:
    """The same counts from per-row arrays (label_ids index names): one bincount over all rows,
    no per-label copies of the scores."""
    import numpy as np

    ids = np.asarray(label_ids, dtype=np.int64)
    cells = np.bincount(ids * bins + bin_index(scores, low, high, bins), minlength=len(names) * bins)
    totals = np.bincount(ids, minlength=len(names))
    return [Histogram(label=str(name), counts=[int(c) for c in cells[i * bins:(i + 1) * bins]], total=int(totals[i]))
            for i, name in enumerate(names)]


def order_labels(labels: Sequence[str]) -> list[str]:
    """PASS first, then defects alphabetically — the same order in every plot."""
    return sorted(labels, key=lambda l: (not is_pass(l), l))


def draw_score_distribution(scores_by_label: Mapping[str, Sequence[float]], threshold: float | None,
                            path: str | Path, *, title: str = "siamese_score by label", bins: int = 40) -> Path:
    labels = order_labels(list(scores_by_label))
    ordered = {label: scores_by_label[label] for label in labels}
    low, high = score_range(ordered, threshold)
    return draw_histograms(score_histograms(ordered, low, high, bins), low, high, threshold, path, title=title,
                           bins=bins)


def draw_label_scores(scores, label_ids, names: Sequence[str], threshold: float | None, path: str | Path, *,
                      title: str = "siamese_score by label", bins: int = 40) -> Path:
    """The same picture from per-row arrays (every row's score and label id): O(rows) in NumPy."""
    import numpy as np

    scores = np.asarray(scores, dtype=np.float64)
    low, high = _range([scores] if len(scores) else [], threshold)
    by_label = {h.label: h for h in label_histograms(scores, label_ids, names, low, high, bins)}
    return draw_histograms([by_label[label] for label in order_labels(list(by_label))], low, high, threshold, path,
                           title=title, bins=bins)


def draw_histograms(histograms: Sequence[Histogram], low: float, high: float, threshold: float | None,
                    path: str | Path, *, title: str = "siamese_score by label", bins: int = 40) -> Path:
    """One panel per histogram (in the order given) on the shared [low, high] axis."""
    from PIL import Image, ImageDraw, ImageFont

    from tao_skill_bank.fsutil import atomic_write_with

    height = TITLE_HEIGHT + PANEL_HEIGHT * max(1, len(histograms)) + AXIS_HEIGHT
    image = Image.new("RGB", (MARGIN_LEFT + PANEL_WIDTH + MARGIN_RIGHT, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()

    def x_of(value: float) -> int:
        return MARGIN_LEFT + int(round((value - low) / (high - low) * PANEL_WIDTH))

    # ASCII only: Pillow's default bitmap font has no glyphs for dashes or arrows.
    heading = title if threshold is None else f"{title} | threshold {threshold:.6g} (red line; NO_PASS when score > threshold)"
    draw.text((10, 10), heading, fill="black", font=font)
    bar_width = PANEL_WIDTH / bins
    for row, hist in enumerate(histograms):
        top = TITLE_HEIGHT + row * PANEL_HEIGHT
        bottom = top + PANEL_HEIGHT - 12
        draw.rectangle([MARGIN_LEFT, top, MARGIN_LEFT + PANEL_WIDTH, bottom], outline=(180, 180, 180))
        draw.text((8, top + 8), hist.label, fill="black", font=font)
        draw.text((8, top + 24), f"n={hist.total}", fill=(90, 90, 90), font=font)
        peak = max(hist.counts) or 1
        draw.text((8, top + 40), f"peak bin={peak}", fill=(90, 90, 90), font=font)
        colour = PASS_COLOUR if is_pass(hist.label) else DEFECT_COLOUR
        usable = bottom - top - 6
        for index, count in enumerate(hist.counts):
            if count == 0:
                continue
            bar_height = max(1, int(round(count / peak * usable)))
            x0 = MARGIN_LEFT + int(index * bar_width) + 1
            x1 = MARGIN_LEFT + int((index + 1) * bar_width) - 1
            draw.rectangle([x0, bottom - bar_height, max(x0, x1), bottom], fill=colour)
        if threshold is not None:
            x = x_of(threshold)
            draw.line([x, top, x, bottom], fill=THRESHOLD_COLOUR, width=2)
    axis_y = TITLE_HEIGHT + PANEL_HEIGHT * max(1, len(histograms))
    ticks, decimals = nice_ticks(low, high)
    for value in ticks:
        x = x_of(value)
        draw.line([x, axis_y - 10, x, axis_y - 4], fill="black")
        draw.text((x - 14, axis_y), f"{value:.{decimals}f}", fill="black", font=font)

    def save(tmp: Path) -> None:
        image.save(tmp, format="PNG")

    return atomic_write_with(path, save)

"""Plots people look at before they read the report, drawn with Pillow only.

`score_histograms` is pure (numbers in, bin counts out); `draw_score_distribution` renders one
panel per label on a shared score axis with the decision threshold as a red line, and writes the
PNG atomically.
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
    values = [v for scores in scores_by_label.values() for v in scores]
    if threshold is not None:
        values.append(threshold)
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    return low, high


def score_histograms(scores_by_label: Mapping[str, Sequence[float]], low: float, high: float,
                     bins: int = 40) -> list[Histogram]:
    """Per-label bin counts over [low, high]; the top edge falls in the last bin."""
    width = (high - low) / bins
    out = []
    for label, scores in scores_by_label.items():
        counts = [0] * bins
        for value in scores:
            index = min(bins - 1, max(0, int((value - low) / width)))
            counts[index] += 1
        out.append(Histogram(label=label, counts=counts, total=len(scores)))
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


def order_labels(labels: Sequence[str]) -> list[str]:
    """PASS first, then defects alphabetically — the same order in every plot."""
    return sorted(labels, key=lambda l: (not is_pass(l), l))


def draw_score_distribution(scores_by_label: Mapping[str, Sequence[float]], threshold: float | None,
                            path: str | Path, *, title: str = "siamese_score by label", bins: int = 40) -> Path:
    from PIL import Image, ImageDraw, ImageFont

    from tao_skill_bank.fsutil import atomic_write_with

    labels = order_labels(list(scores_by_label))
    ordered = {label: scores_by_label[label] for label in labels}
    low, high = score_range(ordered, threshold)
    histograms = score_histograms(ordered, low, high, bins)
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

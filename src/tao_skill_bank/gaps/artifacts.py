"""Gap-analysis results folder: compute in memory, then write the documented artifact set.

`analyze` is the local engine (every file); `complete_artifacts` runs after a container run and
adds whatever the container does not write (threshold.txt when pinned, metrics.json,
unreachable_kpi.txt) with the same code. Everything is computed before the first write, each file
is written atomically, and a folder that already holds results is refused.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tao_skill_bank.errors import UserError
from tao_skill_bank.gaps.config import GapConfig
from tao_skill_bank.gaps.contract import (BREAKDOWN, METRICS, METRICS_SCHEMA_VERSION, PARQUET, PARQUET_COLUMNS,
                                          THRESHOLD, UNREACHABLE, present_artifacts)
from tao_skill_bank.gaps.inputs import (InferenceTable, TrainInfo, float_values, label_codes, read_inference_table,
                                        read_train_config, texts_at)

log = logging.getLogger(__name__)



@dataclass
class GapResult:
    results_dir: Path
    engine: str
    unreachable: bool
    threshold: float | None
    threshold_source: str                  # swept | pinned
    metrics: dict | None                   # metrics.json content (None when unreachable)
    unreachable_text: str | None = None
    breakdown: str | None = None
    written: list[str] = field(default_factory=list)   # files this call wrote
    score_column: str = "siamese_score"
    analysis: "Analysis | None" = field(default=None, repr=False, compare=False)  # what was written, in memory

    def summary(self) -> dict[str, Any]:
        data = {"results_dir": str(self.results_dir), "engine": self.engine, "unreachable": self.unreachable,
                "threshold": self.threshold, "threshold_source": self.threshold_source,
                "score_column": self.score_column, "written": self.written}
        if self.unreachable_text:
            data["unreachable_text"] = self.unreachable_text
        if self.metrics:
            for key in ("precision", "recall", "f1", "confusion", "candidates", "n_samples", "kept_samples",
                        "kept_rows"):
                data[key] = self.metrics[key]
        return data


@dataclass
class Analysis:
    """Everything the results folder holds, in memory."""

    inference: InferenceTable
    train: TrainInfo
    threshold: float | None
    threshold_source: str
    metrics: dict | None
    unreachable_text: str | None
    breakdown: str | None
    gaps: Any | None          # pyarrow.Table with PARQUET_COLUMNS
    engine: str = "local"     # the engine metrics.json names

    @property
    def unreachable(self) -> bool:
        return self.unreachable_text is not None


def refuse_existing_results(results_dir: Path) -> None:
    present = present_artifacts(results_dir)
    if present:
        raise UserError(f"already holds results ({', '.join(present)}); refusing to overwrite a previous run",
                        file=str(results_dir), field="results_dir",
                        fix="pass a new results_dir, e.g. <exp>/rca_results/$(date +%Y-%m-%d_%H%M%S)")


@dataclass(frozen=True)
class GapInputs:
    """inference.csv and the train YAML, each read and checked once per run."""

    inference: InferenceTable
    train: TrainInfo


def load_inputs(config: GapConfig) -> GapInputs:
    return GapInputs(read_inference_table(config.inference_results_dir), read_train_config(config.train_config))


def compute(config: GapConfig, engine_name: str, container_threshold: float | None = None,
            inputs: GapInputs | None = None) -> Analysis:
    """Compute every artifact in memory (no writes), from `inputs` when the caller has read them."""
    import pyarrow as pa

    from tao_skill_bank.gaps import maths

    inputs = inputs or load_inputs(config)
    train, inference = inputs.train, inputs.inference
    table = inference.table
    scores = float_values(table.column("siamese_score"))
    labels = Labels.of(table.column("label"))
    chosen = _choose_threshold(config, scores, labels.is_pass, container_threshold)
    if isinstance(chosen, maths.Unreachable):
        return Analysis(inference, train, None, "swept", None, _unreachable_text(chosen, inference), None, None,
                        engine_name)
    threshold, source, candidates = chosen
    confusion = maths.confusion_at(scores, labels.is_pass, threshold)
    precision, recall, f1 = confusion.rates()

    weakness = maths.weakness(scores, labels.is_pass, threshold)
    groups = maths.LabelGroups.build(labels.ids, labels.names)
    kept = maths.top_k_per_label(weakness, groups, config.top_k_per_label)
    _refuse_escaping_paths(config, inference, kept)
    kept_weakness = weakness[kept]
    breakdown = maths.breakdown_text(threshold, config.top_k_per_label, len(scores),
                                      [labels.names[g] for g in labels.ids[kept]], kept_weakness)
    columns = maths.expand_per_lighting(
        texts_at(table.column("input_path"), kept), texts_at(table.column("object_name"), kept),
        [labels.raw[c] for c in labels.codes[kept]], scores[kept], kept_weakness, train.lightings,
        train.image_ext, config.kpi_media_path)
    gaps = pa.table([_string_array(columns["filepath"]), _string_array(columns["label"]),
                     _float_array(columns["siamese_score"]), _float_array(columns["weakness"])],
                    names=list(PARQUET_COLUMNS))
    n_pass = int(labels.is_pass.sum())
    metrics = {"schema_version": METRICS_SCHEMA_VERSION, "engine": engine_name, "threshold": threshold,
               "threshold_source": source, "min_recall": config.min_recall,
               "top_k_per_label": config.top_k_per_label, "score_column": inference.score_column,
               "precision": precision, "recall": recall, "f1": f1, "confusion": confusion.as_dict(),
               "candidates": candidates, "n_samples": len(scores), "n_pass": n_pass,
               "n_no_pass": len(scores) - n_pass, "per_label": maths.per_label_stats(weakness, groups),
               "kept_samples": int(len(kept)), "kept_rows": gaps.num_rows,
               "lightings": list(train.lightings), "image_ext": train.image_ext}
    return Analysis(inference, train, threshold, source, metrics, None, breakdown, gaps, engine_name)


@dataclass
class Labels:
    """Raw label codes (as in the CSV) and normalised label ids (first-appearance order)."""

    codes: Any     # int64 per row, into raw
    raw: list[str]
    ids: Any       # int64 per row, into names
    names: list[str]
    is_pass: Any   # bool per row

    @classmethod
    def of(cls, column) -> "Labels":
        import numpy as np

        from tao_skill_bank.gaps.contract import PASS, normalise_label

        codes, raw = label_codes(column)
        group_of: dict[str, int] = {}
        raw_to_group = np.array([group_of.setdefault(normalise_label(r), len(group_of)) for r in raw],
                                dtype=np.int64)
        ids = raw_to_group[codes] if len(raw) else np.zeros(0, dtype=np.int64)
        is_pass = ids == group_of[PASS] if PASS in group_of else np.zeros(len(ids), dtype=bool)
        return cls(codes, raw, ids, list(group_of), is_pass)


def _choose_threshold(config: GapConfig, scores, is_pass, container_threshold: float | None):
    """(threshold, swept|pinned, candidate counts), or maths.Unreachable."""
    from tao_skill_bank.gaps import maths

    if not config.swept:
        threshold = float(config.threshold)
        confusion = maths.confusion_at(scores, is_pass, threshold)
        recall = confusion.rates()[1]
        met = confusion.tp + confusion.fn > 0 and recall >= config.min_recall - maths.RECALL_TOLERANCE
        if not met:
            log.warning("pinned threshold %r gives NO_PASS recall %r, below min_recall=%r", threshold, recall,
                        config.min_recall)
        return threshold, "pinned", {"evaluated": 1, "meeting_target": int(met)}
    choice = maths.choose_threshold(scores, is_pass, config.min_recall)
    if isinstance(choice, maths.Unreachable):
        return choice
    threshold = choice.threshold
    if container_threshold is not None and container_threshold != threshold:
        log.warning("the container chose threshold %r, this engine %r; metrics.json describes the container's",
                    container_threshold, threshold)
        threshold = container_threshold
    return threshold, "swept", {"evaluated": choice.evaluated, "meeting_target": choice.meeting_target}


def _float_array(values):
    import numpy as np
    import pyarrow as pa

    data = np.ascontiguousarray(values, dtype=np.float64)
    return pa.Array.from_buffers(pa.float64(), len(data), [None, pa.py_buffer(data)])


def _string_array(values: list[str]):
    import numpy as np
    import pyarrow as pa

    encoded = [v.encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    kind = pa.string() if offsets[-1] < 2**31 else pa.large_string()  # the container writes string
    if kind == pa.string():
        offsets = offsets.astype(np.int32)
    return pa.Array.from_buffers(kind, len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])


def _refuse_escaping_paths(config: GapConfig, inference: InferenceTable, kept) -> None:
    """input_path/object_name of the samples we emit must stay under kpi_media_path."""
    from tao_skill_bank.gaps.maths import escaping_paths

    checks = [("object_name", texts_at(inference.table.column("object_name"), kept), False)]
    if config.kpi_media_path:
        checks.insert(0, ("input_path", texts_at(inference.table.column("input_path"), kept), False))
    for column, values, allow_absolute in checks:
        bad = escaping_paths(values, allow_absolute=allow_absolute)
        if bad:
            shown = ", ".join(repr(values[i]) for i in bad[:3])
            raise UserError(f"{len(bad)} value(s) would escape kpi_media_path ({shown}): '..' or absolute; the "
                            "container would join them as they are and name files outside the dataset",
                            file=str(inference.path), field=column,
                            fix=f"make {column} relative to kpi_media_path without '..' parts")


def _unreachable_text(choice, inference: InferenceTable) -> str:
    best = "n/a" if choice.best_recall is None else repr(choice.best_recall)
    at = "n/a" if choice.best_threshold is None else repr(choice.best_threshold)
    return "\n".join([
        f"KPI unreachable: no decision threshold reaches NO_PASS recall >= {choice.min_recall!r}.",
        f"Reason: {choice.reason}.",
        "",
        f"min_recall: {choice.min_recall!r}",
        f"best_achievable_recall: {best}",
        f"best_recall_threshold: {at}",
        f"candidates_evaluated: {choice.evaluated}",
        f"n_samples: {choice.n_samples}",
        f"n_pass: {choice.n_pass}",
        f"n_no_pass: {choice.n_no_pass}",
        f"inference_csv: {inference.path}",
        "",
        "Next step: the model (or the labels) cannot meet this KPI at any operating point; retrain with "
        "more NO_PASS examples or relabel, then rerun the gap analysis.",
    ]) + "\n"


def write(analysis: Analysis, results_dir: Path, only_missing: bool = False) -> list[str]:
    """Write the artifact set; with only_missing, keep any file already there (a container's)."""
    from tao_skill_bank import fsutil

    results_dir.mkdir(parents=True, exist_ok=True)
    planned: list[tuple[str, Any]] = []
    if analysis.unreachable:
        planned.append((UNREACHABLE, analysis.unreachable_text))
    else:
        planned += [(PARQUET, analysis.gaps), (BREAKDOWN, analysis.breakdown),
                    (THRESHOLD, str(float(analysis.threshold))), (METRICS, analysis.metrics)]
    written = []
    for name, content in planned:
        path = results_dir / name
        if only_missing and path.exists():
            continue
        if name == PARQUET:
            import pyarrow.parquet as pq
            fsutil.atomic_write_with(path, lambda tmp, table=content: pq.write_table(table, tmp))
        elif name == METRICS:
            fsutil.atomic_write_json(path, content)
        else:
            fsutil.atomic_write_text(path, content)
        written.append(name)
    return written


def _result(analysis: Analysis, results_dir: Path, engine_name: str, written: list[str]) -> GapResult:
    return GapResult(results_dir=results_dir, engine=engine_name, unreachable=analysis.unreachable,
                     threshold=analysis.threshold, threshold_source=analysis.threshold_source,
                     metrics=analysis.metrics, unreachable_text=analysis.unreachable_text,
                     breakdown=analysis.breakdown, written=written, score_column=analysis.inference.score_column,
                     analysis=analysis)


def analyze(config: GapConfig, engine_name: str = "local", inputs: GapInputs | None = None) -> GapResult:
    """Local engine: every artifact (or unreachable_kpi.txt alone) in results_dir."""
    results_dir = Path(config.results_dir)
    refuse_existing_results(results_dir)
    analysis = compute(config, engine_name, inputs=inputs)
    return _result(analysis, results_dir, engine_name, write(analysis, results_dir))


def complete_artifacts(config: GapConfig, engine_name: str = "docker", prepared: Analysis | None = None) -> GapResult:
    """After a container run: add the files it does not write, from inference.csv, same code.
    The container's own threshold.txt (if any) is the threshold the metrics describe. `prepared`
    is the analysis computed before the container ran: it is reused when the container chose the
    same threshold, and its inputs (never re-read) otherwise."""
    results_dir = Path(config.results_dir)
    for name in (METRICS, UNREACHABLE):
        if (results_dir / name).exists():
            raise UserError(f"already holds {name}; artifacts were completed before", file=str(results_dir),
                            field="results_dir", fix="pass a new results_dir")
    container_threshold = _read_threshold(results_dir / THRESHOLD) if config.swept else None
    if prepared is not None and prepared.engine == engine_name and \
            (container_threshold is None or container_threshold == prepared.threshold):
        analysis = prepared
    else:
        inputs = GapInputs(prepared.inference, prepared.train) if prepared is not None else None
        analysis = compute(config, engine_name, container_threshold=container_threshold, inputs=inputs)
    return _result(analysis, results_dir, engine_name, write(analysis, results_dir, only_missing=True))


def _read_threshold(path: Path) -> float | None:
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8").strip()
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"not a number: {text[:40]!r}", file=str(path), field="threshold",
                        fix="rerun the container into a new results_dir")
    if not math.isfinite(value):
        raise UserError("not a finite number", file=str(path), field="threshold", fix="rerun into a new results_dir")
    return value

"""`tao-skills gaps summary OUT`: the sanity print of a gap analysis results folder.

Also the one reader of a results folder that `spotcheck` and `report` share: `read_results`
loads whatever artifacts exist (a bare container output has no metrics.json, and a pinned
threshold in the container writes no threshold.txt), and `summarize` turns them into the facts
an agent checks before going on (pure).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tao_skill_bank.errors import EXIT_ENVIRONMENT, UserError
from tao_skill_bank.output import add_json_flag, emit

PARQUET = "kpi_gaps.parquet"
THRESHOLD = "threshold.txt"
BREAKDOWN = "weak_samples_breakdown.txt"
METRICS = "metrics.json"
UNREACHABLE = "unreachable_kpi.txt"
SPEC = "vcn_aoi_spec.yaml"
RUN_RECORD = "run_record.json"
SPOTCHECK = "spotcheck.json"
SCORE_PLOT = "score_distribution.png"
PARQUET_COLUMNS = ["filepath", "label", "siamese_score", "weakness"]
GAP_ARTIFACTS = (PARQUET, THRESHOLD, BREAKDOWN, METRICS, UNREACHABLE)


@dataclass
class ResultsFolder:
    """What a gap analysis results folder holds; None for an artifact that is absent."""

    path: Path
    metrics: dict | None
    threshold_text: str | None
    breakdown: str | None
    unreachable: str | None
    spec: dict | None
    run_record: dict | None
    has_parquet: bool

    @property
    def is_unreachable(self) -> bool:
        return self.unreachable is not None

    @property
    def threshold(self) -> float | None:
        if self.threshold_text is not None:
            return float(self.threshold_text)
        if self.metrics and self.metrics.get("threshold") is not None:
            return float(self.metrics["threshold"])
        return None

    def lightings(self) -> tuple[list[str], str] | None:
        """(input_map order, image_ext) from metrics.json, else from the train config the spec names."""
        if self.metrics and self.metrics.get("lightings"):
            return list(self.metrics["lightings"]), str(self.metrics.get("image_ext", ""))
        train = (self.spec or {}).get("train_config")
        if train and Path(train).is_file():
            from tao_skill_bank.gaps.config import read_train_config

            info = read_train_config(train)
            return list(info.lightings), info.image_ext
        return None


def _read_text(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def read_results(out: str | Path) -> ResultsFolder:
    path = Path(out).expanduser().resolve()
    if not path.is_dir():
        raise UserError("results folder not found", file=str(path),
                        fix="pass the folder printed as `results_dir:` by `tao-skills gaps run`",
                        exit_code=EXIT_ENVIRONMENT)
    if not any((path / name).exists() for name in GAP_ARTIFACTS):
        raise UserError(f"not a gap analysis results folder (none of {', '.join(GAP_ARTIFACTS)})",
                        file=str(path), fix="pass <exp>/rca_results/<timestamp>/ of a finished run, "
                                            "or run `tao-skills gaps run` first")
    metrics = None
    if (path / METRICS).is_file():
        from tao_skill_bank.gaps.artifacts import load_metrics

        metrics = load_metrics(path)
    threshold_text = _read_text(path / THRESHOLD)
    if threshold_text is not None:
        threshold_text = threshold_text.strip()
        try:
            float(threshold_text)
        except ValueError:
            raise UserError(f"not a number: {threshold_text[:40]!r}", file=str(path / THRESHOLD),
                            fix="rerun the gap analysis; threshold.txt holds one float")
    return ResultsFolder(
        path=path,
        metrics=metrics,
        threshold_text=threshold_text,
        breakdown=_read_text(path / BREAKDOWN),
        unreachable=_read_text(path / UNREACHABLE),
        spec=_read_yaml(path / SPEC),
        run_record=_read_json(path / RUN_RECORD),
        has_parquet=(path / PARQUET).is_file(),
    )


def _read_yaml(path: Path) -> dict | None:
    if not path.is_file():
        return None
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UserError(f"not valid YAML ({str(exc).splitlines()[0]})", file=str(path),
                        fix="restore the spec written by `tao-skills gaps run`")
    return data if isinstance(data, dict) else None


def _read_json(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"not valid JSON (line {exc.lineno}: {exc.msg})", file=str(path),
                        fix="repair the JSON syntax (or delete the file and regenerate it)")


def load_parquet(folder: ResultsFolder):
    """kpi_gaps.parquet as a DataFrame with exactly the contract's columns."""
    import pandas as pd

    path = folder.path / PARQUET
    if not path.is_file():
        fix = ("the KPI is unreachable, so there is no parquet: write the abridged report "
               f"(tao-skills gaps report {shlex.quote(str(folder.path))})") if folder.is_unreachable \
            else "rerun `tao-skills gaps run`; the engine writes kpi_gaps.parquet"
        raise UserError("kpi_gaps.parquet is missing", file=str(path), fix=fix)
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise UserError(f"unreadable parquet ({type(exc).__name__})", file=str(path),
                        fix="rerun `tao-skills gaps run` into a new folder")
    missing = [c for c in PARQUET_COLUMNS if c not in df.columns]
    if missing:
        raise UserError(f"missing columns {missing} (has {list(df.columns)})", file=str(path),
                        field=missing[0], fix="pass a kpi_gaps.parquet written by the gap analysis")
    return df


_BREAKDOWN_HEADER = re.compile(r"threshold=([^,]+), top_k_per_label=(\d+)")
_BREAKDOWN_TOTAL = re.compile(r"Total KPI samples:\s*(\d+)")
_BREAKDOWN_KEPT = re.compile(r"Total weak samples kept:\s*(\d+)")


def parse_breakdown(text: str | None) -> dict:
    """The numbers in weak_samples_breakdown.txt (container format); absent ones are None."""
    out: dict[str, Any] = {"top_k_per_label": None, "total_kpi_samples": None, "weak_samples_kept": None}
    if not text:
        return out
    if m := _BREAKDOWN_HEADER.search(text):
        out["top_k_per_label"] = int(m.group(2))
    if m := _BREAKDOWN_TOTAL.search(text):
        out["total_kpi_samples"] = int(m.group(1))
    if m := _BREAKDOWN_KEPT.search(text):
        out["weak_samples_kept"] = int(m.group(1))
    return out


def label_counts(labels) -> dict[str, int]:
    """Rows per label in first-appearance order (the parquet is sorted by weakness)."""
    counts: dict[str, int] = {}
    for label in labels:
        counts[str(label)] = counts.get(str(label), 0) + 1
    return counts


def summarize(folder: ResultsFolder, df=None) -> dict:
    """The sanity facts of a results folder (pure over what read_results loaded)."""
    metrics = folder.metrics or {}
    breakdown = parse_breakdown(folder.breakdown)
    out_q = shlex.quote(str(folder.path))
    facts: dict[str, Any] = {
        "results_dir": str(folder.path),
        "status": "unreachable" if folder.is_unreachable else "ok",
        "engine": metrics.get("engine") or (folder.run_record or {}).get("engine"),
        "threshold": folder.threshold,
        "threshold_source": metrics.get("threshold_source"),
        "min_recall": metrics.get("min_recall", (folder.spec or {}).get("min_recall")),
        "top_k_per_label": metrics.get("top_k_per_label", breakdown["top_k_per_label"]),
        "score_column": metrics.get("score_column"),
        "precision": metrics.get("precision"),
        "recall": metrics.get("recall"),
        "f1": metrics.get("f1"),
        "confusion": metrics.get("confusion"),
        "n_samples": metrics.get("n_samples", breakdown["total_kpi_samples"]),
        "metrics_json": folder.metrics is not None,
        "parquet": None,
        "unreachable_kpi": folder.unreachable.strip() if folder.unreachable else None,
        "notes": [],
    }
    if df is not None:
        facts["parquet"] = {"rows": int(len(df)), "columns": [str(c) for c in df.columns],
                            "label_counts": label_counts(df["label"])}
    if folder.is_unreachable:
        facts["next"] = [f"tao-skills gaps report {out_q}"]
        facts["notes"].append("KPI unreachable: skip the spot check, write the abridged report, "
                              "recommend retraining or relabelling")
        return facts
    if folder.metrics is None:
        facts["notes"].append("metrics.json missing (bare container output): precision/recall/F1 need "
                              "inference.csv — rerun with `tao-skills gaps run --engine docker`, which "
                              "completes the artifact set after the container")
    if folder.threshold_text is None:
        facts["notes"].append("threshold.txt missing (the container writes none for a pinned threshold)")
    facts["next"] = [f"tao-skills gaps spotcheck {out_q}", f"tao-skills gaps report {out_q}"]
    return facts


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def summary_text(facts: dict) -> str:
    """Short text for people and transcripts; the last line is `results_dir: <abs path>`."""
    lines = []
    if facts.get("engine"):
        lines.append(f"engine: {facts['engine']}")
    if facts.get("status") == "unreachable":
        lines.append("KPI UNREACHABLE — no threshold meets min_recall "
                     f"{_fmt(facts.get('min_recall'), 4)}:")
        lines.extend(f"  {line}" for line in (facts.get("unreachable_kpi") or "").splitlines())
    else:
        source = f" ({facts['threshold_source']})" if facts.get("threshold_source") else ""
        lines.append(f"threshold: {facts.get('threshold') if facts.get('threshold') is not None else 'n/a'}{source}"
                     f"  min_recall={_fmt(facts.get('min_recall'))}  top_k_per_label={_fmt(facts.get('top_k_per_label'))}")
        lines.append(f"precision={_fmt(facts.get('precision'))} recall={_fmt(facts.get('recall'))} f1={_fmt(facts.get('f1'))}")
        if facts.get("confusion"):
            c = facts["confusion"]
            lines.append(f"confusion (positive = NO_PASS): tp={c['tp']} fp={c['fp']} tn={c['tn']} fn={c['fn']}")
        if facts.get("score_column") and facts["score_column"] != "siamese_score":
            lines.append(f"score column: {facts['score_column']} (TAO Deploy CSV)")
    parquet = facts.get("parquet")
    if parquet:
        lines.append(f"kpi_gaps.parquet: rows={parquet['rows']}, cols={parquet['columns']}")
        lines.append("rows per label:")
        lines.extend(f"  {label}: {count}" for label, count in parquet["label_counts"].items())
    for note in facts.get("notes", []):
        lines.append(f"note: {note}")
    if facts.get("next"):
        lines.append("next:")
        lines.extend(f"  {cmd}" for cmd in facts["next"])
    lines.append(f"results_dir: {facts['results_dir']}")
    return "\n".join(lines)


def load_summary(out: str | Path) -> dict:
    folder = read_results(out)
    df = load_parquet(folder) if folder.has_parquet else None
    return summarize(folder, df)


def register(sub) -> None:
    p = sub.add_parser("summary", help="sanity print of a gap results folder (threshold, P/R/F1, parquet rows, labels)",
                       description="Print the threshold, precision/recall/F1, parquet rows/columns and per-label "
                                   "counts of OUT. Works on a bare container output without metrics.json.")
    p.add_argument("out", metavar="OUT", help="results folder (<exp>/rca_results/<timestamp>/)")
    add_json_flag(p)
    p.set_defaults(func=_handle)


def _handle(args) -> int:
    facts = load_summary(args.out)
    emit(args, facts, summary_text(facts))
    return 0

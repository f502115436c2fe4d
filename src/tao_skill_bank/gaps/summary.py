"""`tao-skills gaps summary OUT`: the sanity print of a gap analysis results folder.

`summarize` (pure) turns what `gaps.results.read_results` loaded into the facts an agent checks
before going on; `summary_text` prints them.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from tao_skill_bank.gaps.results import ResultsFolder, load_parquet, read_results

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


def parquet_facts(df) -> dict:
    """Rows, columns and rows per label of kpi_gaps.parquet: a DataFrame read back from the
    folder, or the pyarrow Table the engine just wrote (same facts, nothing re-read)."""
    if hasattr(df, "column_names"):  # pyarrow.Table
        columns, labels = list(df.column_names), df.column("label").to_pylist()
    else:
        columns, labels = [str(c) for c in df.columns], df["label"]
    return {"rows": int(len(df)), "columns": columns, "label_counts": label_counts(labels)}


def summarize(folder: ResultsFolder, df=None) -> dict:
    """The sanity facts of a results folder (pure over what read_results loaded, or what the
    engine holds in memory)."""
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
        facts["parquet"] = parquet_facts(df)
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
    """Short text for people and transcripts; the last line is `results_dir: <abs path>` (a label
    holding a newline is shown as `\\n`, so no value can fake that line)."""
    from tao_skill_bank.markdown import visible_controls

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
        lines.extend(f"  {visible_controls(str(label))}: {count}" for label, count in parquet["label_counts"].items())
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

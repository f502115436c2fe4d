"""`tao-skills gaps report OUT`: render RCA_Report.draft.md from the artifacts.

`report_context` (pure) turns metrics.json, the parquet rows and spotcheck.json into the numbers
and tables the template needs; the jinja2 template lives in the skill's references/ so the skill
owns its wording. The draft is rewritten on every call (it is derived, e.g. after verdicts are
filled in); RCA_Report.md is the agent's and is never touched here.
"""

from __future__ import annotations

import shlex
from datetime import datetime
from pathlib import Path
from typing import Any

from tao_skill_bank import markdown
from tao_skill_bank.errors import UserError
from tao_skill_bank.gaps.contract import (DRAFT_REPORT, METRICS, PARQUET_COLUMNS, REPORT, SCORE_PLOT, SPOTCHECK,
                                          VERDICTS, is_pass)

SKILL = "tao-analyze-gaps-visual-changenet"
TEMPLATE = "references/report_template.md.j2"
TOP_ROWS_PER_LABEL = 5  # rows shown per label in the report; the full list is the parquet



def experiment_name_for(results_dir: Path) -> str:
    """<exp>/rca_results/<timestamp>/ -> <exp>'s folder name; a custom --out -> its own name."""
    if results_dir.parent.name == "rca_results":
        return results_dir.parent.parent.name
    return results_dir.name


def _per_label_rows(metrics: dict) -> list[dict]:
    rows = []
    for label, stats in (metrics.get("per_label") or {}).items():
        total = int(stats["total"])
        rows.append({"label": label, "total": total, "mean": stats["mean_weakness"],
                     "median": stats["median_weakness"], "max": stats["max_weakness"],
                     "misclassified": int(stats["n_misclassified"]),
                     "pct_misclassified": 100.0 * int(stats["n_misclassified"]) / total if total else 0.0})
    rows.sort(key=lambda r: (not is_pass(r["label"]), r["label"]))
    return rows


def _top_rows(samples: list[dict]) -> list[dict]:
    """Per label (PASS first), the weakest samples, one row each."""
    by_label: dict[str, list[dict]] = {}
    for sample in samples:
        by_label.setdefault(sample["label"], []).append(sample)
    out = []
    for label in sorted(by_label, key=lambda l: (not is_pass(l), l)):
        members = sorted(by_label[label], key=lambda s: -s["weakness"])
        out.append({"label": label, "n_samples": len(members), "rows": members[:TOP_ROWS_PER_LABEL]})
    return out


def _breakdown_rows(rows: list[dict], n_lightings: int) -> list[dict]:
    """Kept rows per label: samples, misclassified (weakness > 0) and marginal (≤ 0)."""
    per: dict[str, dict] = {}
    for row in rows:
        entry = per.setdefault(str(row["label"]), {"label": str(row["label"]), "rows": 0, "misclassified_rows": 0})
        entry["rows"] += 1
        entry["misclassified_rows"] += float(row["weakness"]) > 0
    total = sum(e["rows"] for e in per.values()) or 1
    out = []
    for entry in sorted(per.values(), key=lambda e: (not is_pass(e["label"]), e["label"])):
        samples = entry["rows"] // max(1, n_lightings)
        misclassified = entry["misclassified_rows"] // max(1, n_lightings)
        out.append({**entry, "samples": samples, "misclassified": misclassified,
                    "marginal": samples - misclassified, "share": 100.0 * entry["rows"] / total})
    return out


def report_context(folder, rows: list[dict] | None, spotcheck: dict | None, experiment_name: str | None,
                   has_plot: bool) -> dict[str, Any]:
    """Every number and table the template prints (pure)."""
    from tao_skill_bank.gaps.spotcheck import select_spotcheck

    metrics = folder.metrics or {}
    spec = folder.spec or {}
    ctx: dict[str, Any] = {
        "experiment_name": experiment_name or experiment_name_for(folder.path),
        "results_dir": str(folder.path),
        "generated": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "unreachable": folder.unreachable.strip() if folder.unreachable else None,
        "engine": metrics.get("engine") or (folder.run_record or {}).get("engine") or "unknown",
        "min_recall": metrics.get("min_recall", spec.get("min_recall", 1.0)),
        "top_k_per_label": metrics.get("top_k_per_label", spec.get("top_k_per_label", 50)),
        "inference_dir": spec.get("inference_results_dir", "(see run_record.json)"),
        "train_config": spec.get("train_config", "(see run_record.json)"),
        "kpi_media_path": spec.get("kpi_media_path", ""),
        "has_plot": has_plot,
        "m": metrics,
    }
    if folder.is_unreachable:
        return ctx
    if not metrics:
        raise UserError("metrics.json is missing; the report needs it for every number",
                        file=str(folder.path / METRICS),
                        fix="rerun with `tao-skills gaps run` (it completes the artifacts after a container run)")
    confusion = metrics["confusion"]
    lightings = list(metrics.get("lightings") or [])
    n_lightings = max(1, len(lightings))
    rows = rows or []
    samples = [p.__dict__ for p in select_spotcheck(rows, lightings, metrics.get("image_ext"), per_group=10 ** 9)]
    spot = list((spotcheck or {}).get("samples") or [])
    verdicts: dict[str, list[dict]] = {}
    for entry in spot:
        if entry.get("verdict"):
            verdicts.setdefault(str(entry["verdict"]).strip().lower(), []).append(entry)
    per_label = _per_label_rows(metrics)
    defects = [r for r in per_label if not is_pass(r["label"])]
    n_pass, n_no_pass = int(metrics["n_pass"]), int(metrics["n_no_pass"])
    ctx.update({
        "c": confusion,
        # Quoted verbatim from threshold.txt: the report check compares against that text.
        "threshold": folder.threshold_text if folder.threshold_text is not None else repr(float(metrics["threshold"])),
        "threshold_source": metrics.get("threshold_source", "swept"),
        "score_column": metrics.get("score_column", "siamese_score"),
        "candidates": metrics.get("candidates") or {},
        "n_samples": int(metrics["n_samples"]), "n_pass": n_pass, "n_no_pass": n_no_pass,
        "false_alarm_rate": 100.0 * confusion["fp"] / n_pass if n_pass else 0.0,
        "escape_rate": 100.0 * confusion["fn"] / n_no_pass if n_no_pass else 0.0,
        "per_label": per_label,
        "pass_row": next((r for r in per_label if is_pass(r["label"])), None),
        "worst_defect": max(defects, key=lambda r: (r["max"], r["label"])) if defects else None,
        "lightings": lightings, "n_lightings": n_lightings, "image_ext": metrics.get("image_ext", ""),
        "kept_samples": int(metrics.get("kept_samples", len(samples))),
        "kept_rows": int(metrics.get("kept_rows", len(rows))),
        "parquet_rows": len(rows),
        "top_tables": _top_rows(samples),
        "breakdown_rows": _breakdown_rows(rows, n_lightings),
        "breakdown_text": (folder.breakdown or "").rstrip(),
        "spot": spot,
        "spot_pending": sum(1 for e in spot if not e.get("verdict")),
        "verdicts": verdicts,
        "verdict_counts": {v: len(verdicts.get(v, [])) for v in VERDICTS},
        "relabel": verdicts.get("mislabeled", []),
        "systematic": verdicts.get("systematic", []),
        "data_quality": verdicts.get("data quality", []),
    })
    return ctx


class _Markdown(str):
    """Text that is already Markdown (a code span or fenced block built by `markdown`)."""


def _markdown_out(value):
    """Every `{{ value }}` of the template, escaped unless a filter already made it Markdown: labels,
    paths and notes come from the CSV, the train YAML and spotcheck.json and must not add structure."""
    return value if isinstance(value, _Markdown) else markdown.escape(value)


def render(template_path: Path, context: dict) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_path.parent)),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, autoescape=False, finalize=_markdown_out)
    env.filters["md_code"] = lambda v: _Markdown(markdown.escape(v, code=True))
    env.filters["fenced"] = lambda v: _Markdown(markdown.fenced_block(v))
    env.filters["md_url"] = lambda v: _Markdown(markdown.link_target(v))
    env.filters["sh"] = lambda v: shlex.quote(str(v))
    env.filters["f4"] = lambda v: "n/a" if v is None else f"{float(v):.4f}"
    env.filters["signed"] = lambda v: f"{float(v):+.4f}"
    env.filters["pct"] = lambda v: f"{float(v):.1f}%"
    try:
        return env.get_template(template_path.name).render(**context)
    except jinja2.TemplateError as exc:
        raise UserError(f"report template error: {exc}", file=str(template_path),
                        fix="repair the template (or reinstall the skill bank)")


def word_count(markdown: str, names=()) -> int:
    """Words as the report check counts them (one definition for the draft and the hook); `names`:
    the labels and lightings the report quotes."""
    from tao_skill_bank.rca_hooks.reportcheck import count_words, word_values

    return count_words(markdown, word_values(names))


def quoted_names(context: dict, rows: list[dict] | None) -> set[str]:
    """The CSV labels (as kept in the parquet, and normalised) and the train YAML's lightings."""
    names = {str(r["label"]) for r in rows or []} | {r["label"] for r in context.get("per_label") or []}
    return names | {str(v) for v in context.get("lightings") or []}


def build_report(out: str | Path, experiment_name: str | None = None, bank: str | None = None) -> dict:
    from tao_skill_bank.bank import skill_dir
    from tao_skill_bank.fsutil import atomic_write_text
    from tao_skill_bank.gaps.results import load_parquet, read_json, read_results

    folder = read_results(out)
    rows = None
    if not folder.is_unreachable:
        df = load_parquet(folder)
        rows = df[list(PARQUET_COLUMNS)].to_dict("records")
    spotcheck = None if folder.is_unreachable else read_json(folder.path / SPOTCHECK)
    context = report_context(folder, rows, spotcheck, experiment_name, (folder.path / SCORE_PLOT).is_file())
    text = render(skill_dir(SKILL, bank) / TEMPLATE, context)
    path = atomic_write_text(folder.path / DRAFT_REPORT, text)
    pending = context.get("spot_pending", 0) if not folder.is_unreachable else 0
    return {
        "results_dir": str(folder.path),
        "draft": str(path),
        "variant": "abridged" if folder.is_unreachable else "full",
        "words": word_count(text, quoted_names(context, rows)),
        "spotcheck_json": spotcheck is not None,
        "verdicts_pending": pending if spotcheck is not None else None,
        "final_report": str(folder.path / REPORT),
    }


def report_text(result: dict) -> str:
    lines = [f"draft report ({result['variant']}, {result['words']} words): {result['draft']}"]
    if result["variant"] == "full" and not result["spotcheck_json"]:
        lines.append(f"note: no spotcheck.json — run `tao-skills gaps spotcheck {shlex.quote(result['results_dir'])}` "
                     "and fill the verdicts, then rerun this command")
    elif result.get("verdicts_pending"):
        lines.append(f"note: {result['verdicts_pending']} spot-check verdict(s) still empty in spotcheck.json "
                     "(shown as '(pending)'); fill them and rerun this command")
    lines += [f"to do: review the draft, edit the judgement sentences, then write it as {result['final_report']} "
              "(that write triggers the packaging hook)",
              f"results_dir: {result['results_dir']}"]
    return "\n".join(lines)

"""benchmark.json and its Markdown summary from the run records (pure)."""

from __future__ import annotations

from tao_skill_bank.evals.runner import CONDITIONS

SCHEMA_VERSION = 1


def _rate(passed: int, graded: int) -> float | None:
    return round(passed / graded, 4) if graded else None


def summarize(records: list[dict]) -> dict:
    """Pass rates per condition (over graded runs) and one row per eval."""
    by_condition = {}
    for condition in CONDITIONS:
        runs = [r for r in records if r["condition"] == condition]
        if not runs:
            continue
        graded = [r for r in runs if r["graded"]]
        passed = sum(r["passed"] for r in graded)
        checks = [c for r in graded for c in r["checks"]]
        by_condition[condition] = {
            "runs": len(runs), "graded": len(graded), "passed": passed, "pass_rate": _rate(passed, len(graded)),
            "checks": len(checks), "checks_passed": sum(c["passed"] for c in checks),
            "check_pass_rate": _rate(sum(c["passed"] for c in checks), len(checks)),
            "timed_out": sum(bool(r["timed_out"]) for r in runs),
        }
    per_eval = {}
    for record in records:
        row = per_eval.setdefault((record["skill"], record["eval_id"]),
                                  {"skill": record["skill"], "eval_id": record["eval_id"], "graded": record["graded"]})
        checks = record["checks"]
        row[record["condition"]] = {"passed": record["passed"] if record["graded"] else None,
                                    "checks_passed": sum(c["passed"] for c in checks), "checks": len(checks),
                                    "exit_code": record["exit_code"], "run_dir": record["run_dir"]}
    delta = None
    if all(c in by_condition and by_condition[c]["pass_rate"] is not None for c in CONDITIONS):
        delta = round(by_condition["with_skill"]["pass_rate"] - by_condition["without_skill"]["pass_rate"], 4)
    return {"conditions": by_condition, "pass_rate_delta": delta,
            "per_eval": sorted(per_eval.values(), key=lambda r: (r["skill"], r["eval_id"]))}


def benchmark(records: list[dict], meta: dict) -> dict:
    return {"schema_version": SCHEMA_VERSION, **meta, "summary": summarize(records), "runs": records}


def _cell(entry: dict | None) -> str:
    if entry is None:
        return "—"
    if entry["passed"] is None:
        return "ungraded"
    mark = "pass" if entry["passed"] else "FAIL"
    return f"{mark} ({entry['checks_passed']}/{entry['checks']})"


def markdown(bench: dict) -> str:
    summary = bench["summary"]
    lines = ["# Skill eval benchmark", "",
             f"Agent: `{bench['agent_cmd']}` · started {bench['started_at']} · {len(bench['runs'])} run(s)", "",
             "| condition | graded runs | passed | pass rate | checks passed |", "|---|---:|---:|---:|---:|"]
    for condition, stats in summary["conditions"].items():
        rate = "—" if stats["pass_rate"] is None else f"{stats['pass_rate']:.0%}"
        lines.append(f"| {condition.replace('_', ' ')} | {stats['graded']} | {stats['passed']} | {rate} | "
                     f"{stats['checks_passed']}/{stats['checks']} |")
    if summary["pass_rate_delta"] is not None:
        lines += ["", f"With the skill the pass rate changes by {summary['pass_rate_delta']:+.0%}."]
    lines += ["", "| skill | eval | with skill | without skill |", "|---|---:|---|---|"]
    for row in summary["per_eval"]:
        lines.append(f"| {row['skill']} | {row['eval_id']} | {_cell(row.get('with_skill'))} | "
                     f"{_cell(row.get('without_skill'))} |")
    failed = [r for r in bench["runs"] if r["graded"] and not r["passed"]]
    if failed:
        lines += ["", "## Failed checks", ""]
        for run in failed:
            for check in run["checks"]:
                if not check["passed"]:
                    what = check["check"].get("description") or check["check"].get("type")
                    lines.append(f"- {run['skill']} eval {run['eval_id']} ({run['condition'].replace('_', ' ')}): "
                                 f"{what} — {check['evidence']}")
    ungraded = sum(1 for r in summary["per_eval"] if not r["graded"])
    if ungraded:
        lines += ["", f"{ungraded} eval(s) have no `checks`: grade their `expectations` from the transcripts in `runs/`."]
    return "\n".join(lines) + "\n"

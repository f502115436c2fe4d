#!/usr/bin/env python3
"""Latency of the RCA hooks, as the agent experiences it (one process per tool call).

Prints medians for: interpreter start alone; each hook on a non-matching payload (the path taken
on every Write/Edit/Bash of a session; target ≤ 50 ms); the SessionStart hook when nothing is
wrong (target ≤ 50 ms); packaging a 10-image results folder
in-process and through the hook script (target ≤ 1 s).

    .venv/bin/python benchmarks/hooks_latency.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "rca_hooks"))  # the test suite's results-folder builder


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def hook_call(script: Path, payload: dict):
    data = json.dumps(payload).encode()
    return lambda: subprocess.run([sys.executable, str(script)], input=data, capture_output=True, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    from rca_results_builder import build_project, build_results_dir
    from tao_skill_bank.rca_hooks.package import PackageRequest, build_package

    report_hook = REPO / "hooks" / "rca_report_posttooluse.py"
    run_hook = REPO / "hooks" / "gap_run_check.py"
    session_hook = REPO / "hooks" / "session_start.py"
    other_write = {"hook_event_name": "PostToolUse", "tool_name": "Write", "cwd": "/tmp",
                   "tool_input": {"file_path": "/tmp/src/main.py", "content": "print('hi')\n" * 200}}
    other_bash = {"hook_event_name": "PostToolUse", "tool_name": "Bash", "cwd": "/tmp",
                  "tool_input": {"command": "ls -la"}, "tool_response": {"stdout": "x\n" * 500, "stderr": ""}}
    rows = [("python startup (baseline)", median_ms(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), args.runs)),
            ("report hook, non-matching Write", median_ms(hook_call(report_hook, other_write), args.runs)),
            ("run hook, non-matching Bash", median_ms(hook_call(run_hook, other_bash), args.runs)),
            ("session-start hook (bank OK, tao-skills importable)",
             median_ms(hook_call(session_hook, {"hook_event_name": "SessionStart", "source": "startup"}), args.runs))]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        out = build_results_dir(root, images=10)
        project = build_project(root)
        request = PackageRequest(out, project, root / "session.jsonl", hook_bank_root=REPO)
        rows.append(("package 10-image run (in-process)", median_ms(lambda: build_package(request), args.runs)))
        write = {"hook_event_name": "PostToolUse", "tool_name": "Write", "cwd": str(project),
                 "transcript_path": str(root / "session.jsonl"),
                 "tool_input": {"file_path": str(out / "RCA_Report.md"), "content": "..."}}
        rows.append(("report hook: check + package 10-image run", median_ms(hook_call(report_hook, write), max(5, args.runs // 3))))
    from tao_skill_bank.rca_hooks.redact import redact_text
    line = json.dumps({"type": "assistant", "message": {"content": [{"type": "tool_use", "input": {"command": "ls -la " + "x" * 200}},
                       {"type": "text", "text": "The threshold is 0.43. " * 40}]}, "usage": {"input_tokens": 1234}})
    transcript = "\n".join([line] * 20000)
    rows.append((f"redact a {len(transcript) / 1e6:.0f} MB transcript", median_ms(lambda: redact_text(transcript), 3)))
    width = max(len(name) for name, _ in rows)
    for name, ms in rows:
        print(f"{name:<{width}}  median {ms:8.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""PostToolUse hook (Write|Edit|MultiEdit, Codex apply_patch): when RCA_Report.md is written in a
gap-analysis results folder, check the report and package OUT/rca_config/ with its provenance.

Thin and stdlib-only: RCA_HOOKS=0 disables it; a payload that does not mention RCA_Report.md
exits at once; the logic lives in tao_skill_bank.rca_hooks (see _rca_hook_runner.py).
"""
import sys

from _rca_hook_runner import run


def wants(raw: bytes) -> bool:
    return b"RCA_Report.md" in raw


if __name__ == "__main__":
    sys.exit(run("report_hook", wants))

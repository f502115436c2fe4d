#!/usr/bin/env python3
"""PostToolUse / PostToolUseFailure hook (Bash): after a gap-analysis run (`tao-skills gaps run`,
`tao-skills gap_analysis vcn_aoi`, `python3 scripts/tao_skills.py gaps run`, or `docker run
<data-services image> gap_analysis vcn_aoi`), tell the model the fix for known failures, or the
next step on success.

Thin and stdlib-only: RCA_HOOKS=0 disables it; other commands exit at once; the logic lives in
tao_skill_bank.rca_hooks (see _rca_hook_runner.py).
"""
import sys

from _rca_hook_runner import run

# `gaps run` may be split by spaces, JSON-escaped newlines or backslash continuations.
QUICK_PATTERN = rb"gap_analysis|gaps(?:\s|\\n|\\\\)+run"


def wants(raw: bytes) -> bool:
    if b"gap_analysis" not in raw and b"gaps" not in raw:
        return False  # most commands: decided without even importing re
    import re
    return re.search(QUICK_PATTERN, raw) is not None


if __name__ == "__main__":
    sys.exit(run("run_hook", wants))

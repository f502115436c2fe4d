#!/usr/bin/env python3
"""PostToolUse / PostToolUseFailure hook (Bash): after a gap-analysis run (`tao-skills gaps run`,
`tao-skills gap_analysis vcn_aoi`, `python3 scripts/tao_skills.py gaps run`, or `docker run
<data-services image> gap_analysis vcn_aoi`), tell the model the fix for known failures, or the
next step on success.

Thin and stdlib-only: RCA_HOOKS=0 disables it; any other command exits at once after one regex;
the logic lives in tao_skill_bank.rca_hooks. Any internal error exits 0 (debug log only).
"""
import os
import re
import sys

HOOK_DIR = os.path.dirname(os.path.abspath(__file__))
QUICK_RE = re.compile(rb"gap_analysis|gaps(?:\s|\\\\n|\\\\)+run")


def _import_entry():
    try:
        from tao_skill_bank.rca_hooks import entry
    except ImportError:
        for candidate in (os.path.join(HOOK_DIR, os.pardir, "src"), os.path.join(HOOK_DIR, os.pardir, os.pardir, os.pardir)):
            if os.path.isfile(os.path.join(candidate, "tao_skill_bank", "rca_hooks", "entry.py")):
                sys.path.insert(0, os.path.abspath(candidate))
                break
        from tao_skill_bank.rca_hooks import entry
    return entry


def main() -> int:
    if os.environ.get("RCA_HOOKS", "").strip() == "0":
        return 0
    raw = sys.stdin.buffer.read()
    if not QUICK_RE.search(raw):
        return 0
    try:
        from pathlib import Path
        output = _import_entry().run_hook(raw, hook_bank_root=Path(HOOK_DIR).parent)
        if output:
            import json
            sys.stdout.write(json.dumps(output, ensure_ascii=False) + "\n")
    except BaseException as exc:  # a hook must never break the agent's tool call
        sys.stderr.write(f"gap_run_check: skipped ({type(exc).__name__}: {exc})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""PostToolUse hook (Write|Edit|MultiEdit, Codex apply_patch): when RCA_Report.md is written in a
gap-analysis results folder, check the report and package OUT/rca_config/ with its provenance.

Thin and stdlib-only: RCA_HOOKS=0 disables it; a payload that does not mention RCA_Report.md
exits at once; the logic lives in tao_skill_bank.rca_hooks (imported from the installed package,
else from the checkout's src/ next to this folder). Never fails the tool call: any internal
error exits 0 with one line on stderr (debug log only).
"""
import os
import sys

HOOK_DIR = os.path.dirname(os.path.abspath(__file__))


def _import_entry():
    try:
        from tao_skill_bank.rca_hooks import entry
    except ImportError:
        # Checkout (<root>/hooks next to <root>/src) or installed copy (<pkg>/_bank/hooks).
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
    if b"RCA_Report.md" not in raw:
        return 0
    try:
        from pathlib import Path
        output = _import_entry().report_hook(raw, hook_bank_root=Path(HOOK_DIR).parent)
        if output:
            import json
            sys.stdout.write(json.dumps(output, ensure_ascii=False) + "\n")
    except BaseException as exc:  # a hook must never break the agent's tool call
        sys.stderr.write(f"rca_report_posttooluse: skipped ({type(exc).__name__}: {exc})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

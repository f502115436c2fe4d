"""Shared body of the RCA hook scripts (stdlib only; imported from the script's own folder).

`run(handler_name, wants)` honours RCA_HOOKS=0, reads stdin, lets `wants(raw)` decide without
parsing, then calls `tao_skill_bank.rca_hooks.entry.<handler_name>` (the package next to this
folder: a checkout's or plugin's src/, or the installed wheel; else any importable copy) and
prints its JSON. It always returns 0: a hook must never break the agent's tool call.
"""
import os
import sys

HOOK_DIR = os.path.dirname(os.path.abspath(__file__))


def _import_entry():
    # The package shipped with these scripts first, so a plugin update never runs against an older
    # pip-installed copy: checkout or plugin (<root>/hooks next to <root>/src), or the installed
    # wheel's own bank (<site>/tao_skill_bank/_bank/hooks). Else whatever python3 can import.
    for candidate in (os.path.join(HOOK_DIR, os.pardir, "src"), os.path.join(HOOK_DIR, os.pardir, os.pardir, os.pardir)):
        if os.path.isfile(os.path.join(candidate, "tao_skill_bank", "rca_hooks", "entry.py")):
            sys.path.insert(0, os.path.abspath(candidate))
            break
    from tao_skill_bank.rca_hooks import entry
    return entry


def run(handler_name: str, wants) -> int:
    if os.environ.get("RCA_HOOKS", "").strip() == "0":
        return 0
    try:
        raw = sys.stdin.buffer.read()
        if not wants(raw):
            return 0
        from pathlib import Path
        output = getattr(_import_entry(), handler_name)(raw, hook_bank_root=Path(HOOK_DIR).parent)
        if output:
            import json
            # ASCII: a path that is not UTF-8 (a lone surrogate in Python) cannot break the write.
            sys.stdout.write(json.dumps(output) + "\n")
    except BaseException as exc:
        sys.stderr.write(f"{handler_name}: skipped ({type(exc).__name__}: {exc})\n")
    return 0

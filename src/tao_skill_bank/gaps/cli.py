"""`tao-skills gaps ...`: the agent-facing steps of the gap analysis skill.

run -> summary -> spotcheck -> report, plus example (a demo experiment) and the RCA hook
commands (package, check) that live in `rca_hooks`. Subcommand modules keep pandas/PIL/jinja2
imports inside their handlers, so registering them costs nothing.
"""

from __future__ import annotations

from tao_skill_bank.output import add_group

GAPS_SUBCOMMAND_MODULES: list[str] = [
    "tao_skill_bank.gaps.run",          # gaps run
    "tao_skill_bank.gaps.summary",      # gaps summary
    "tao_skill_bank.gaps.spotcheck",    # gaps spotcheck
    "tao_skill_bank.gaps.report",       # gaps report
    "tao_skill_bank.gaps.example",      # gaps example
    "tao_skill_bank.rca_hooks.cli",     # gaps package | check (engineer D's hooks, stdlib only)
]


def register(subparsers) -> None:
    from tao_skill_bank.cli import _load_command_module

    sub = add_group(subparsers, "gaps", "gap analysis of a VCN classify experiment: run, summary, "
                                        "spotcheck, report, example, package, check")
    for module_name in GAPS_SUBCOMMAND_MODULES:
        module = _load_command_module(module_name)  # None only while a module is not in this build
        if module is not None:
            module.register(sub)

"""`tao-skills gaps ...`: the agent-facing steps of the gap analysis skill.

run -> summary -> spotcheck -> report, plus example (a demo experiment) and the RCA hook
commands (package, check) that live in `rca_hooks`. Subcommand modules keep pandas/PIL/jinja2
imports inside their handlers, so registering them costs nothing.
"""

from __future__ import annotations

from tao_skill_bank.output import add_group

GAPS_SUBCOMMAND_MODULES: list[str] = [
    "tao_skill_bank.gaps.run_cli",          # gaps run
    "tao_skill_bank.gaps.summary_cli",      # gaps summary
    "tao_skill_bank.gaps.spotcheck_cli",    # gaps spotcheck
    "tao_skill_bank.gaps.report_cli",       # gaps report
    "tao_skill_bank.gaps.example_cli",      # gaps example
    "tao_skill_bank.gaps.complete_cli",     # gaps complete (a container run by hand)
    "tao_skill_bank.rca_hooks.rca_cli",  # gaps package | check (stdlib only)
]


def register(subparsers) -> None:
    import importlib

    sub = add_group(subparsers, "gaps", "gap analysis of a VCN classify experiment: run, summary, "
                                        "spotcheck, report, example, package, check")
    for module_name in GAPS_SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(sub)

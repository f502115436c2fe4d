"""`tao-skills bank validate [ROOT] [--json]`."""

from __future__ import annotations

from tao_skill_bank.output import add_group, add_json_flag, emit


def register(subparsers) -> None:
    sub = add_group(subparsers, "bank", "check the skill bank itself")
    validate = sub.add_parser(
        "validate", help="check skills, links, schemas/templates, hooks, evals and versions (exit 3 on errors)",
        description="Validate a skill bank: SKILL.md frontmatter (Agent Skills spec), relative links, "
                    "schemas vs spec templates and manifest, JSON/YAML parsing, skill_info.yaml, "
                    "hooks/hooks.json, evals/evals.json, versions drift. Exit 0 clean, 3 on errors.")
    validate.add_argument("root", nargs="?", metavar="ROOT",
                          help="bank root (default: --bank, $TAO_SKILL_BANK_PATH, else the shipped bank)")
    add_json_flag(validate)
    validate.set_defaults(func=_validate)


def _validate(args) -> int:
    from tao_skill_bank.bank import find_bank_root
    from tao_skill_bank.errors import EXIT_FINDINGS
    from tao_skill_bank.validate import summarize, validate_bank

    root = find_bank_root(args.root or args.bank)
    findings = validate_bank(root)
    report = summarize(findings)
    lines = [f.one_line() for f in findings]
    lines.append(f"bank validate: {'OK' if report['ok'] else 'FAILED'} — {report['errors']} error(s), "
                 f"{report['warnings']} warning(s) in {root}")
    emit(args, {**report, "root": str(root)}, "\n".join(lines))
    return 0 if report["ok"] else EXIT_FINDINGS

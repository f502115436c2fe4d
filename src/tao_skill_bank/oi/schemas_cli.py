"""`tao-skills schemas regenerate`: rebuild the generated schemas, templates and manifests from
the public nvidia-tao-core wheel (maintainers), or `--check` that they are current (CI)."""

from __future__ import annotations

from tao_skill_bank.output import add_group, add_json_flag, emit


def register(subparsers) -> None:
    group = add_group(subparsers, "schemas", "generated TAO schemas and spec templates (maintainers)")
    parser = group.add_parser(
        "regenerate", help="regenerate schemas/<action>.schema.json, manifest.json and spec templates",
        description="Build an isolated env with nvidia-tao-core (version from versions.yaml), run its "
                    "schema generator for each packaged optical inspection action and write the TAO-format "
                    "schemas, schemas/manifest.json and references/spec_template_*.yaml (override table: "
                    "docs/schemas.md). Deterministic: a rerun is byte-identical. Exit 3 with --check on drift.")
    parser.add_argument("--skill", metavar="NAME", help="only this skill (default: every skill with generated files)")
    parser.add_argument("--check", action="store_true",
                        help="regenerate into a temp folder and fail (exit 3) naming each file that differs")
    add_json_flag(parser)
    parser.set_defaults(func=_regenerate)


def _regenerate(args) -> int:
    from tao_skill_bank.bank import find_bank_root
    from tao_skill_bank.errors import EXIT_FINDINGS, UserError
    from tao_skill_bank.oi import regenerate

    bank_root = find_bank_root(args.bank)
    if args.check:
        result = regenerate.check(bank_root, args.skill)
        if result.drifted and not args.json:
            raise UserError(f"{len(result.drifted)} generated file(s) differ from a fresh regeneration: "
                            f"{', '.join(result.drifted)}", file=str(bank_root),
                            fix="run `tao-skills schemas regenerate` and commit the result", exit_code=EXIT_FINDINGS)
        emit(args, {"check": True, **result.as_dict()},
             f"up to date: {len(result.unchanged)} generated file(s)")
        return EXIT_FINDINGS if result.drifted else 0
    result = regenerate.regenerate(bank_root, args.skill)
    lines = [f"wrote {rel}" for rel in result.written] + [f"unchanged: {len(result.unchanged)} file(s)"]
    emit(args, {"check": False, **result.as_dict()}, "\n".join(lines))
    return 0

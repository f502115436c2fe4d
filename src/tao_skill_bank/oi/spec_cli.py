"""`tao-skills spec validate|build`: check a TAO spec against the skill's schema and rules, or
build a runnable one from the skill's template, the data splits and `--set` overrides."""

from __future__ import annotations

import argparse
from pathlib import Path

from tao_skill_bank.output import add_group, add_json_flag, emit

DATA_FLAGS = (
    ("--train-data", "train_data", "training split: extracted folder or URI (s3://...)"),
    ("--eval-data", "eval_data", "evaluation split (train: validation + test; evaluate: test)"),
    ("--infer-data", "infer_data", "inference split"),
    ("--calibration-data", "calibration_data", "int8 calibration images (deploy gen_trt_engine)"),
)


def register(subparsers) -> None:
    group = add_group(subparsers, "spec", "build and validate TAO specs for a train/deploy skill")

    validate = group.add_parser(
        "validate", help="check a spec against the skill's schema and rules",
        description="Validate SPEC.yaml against the skill's schema for ACTION (translated to JSON Schema "
                    "2020-12) and its semantic rules. Every problem is printed as `dotted.path: expected X, "
                    "got Y — why/fix`. Exit 0 valid, 3 issues found, 1 bad input.")
    validate.add_argument("spec", metavar="SPEC.yaml")
    _skill_action_args(validate)
    validate.add_argument("--mode", choices=("template", "submit"), default="submit",
                          help="template: the `???` placeholder is allowed; submit (default): it is not")
    add_json_flag(validate)
    validate.set_defaults(func=_validate)

    build = group.add_parser(
        "build", help="build a validated spec from the template, data splits and overrides",
        description="Start from the skill's spec template, fill the action's mandatory data sources "
                    "(images_dir + csv_path per split), apply --set overrides (values parsed as YAML), "
                    "fill platform parameters from --parent-job/--job-dir, drop placeholders the action "
                    "never reads, validate in submit mode and write -o atomically.",
        epilog="example: tao-skills spec build --skill tao-train-optical-inspection --action train "
               "--train-data /ws/data/train --eval-data /ws/data/val --set train.num_epochs=30 -o /ws/specs/train.yaml")
    _skill_action_args(build)
    for flag, dest, text in DATA_FLAGS:
        build.add_argument(flag, dest=dest, metavar="DIR|URI", help=text)
    build.add_argument("--parent-job", type=Path, metavar="DIR",
                       help="results folder of the job this one builds on (checkpoint, onnx, engine)")
    build.add_argument("--job-dir", type=Path, metavar="DIR",
                       help="this job's results folder (results_dir, output file names, resume)")
    build.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="dotted override, repeatable, e.g. --set dataset.batch_size=2")
    build.add_argument("-o", "--output", required=True, type=Path, metavar="SPEC.yaml", help="where to write the spec")
    build.add_argument("--force", action="store_true", help="replace an existing -o file")
    add_json_flag(build)
    build.set_defaults(func=_build)


def _skill_action_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--skill", required=True, metavar="NAME",
                        help="skill name in the bank (or a path to a skill folder)")
    parser.add_argument("--action", required=True, metavar="A", help="action in references/skill_info.yaml")


def _validate(args) -> int:
    from tao_skill_bank.errors import EXIT_FINDINGS
    from tao_skill_bank.oi.skillinfo import load_skill_info, resolve_skill_dir
    from tao_skill_bank.oi.spec import validate_spec
    from tao_skill_bank.oi.specdoc import load_yaml_file

    skill_dir = resolve_skill_dir(args.skill, args.bank)
    load_skill_info(skill_dir).action(args.action)  # a wrong skill/action is reported before the spec
    spec = load_yaml_file(args.spec)
    issues = validate_spec(spec, skill_dir, args.action, mode=args.mode)
    data = {"file": str(args.spec), "skill": skill_dir.name, "action": args.action, "mode": args.mode,
            "valid": not issues, "issues": [i.as_dict() for i in issues]}
    text = "\n".join(i.line() for i in issues) + f"\n{args.spec}: {len(issues)} issue(s)" if issues \
        else f"{args.spec}: valid for {skill_dir.name} {args.action} ({args.mode} mode)"
    emit(args, data, text)
    return EXIT_FINDINGS if issues else 0


def render_spec(spec: dict, skill: str, action: str) -> str:
    """The text `spec build` writes: a header, then YAML the container reads back unchanged."""
    from tao_skill_bank.oi.specdoc import dump_spec

    header = f"# Built by `tao-skills spec build --skill {skill} --action {action}`; validated (submit mode).\n"
    return header + dump_spec(spec)


def _build(args) -> int:
    from tao_skill_bank.errors import UserError
    from tao_skill_bank.fsutil import atomic_write_text
    from tao_skill_bank.oi.skillinfo import resolve_skill_dir
    from tao_skill_bank.oi.spec import build_spec_report
    from tao_skill_bank.oi.specdoc import SpecInvalid, parse_set_values

    output = args.output
    if output.exists() and not args.force:
        raise UserError("output file already exists; refusing to overwrite it", file=str(output),
                        field="-o", fix="choose a new -o path or add --force")
    skill_dir = resolve_skill_dir(args.skill, args.bank)
    data = {dest: getattr(args, dest) for _, dest, _ in DATA_FLAGS if getattr(args, dest)}
    try:
        build = build_spec_report(skill_dir, args.action, data=data, overrides=parse_set_values(args.overrides),
                                  parent_job=args.parent_job, job_dir=args.job_dir)
    except SpecInvalid as err:
        err.file = f"{output} (not written)"
        raise
    atomic_write_text(output, render_spec(build.spec, skill_dir.name, args.action))
    result = {"spec": str(output), "skill": skill_dir.name, "action": args.action, "valid": True,
              "data": build.data, "overrides": build.overrides, "params": build.params, "pruned": build.pruned}
    filled = [f"  {k} = {v}" for k, v in {**build.data, **build.overrides, **build.params}.items()]
    emit(args, result, "\n".join([f"wrote {output} ({skill_dir.name} {args.action}, valid)", *filled]))
    return 0

"""`tao-skills dataset check SPLIT_DIR`: find images_dir, check dataset.csv and the image files."""

from __future__ import annotations

from tao_skill_bank.output import add_group, add_json_flag, emit


def register(subparsers) -> None:
    sub = add_group(subparsers, "dataset", "check optical-inspection dataset splits")
    check = sub.add_parser(
        "check", help="find the right images_dir, check dataset.csv and every implied image (exit 3 on missing files)",
        description="SPLIT_DIR holds dataset.csv and the extracted images.tar.gz. Prints the spec values "
                    "to use (images_dir handles the images/images wrapper, csv_path). Lightings come from "
                    "--lightings, else --spec's dataset.input_map, else the files next to the first rows.")
    check.add_argument("split_dir", metavar="SPLIT_DIR")
    check.add_argument("--lightings", metavar="A,B,..", help="lighting names in input_map order")
    check.add_argument("--spec", "--train-config", dest="spec", metavar="FILE",
                       help="spec or train config whose dataset.input_map / image_ext to use")
    check.add_argument("--image-ext", metavar=".png", help="image extension with its dot")
    add_json_flag(check)
    check.set_defaults(func=_check)


def _check(args) -> int:
    from pathlib import Path

    from tao_skill_bank.errors import EXIT_FINDINGS
    from tao_skill_bank.oi.datasets import check_split

    lightings = [l.strip() for l in args.lightings.split(",") if l.strip()] if args.lightings else None
    report = check_split(args.split_dir, lightings=lightings, image_ext=args.image_ext,
                         spec_path=Path(args.spec) if args.spec else None)
    lines = [f"images_dir: {report.images_dir}", f"csv_path: {report.csv_path}",
             f"rows: {report.rows} labels: {', '.join(f'{k}={v}' for k, v in report.labels.items())}",
             f"lightings ({report.lightings_source}): {', '.join(report.lightings)}; "
             f"image_ext ({report.image_ext_source}): {report.image_ext}",
             f"images: {report.expected_files - report.missing_files}/{report.expected_files} present"]
    lines += [f"problem: {p}" for p in report.problems]
    lines += [f"missing: {m}" for m in report.missing_examples]
    lines.append("OK: use images_dir and csv_path above in the spec" if report.ok else
                 "FAIL: fix the files above (re-extract the tarball, or correct --lightings/--image-ext)")
    emit(args, report.as_dict(), "\n".join(lines))
    return 0 if report.ok else EXIT_FINDINGS

"""`tao-skills dataset check SPLIT_DIR`: find images_dir, then read the split as TAO's loader will."""

from __future__ import annotations

from tao_skill_bank.output import add_group, add_json_flag, emit

ACTION_HELP = ("train = the train split of a train job (needs PASS and defect rows, a batch of rows); "
               "validation = its eval split; evaluate; inference")


def register(subparsers) -> None:
    sub = add_group(subparsers, "dataset", "check optical-inspection dataset splits")
    check = sub.add_parser(
        "check", help="find images_dir and check the split as TAO's loader reads it (exit 3 on errors)",
        description="SPLIT_DIR holds dataset.csv and the extracted images.tar.gz. Prints the spec values "
                    "(images_dir = the folder holding every folder the CSV names, e.g. images/images; "
                    "csv_path), then reads the CSV with pandas exactly as the PyTorch loader (or, with "
                    "--loader deploy, TAO Deploy) does: paths joined as written, case-sensitive PASS, every "
                    "image for every lighting. Lightings come from --lightings / --no-input-map, else "
                    "--spec's dataset.input_map, else the files next to the first rows.")
    check.add_argument("split_dir", metavar="SPLIT_DIR")
    check.add_argument("--action", choices=("train", "validation", "evaluate", "inference"), help=ACTION_HELP)
    check.add_argument("--loader", choices=("pytorch", "deploy"), default="pytorch",
                       help="which container reads the split: pytorch (train/evaluate/inference, default) or "
                            "deploy (TensorRT evaluate/inference); the other loader's problems are warnings")
    lights = check.add_mutually_exclusive_group()
    lights.add_argument("--lightings", metavar="A,B,..", help="lighting names in input_map order")
    lights.add_argument("--no-input-map", action="store_true",
                        help="dataset.input_map is null: one image per row, no _<lighting> suffix")
    check.add_argument("--spec", "--train-config", dest="spec", metavar="FILE",
                       help="spec or train config whose dataset.input_map / image_ext / batch_size to use")
    check.add_argument("--image-ext", metavar=".png", help="image extension with its dot")
    check.add_argument("--batch-size", type=int, metavar="N",
                       help="dataset.batch_size (default: --spec's, else the train template's 8 when --action is set)")
    check.add_argument("--num-gpus", type=int, metavar="N", help="train.num_gpus (default: --spec's, else 1)")
    check.add_argument("--images-dir", metavar="DIR", help="use this images_dir instead of finding it")
    check.add_argument("--image-sample", type=int, default=256, metavar="N",
                       help="image headers to open (mode check); 0 = every image (default 256)")
    add_json_flag(check)
    check.set_defaults(func=_check)


def _check(args) -> int:
    from pathlib import Path

    from tao_skill_bank.errors import EXIT_FINDINGS
    from tao_skill_bank.oi.datasets import check_split

    if args.no_input_map:
        lightings = []
    else:
        lightings = [l.strip() for l in args.lightings.split(",") if l.strip()] if args.lightings else None
    report = check_split(args.split_dir, lightings=lightings, image_ext=args.image_ext,
                         spec_path=Path(args.spec) if args.spec else None, action=args.action, loader=args.loader,
                         batch_size=args.batch_size, num_gpus=args.num_gpus, images_dir=args.images_dir,
                         image_sample=max(0, args.image_sample))
    labels = ", ".join(f"{k or '<empty>'}={v}" for k, v in report.labels.items())
    lines = [f"images_dir: {report.images_dir}", f"csv_path: {report.csv_path}",
             f"rows: {report.rows} (PASS {report.pass_rows}, defect {report.defect_rows}) labels: {labels}",
             f"lightings ({report.lightings_source}): {', '.join(report.lightings) or 'none (input_map null)'}; "
             f"image_ext ({report.image_ext_source}): {report.image_ext}",
             f"images: {report.expected_files - report.missing_files}/{report.expected_files} present; "
             f"headers checked: {report.images_checked} {report.image_modes}",
             f"loader: {report.loader}, action: {report.action or 'any'}, batch: "
             f"{report.batch_size if report.batch_size is not None else '-'} x {report.num_gpus} GPU(s)"]
    lines += [f.one_line() for f in report.findings]
    lines += [f"missing: {m}" for m in report.missing_examples]
    lines.append("OK: use images_dir and csv_path above in the spec" if report.ok else
                 "FAIL: fix the errors above, then rerun this check")
    emit(args, report.as_dict(), "\n".join(lines))
    return 0 if report.ok else EXIT_FINDINGS

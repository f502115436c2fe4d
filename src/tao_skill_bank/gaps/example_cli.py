"""`tao-skills gaps example DIR`: argparse wiring for gaps/example.py."""

from __future__ import annotations

from pathlib import Path

from tao_skill_bank.gaps.example import ExampleConfig, IMAGE_EXT, LIGHTINGS, create_example
from tao_skill_bank.output import add_json_flag, emit


def register(sub) -> None:
    p = sub.add_parser("example", help="write a small realistic VCN experiment (CSV, train.yaml, images) to try the skill on",
                       description="Write DIR/inference/latest/inference.csv (2,000 samples), DIR/train.yaml and "
                                   "DIR/images/ (one PNG per sample x lighting). Refuses a non-empty DIR.")
    p.add_argument("dir", metavar="DIR", help="new or empty folder")
    p.add_argument("--seed", type=int, default=ExampleConfig.seed, help="random seed (default %(default)s)")
    add_json_flag(p)
    p.set_defaults(func=_handle)


def _handle(args) -> int:
    summary = create_example(Path(args.dir), ExampleConfig(seed=args.seed))
    labels = ", ".join(f"{k} {v}" for k, v in summary["labels"].items())
    text = (f"example experiment: {summary['exp_dir']}\n"
            f"  inference.csv: {summary['n_samples']} samples ({labels})\n"
            f"  train.yaml: 4 lightings ({', '.join(LIGHTINGS)}), image_ext {IMAGE_EXT}\n"
            f"  images: {summary['n_images']} PNGs under {summary['dataset_root']}\n"
            f"next: {summary['next']}")
    emit(args, summary, text)
    return 0

"""`tao-skills gaps run`: argparse wiring for gaps/run.py."""

from __future__ import annotations

import sys

from tao_skill_bank.gaps import ENGINES
from tao_skill_bank.gaps.run import RunRequest, run, run_text
from tao_skill_bank.output import add_json_flag, emit


def register(sub) -> None:
    p = sub.add_parser("run", help="run the whole gap analysis into a new EXP/rca_results/<timestamp>/",
                       description="Find inference.csv and the train YAML, check image paths, create a new "
                                   "timestamped results folder, write the spec, run the engine, draw the score "
                                   "plot and print the sanity summary. Last line: results_dir: <path> "
                                   "(with --dry-run: would_write: <path>, a folder not created). "
                                   "Exit 4 = KPI unreachable (folder still written).")
    p.add_argument("--exp-dir", required=True, metavar="EXP", help="experiment folder (inference/, train.yaml)")
    p.add_argument("--dataset-root", required=True, metavar="ROOT", help="image root input_path is relative to")
    p.add_argument("--inference-dir", metavar="DIR", help="folder holding inference.csv (default: found under EXP/inference/)")
    p.add_argument("--train-config", metavar="FILE", help="VCN train YAML (default: EXP/train.yaml)")
    p.add_argument("--min-recall", type=float, metavar="R", help="NO_PASS recall target in [0, 1] (default 1.0)")
    p.add_argument("--top-k", type=int, metavar="K", help="weakest samples kept per label (default 50)")
    p.add_argument("--threshold", type=float, metavar="T", help="pin the threshold instead of sweeping")
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="auto = container when Docker, GPU and image are present, else local (default)")
    p.add_argument("--workspace", metavar="W", help="folder mounted into the container (docker engine)")
    p.add_argument("--out", metavar="DIR", help="custom results folder (new or empty) instead of EXP/rca_results/<timestamp>")
    p.add_argument("--dry-run", action="store_true", help="check inputs and print the plan and command; write nothing")
    add_json_flag(p)
    p.set_defaults(func=_handle)


def _handle(args) -> int:
    req = RunRequest(exp_dir=args.exp_dir, dataset_root=args.dataset_root, inference_dir=args.inference_dir,
                     train_config=args.train_config, min_recall=args.min_recall, top_k=args.top_k,
                     threshold=args.threshold, engine=args.engine, out=args.out, workspace=args.workspace,
                     dry_run=args.dry_run)
    facts = run(req, bank=args.bank)
    emit(args, facts, run_text(facts))
    sys.stdout.flush()
    return int(facts.get("exit_code") or 0)

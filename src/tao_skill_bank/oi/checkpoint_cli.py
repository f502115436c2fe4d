"""`tao-skills checkpoint resolve RESULTS_DIR --select latest|best|epoch=N|step=N`."""

from __future__ import annotations

from tao_skill_bank.output import add_group, add_json_flag, emit


def register(subparsers) -> None:
    sub = add_group(subparsers, "checkpoint", "choose a checkpoint from a train or AutoML results folder")
    resolve = sub.add_parser(
        "resolve", help="print the one checkpoint the selection names (exit 1 when absent or ambiguous)",
        description="Searches RESULTS_DIR recursively (AutoML child folders too) for "
                    "model_epoch_<E>_step_<S>.pth and model_best_*.pth. 'latest' only when the user asked "
                    "for the latest; 'best' uses model_best_* or the AutoML summary; ambiguity is an error.")
    resolve.add_argument("results_dir", metavar="RESULTS_DIR")
    resolve.add_argument("--select", required=True, help="latest | best | epoch=N | step=N")
    add_json_flag(resolve)
    resolve.set_defaults(func=_resolve)


def _resolve(args) -> int:
    from pathlib import Path

    from tao_skill_bank.oi.checkpoints import checkpoint_record

    record = checkpoint_record(Path(args.results_dir), args.select)
    emit(args, record, record["checkpoint"])
    return 0

"""`tao-skills checkpoint resolve RESULTS_DIR --select latest|best|epoch=N|step=N`."""

from __future__ import annotations

from tao_skill_bank.output import add_group, add_json_flag, emit


def register(subparsers) -> None:
    sub = add_group(subparsers, "checkpoint", "choose a checkpoint from a train or AutoML results folder")
    resolve = sub.add_parser(
        "resolve", help="print the one checkpoint the selection names (exit 1 when absent or ambiguous)",
        description="Searches RESULTS_DIR (a train job folder) recursively for model_epoch_<E>_step_<S>.pth "
                    "and model_best_*.pth. 'latest' only when the user asked for the latest; 'best' is the "
                    "model_best_* file. For an AutoML workspace (the runner's run_<ts>/.automl/ state) 'best' "
                    "is the winning trial's checkpoint: .automl/best_rec -> job_id -> <results>/<job_id>/. "
                    "Ambiguity, a run still going or a pruned winner is an error.")
    resolve.add_argument("results_dir", metavar="RESULTS_DIR")
    resolve.add_argument("--select", required=True, help="latest | best | epoch=N | step=N")
    resolve.add_argument("--results-root", metavar="DIR",
                         help="AutoML only: folder holding one <job_id>/ per trial (default: the plan's /results mount)")
    add_json_flag(resolve)
    resolve.set_defaults(func=_resolve)


def _resolve(args) -> int:
    from pathlib import Path

    from tao_skill_bank.oi import automl_state
    from tao_skill_bank.oi.checkpoints import checkpoint_record

    results_dir = Path(args.results_dir)
    if automl_state.is_automl_workspace(results_dir):   # the AutoML runner's state: the winning trial
        record = automl_state.checkpoint_record(results_dir, args.select, results_root=args.results_root)
    else:
        record = checkpoint_record(results_dir, args.select)
    emit(args, record, record["checkpoint"])
    return 0

"""`tao-skills gap_analysis vcn_aoi`: the data-services container's command, runnable anywhere.

Same shape as the container entrypoint (`gap_analysis vcn_aoi [-e SPEC] key=value ...`), so an
agent writes one line and picks where it runs with --engine.
"""

from __future__ import annotations

from tao_skill_bank.gaps import ENGINES
from tao_skill_bank.output import add_group, add_json_flag, emit

KEYS_HELP = ("keys (container names and defaults): inference_results_dir=DIR (holds inference.csv) "
             "train_config=TRAIN.yaml results_dir=OUT kpi_media_path='' threshold=-1.0 (<0: sweep) "
             "min_recall=1.0 top_k_per_label=50. Exit codes: 0 ok, 1 bad input, 2 environment, "
             "4 KPI unreachable (unreachable_kpi.txt written, no parquet).")


def register(subparsers) -> None:
    sub = add_group(subparsers, "gap_analysis", "container-compatible gap analysis (same keys as the "
                                                "data-services image)")
    vcn = sub.add_parser("vcn_aoi", help="threshold sweep, weakness, top-K per label, per-lighting parquet",
                         description="Gap analysis of a VCN classify inference.csv. " + KEYS_HELP)
    vcn.add_argument("-e", "--experiment_spec_file", metavar="SPEC.yaml",
                     help="spec YAML with the keys below; key=value overrides win")
    vcn.add_argument("--engine", choices=ENGINES, default="auto",
                     help="auto (default): docker when daemon, GPU and image are present, else local")
    vcn.add_argument("--workspace", metavar="DIR",
                     help="docker engine: folder mounted as -v DIR:DIR (default: common parent of all paths)")
    vcn.add_argument("--dry-run", action="store_true",
                     help="validate inputs and print the exact command; write nothing, run no container")
    add_json_flag(vcn)
    vcn.add_argument("overrides", nargs="*", metavar="key=value")
    vcn.set_defaults(func=_vcn_aoi)


def _vcn_aoi(args) -> int:
    import shlex
    from pathlib import Path

    from tao_skill_bank.gaps.config import load_config
    from tao_skill_bank.gaps.backends import run_gap_analysis
    from tao_skill_bank.gaps.contract import UNREACHABLE

    config = load_config(args.experiment_spec_file, args.overrides)
    outcome = run_gap_analysis(config, engine=args.engine,
                               workspace=Path(args.workspace) if args.workspace else None,
                               dry_run=args.dry_run, bank=Path(args.bank) if args.bank else None)
    lines = [f"engine: {outcome.engine} ({outcome.reason})"]
    if outcome.command:
        lines.append(("would run: " if outcome.dry_run else "ran: ") + shlex.join(outcome.command))
    result = outcome.result
    if outcome.dry_run:
        lines.append("dry run: inputs valid, nothing written" +
                     (" (KPI would be unreachable)" if outcome.unreachable else ""))
    elif result is not None and result.unreachable:
        lines.append(result.unreachable_text.rstrip("\n"))
        lines.append(f"KPI UNREACHABLE: see {Path(outcome.results_dir) / UNREACHABLE} (exit 4)")
    elif result is not None:
        m = result.metrics
        if result.score_column != "siamese_score":
            lines.append(f"score column: {result.score_column} (TAO Deploy CSV), reported as siamese_score")
        lines.append(f"threshold: {result.threshold} ({result.threshold_source}; candidates evaluated "
                     f"{m['candidates']['evaluated']}, meeting min_recall={m['min_recall']}: "
                     f"{m['candidates']['meeting_target']})")
        c = m["confusion"]
        lines.append(f"precision={m['precision']:.4f} recall={m['recall']:.4f} f1={m['f1']:.4f} "
                     f"tp={c['tp']} fp={c['fp']} tn={c['tn']} fn={c['fn']}")
        lines.append(f"kpi_gaps.parquet: {m['kept_rows']} rows ({m['kept_samples']} samples x "
                     f"{len(m['lightings'])} lightings)")
        lines.append(result.breakdown.rstrip("\n"))
        lines.append(f"results: {outcome.results_dir}")
    emit(args, outcome.as_dict(), "\n".join(lines))
    return outcome.exit_code

"""`tao-skills gaps complete OUT`: argparse wiring for gaps/complete.py."""

from __future__ import annotations

from tao_skill_bank.output import add_json_flag, emit


def register(sub) -> None:
    p = sub.add_parser("complete", help="finish a results folder a container wrote by hand (metrics, run record, "
                                        "completion marker)",
                       description="Check the container's kpi_gaps.parquet against the inputs, add metrics.json "
                                   "(and threshold.txt / unreachable_kpi.txt) as --engine docker does, write "
                                   "run_record.json and gap_complete.json. Until then summary, spotcheck, report "
                                   "and package refuse the folder. Keys default to OUT/vcn_aoi_spec.yaml.")
    p.add_argument("-e", "--experiment_spec_file", metavar="SPEC.yaml",
                   help="the spec the container ran with (default: OUT/vcn_aoi_spec.yaml)")
    add_json_flag(p)
    # usage: gaps complete [-e SPEC] OUT [key=value ...] (options before OUT when overrides follow)
    p.add_argument("words", nargs="+", metavar="OUT [key=value ...]",
                   help="the results_dir the container wrote into, then the key=value overrides it ran with")
    p.set_defaults(func=_handle)


def _handle(args) -> int:
    from tao_skill_bank.gaps.complete import complete_container_output

    out, *overrides = args.words
    result = complete_container_output(out, args.experiment_spec_file, overrides)
    status = "KPI unreachable" if result["unreachable"] else f"threshold {result.get('threshold')}"
    emit(args, result, f"completed: {status}; wrote {', '.join(result.get('written') or []) or 'nothing missing'}, "
                       f"run_record.json, gap_complete.json\nnext: tao-skills gaps summary {result['results_dir']}\n"
                       f"results_dir: {result['results_dir']}")
    return 0

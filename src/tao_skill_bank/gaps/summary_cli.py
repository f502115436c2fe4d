"""`tao-skills gaps summary OUT`: argparse wiring for gaps/summary.py."""

from __future__ import annotations

from tao_skill_bank.gaps.summary import load_summary, summary_text
from tao_skill_bank.output import add_json_flag, emit


def register(sub) -> None:
    p = sub.add_parser("summary", help="sanity print of a gap results folder (threshold, P/R/F1, parquet rows, labels)",
                       description="Print the threshold, precision/recall/F1, parquet rows/columns and per-label "
                                   "counts of OUT. Works on a bare container output without metrics.json.")
    p.add_argument("out", metavar="OUT", help="results folder (<exp>/rca_results/<timestamp>/)")
    add_json_flag(p)
    p.set_defaults(func=_handle)


def _handle(args) -> int:
    facts = load_summary(args.out)
    emit(args, facts, summary_text(facts))
    return 0

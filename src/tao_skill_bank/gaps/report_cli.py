"""`tao-skills gaps report OUT`: argparse wiring for gaps/report.py."""

from __future__ import annotations

from tao_skill_bank.gaps.report import build_report, report_text
from tao_skill_bank.output import add_json_flag, emit


def register(sub) -> None:
    p = sub.add_parser("report", help="render OUT/RCA_Report.draft.md from the artifacts and spotcheck.json verdicts",
                       description="Render the 7-section gap report (abridged when unreachable_kpi.txt exists) to "
                                   "OUT/RCA_Report.draft.md. Never touches OUT/RCA_Report.md.")
    p.add_argument("out", metavar="OUT", help="results folder (<exp>/rca_results/<timestamp>/)")
    p.add_argument("--experiment-name", metavar="NAME", help="title of the report (default: the experiment folder name)")
    add_json_flag(p)
    p.set_defaults(func=_handle)


def _handle(args) -> int:
    result = build_report(args.out, args.experiment_name, args.bank)
    emit(args, result, report_text(result))
    return 0

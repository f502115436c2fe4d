"""`tao-skills gaps spotcheck OUT`: argparse wiring for gaps/spotcheck.py."""

from __future__ import annotations

from tao_skill_bank.gaps.spotcheck import run_spotcheck, spotcheck_text
from tao_skill_bank.output import add_json_flag, emit


def register(sub) -> None:
    p = sub.add_parser("spotcheck", help="pick the 5 weakest PASS + 5 weakest NO_PASS samples, thumbnail them, write spotcheck.json",
                       description="Select the 10 spot-check samples from OUT/kpi_gaps.parquet, write 128x128 thumbnails "
                                   "to OUT/rca_images/, a contact sheet, and OUT/spotcheck.json with empty verdicts.")
    p.add_argument("out", metavar="OUT", help="results folder (<exp>/rca_results/<timestamp>/)")
    p.add_argument("--force", action="store_true",
                   help="regenerate a spotcheck.json that holds verdicts, keeping those of samples still selected")
    add_json_flag(p)
    p.set_defaults(func=_handle)


def _handle(args) -> int:
    result = run_spotcheck(args.out, force=args.force)
    emit(args, result, spotcheck_text(result))
    return 0

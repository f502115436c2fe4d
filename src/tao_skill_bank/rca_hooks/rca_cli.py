"""`tao-skills gaps package OUT` and `tao-skills gaps check OUT`: the RCA hooks as commands, for
agents without hooks (or to rerun them by hand). Registered on the `gaps` group by gaps/gaps_cli.py."""

from __future__ import annotations

import os
from pathlib import Path

from tao_skill_bank.errors import EXIT_ENVIRONMENT, EXIT_FINDINGS, UserError
from tao_skill_bank.output import add_json_flag, emit


def register(sub) -> None:
    package = sub.add_parser(
        "package", help="write OUT/rca_config/ (skill files, versions, spec, train config, run record, "
                        "redacted settings and transcript) and manifest.json",
        description="Package a gap-analysis results folder with its provenance. Rerunning refreshes the "
                    "package (an rca_config it did not write is never replaced). Secrets in copied files are "
                    "replaced by [REDACTED]; FIFOs, devices, hard-linked files and symlinks leading out are "
                    "skipped, each with its reason in manifest.json.")
    package.add_argument("out", metavar="OUT", help="results folder (…/rca_results/<timestamp>)")
    package.add_argument("--transcript", metavar="PATH", help="session transcript to include (redacted)")
    package.add_argument("--no-transcript", action="store_true",
                         help="leave the session transcript out (the hook: RCA_PACKAGE_TRANSCRIPT=0)")
    add_json_flag(package)
    package.set_defaults(func=_package)

    check = sub.add_parser(
        "check", help="check RCA_Report.md: sections, 1000–1800 words, threshold, label counts, spot check, "
                      "artifacts, and that rca_config/ exists and is current (exit 3 on findings)",
        description="Check OUT/RCA_Report.md against the results folder, and whether OUT/rca_config/ exists and "
                    "matches the current report and inputs (the packaging hook may not have run: some Claude Code "
                    "versions drop plugin PostToolUse hooks). Exit 0 = OK, 3 = findings.")
    check.add_argument("out", metavar="OUT", help="results folder holding RCA_Report.md")
    add_json_flag(check)
    check.set_defaults(func=_check)


def _results_dir(value: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_dir():
        raise UserError("results folder not found", file=str(path), field="OUT",
                        fix="pass the rca_results/<YYYY-MM-DD_HHMMSS> folder of the run", exit_code=EXIT_ENVIRONMENT)
    return path.resolve()


def _refuse_incomplete(out: Path) -> None:
    from tao_skill_bank.gaps import contract

    problem = contract.completion_problem(out)
    if problem:
        raise UserError(f"incomplete results folder: {problem}", file=str(out), field="OUT",
                        fix=contract.incomplete_fix(out))


def _package(args) -> int:
    from tao_skill_bank.rca_hooks.entry import find_project_dir, package_request
    from tao_skill_bank.fsutil import Refused, printable
    from tao_skill_bank.rca_hooks.package import PackagingError, build_package, read_transcript

    from tao_skill_bank.gaps.contract import CLAIM, ENGINE_ARTIFACTS, PACKAGE_DIR, RUN_RECORD, SPEC
    from tao_skill_bank.rca_hooks.package import MANIFEST
    from tao_skill_bank.rca_hooks.payload import looks_like_results_dir

    out = _results_dir(args.out)
    if not looks_like_results_dir(out) and not (out / CLAIM).exists():  # never package an unrelated folder
        raise UserError(f"not a gap analysis results folder (none of {', '.join((*ENGINE_ARTIFACTS, RUN_RECORD, SPEC))})",
                        file=str(out), field="OUT", fix="pass the folder printed as `results_dir:` by `tao-skills gaps run`")
    # Made absolute, not resolved: the same rules as a hook payload's path (never through a symlink).
    transcript = Path(os.path.abspath(os.path.expanduser(args.transcript))) if args.transcript else None
    if transcript is not None and not args.no_transcript:
        try:
            read_transcript(transcript)
        except Refused as why:
            raise UserError(f"transcript {why}", file=printable(str(transcript)), field="--transcript",
                            fix="pass the session's .jsonl transcript (a regular file) or leave --transcript out",
                            exit_code=EXIT_ENVIRONMENT) from None
    _refuse_incomplete(out)
    bank_root = Path(__file__).resolve().parents[3]  # checkout root when run from src/
    request = package_request(out, find_project_dir(Path.cwd(), dict(os.environ)), transcript, dict(os.environ),
                              bank_root if (bank_root / "hooks").is_dir() else None,
                              include_transcript=not args.no_transcript)
    try:
        manifest = build_package(request)
    except PackagingError as exc:
        raise UserError(exc.message, field=PACKAGE_DIR, fix=exc.fix, exit_code=EXIT_ENVIRONMENT) from None
    summary = {"results_dir": str(out), "manifest": str(out / PACKAGE_DIR / MANIFEST),
               "files": len(manifest["files"]), "copied": len(manifest["copied"]),
               "redactions": sum(c["redactions"] for c in manifest["copied"]),
               "skill_source": manifest["skill_source"], "input_csv": manifest["input_csv"],
               "skipped": manifest["skipped"]}
    skill = manifest["skill_source"]["kind"] if manifest["skill_source"] else "not found"
    emit(args, summary, f"packaged {printable(summary['manifest'])}: {summary['files']} files, {summary['copied']} copied "
                        f"({summary['redactions']} secrets redacted), skill from {skill}, "
                        f"{len(summary['skipped'])} skipped")
    return 0


def _check(args) -> int:
    from tao_skill_bank.rca_hooks.entry import find_project_dir
    from tao_skill_bank.rca_hooks.package import package_status
    from tao_skill_bank.rca_hooks.reportcheck import check_results_dir, finding, render_text

    out = _results_dir(args.out)
    _refuse_incomplete(out)
    result = check_results_dir(out, find_project_dir(Path.cwd(), dict(os.environ)))
    status = package_status(out)
    if not status["current"]:
        state = "is stale" if status["exists"] else "is missing"
        shown = "; ".join(status["reasons"][:5]) + ("; …" if len(status["reasons"]) > 5 else "")
        result.findings.append(finding("package", f"rca_config/ {state} ({shown})",
                                       f"run `tao-skills gaps package {out}`"))
    emit(args, {**result.as_dict(), "package": status}, render_text(result))
    return 0 if result.ok else EXIT_FINDINGS



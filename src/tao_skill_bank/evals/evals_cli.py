"""`tao-skills evals run`: run the skills' evals against an agent CLI, with and without the skill."""

from __future__ import annotations

from tao_skill_bank.output import add_group, add_json_flag, emit


def register(subparsers) -> None:
    sub = add_group(subparsers, "evals", "run the skills' behaviour evals against an agent CLI")
    run = sub.add_parser(
        "run", help="run evals in scratch workspaces, grade their checks, write benchmark.json + benchmark.md",
        description="Run each eval of skills/<skill>/evals/evals.json through an agent CLI in a new scratch "
                    "workspace (the eval's files copied in, its setup run), once with the skill installed in "
                    ".claude/skills and .agents/skills and once without. Records the transcript and every "
                    "tao-skills command, grades the eval's checks by code, writes benchmark.json and "
                    "benchmark.md. Exit 0 when every graded with-skill run passes, 3 otherwise.")
    run.add_argument("--agent-cmd", required=True, metavar="TEMPLATE",
                     help="agent command line with {prompt} (and optionally {workspace}), e.g. "
                          "'claude -p {prompt}' or 'codex exec {prompt}'")
    run.add_argument("--skill", action="append", metavar="S", help="only this skill (repeatable; default: all)")
    run.add_argument("--eval", action="append", type=int, metavar="ID", dest="eval_ids",
                     help="only this eval id (repeatable)")
    condition = run.add_mutually_exclusive_group()
    condition.add_argument("--with-skill", dest="conditions", action="store_const", const=("with_skill",),
                           help="only the runs with the skill installed")
    condition.add_argument("--without-skill", dest="conditions", action="store_const", const=("without_skill",),
                           help="only the baseline runs without the skill")
    run.add_argument("--out", metavar="DIR", help="results folder, must not exist (default: ./eval-results/<timestamp>)")
    run.add_argument("--timeout", type=float, default=1800, metavar="S", help="per-run agent timeout (default 1800 s)")
    add_json_flag(run)
    run.set_defaults(func=_run, conditions=("with_skill", "without_skill"))


def _run(args) -> int:
    from datetime import datetime, timezone
    from pathlib import Path

    from tao_skill_bank.bank import find_bank_root
    from tao_skill_bank.errors import EXIT_FINDINGS
    from tao_skill_bank.evals.report import benchmark, markdown
    from tao_skill_bank.evals.runner import check_agent, load_cases, run_evals
    from tao_skill_bank.fsutil import atomic_write_json, atomic_write_text, create_new_dir

    bank = find_bank_root(args.bank)
    cases = load_cases(bank, args.skill, args.eval_ids)
    check_agent(args.agent_cmd)
    started = datetime.now(timezone.utc)
    out = Path(args.out) if args.out else Path("eval-results") / started.strftime("%Y-%m-%d_%H%M%S")
    out = create_new_dir(out)
    records = run_evals(bank, cases, args.agent_cmd, tuple(args.conditions), out, args.timeout)
    bench = benchmark(records, {"agent_cmd": args.agent_cmd, "bank": str(bank),
                                "started_at": started.isoformat(timespec="seconds"),
                                "conditions": list(args.conditions)})
    atomic_write_json(out / "benchmark.json", bench)
    atomic_write_text(out / "benchmark.md", markdown(bench))
    summary = bench["summary"]
    text = [f"results_dir: {out.resolve()}", f"benchmark: {(out / 'benchmark.json').resolve()}"]
    for condition, stats in summary["conditions"].items():
        rate = "n/a" if stats["pass_rate"] is None else f"{stats['pass_rate']:.0%}"
        text.append(f"{condition}: {stats['passed']}/{stats['graded']} graded runs passed ({rate})")
    emit(args, {"results_dir": str(out.resolve()), **summary}, "\n".join(text))
    with_skill = summary["conditions"].get("with_skill")
    return EXIT_FINDINGS if with_skill and with_skill["passed"] < with_skill["graded"] else 0

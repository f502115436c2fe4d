"""`tao-skills automl route|plan|run|status`: route a train request, write the AutoML runner's plan,
run NVIDIA's runner on it, read the run's state (no runner needed for status)."""

from __future__ import annotations

from tao_skill_bank.output import add_group, add_json_flag, emit

RUNNER_MODULE = "tao_automl.runner"


def _runner_hint(versions_root) -> str:
    from tao_skill_bank.errors import UserError
    from tao_skill_bank.oi.automl_plan import runner_requirements
    from tao_skill_bank.versions import load_versions

    try:
        versions = load_versions(versions_root) if versions_root else None
    except UserError:
        versions = None
    runner = " ".join(runner_requirements(versions))
    return (f"pip install --no-deps {runner}; then its light dependencies (pyyaml, numpy, pandas, omegaconf, "
            f"scipy, scikit-learn, requests) and your platform's client, or pass --runner-python PY of an env "
            f"that has them")


def register(subparsers) -> None:
    from tao_skill_bank.oi.automl_plan import ALGORITHMS, PLATFORMS

    sub = add_group(subparsers, "automl", "AutoML for train skills: route, plan, run, status")
    route = sub.add_parser(
        "route", help="print policy, route (tao-run-automl|direct), skill_dir, reason, missing files",
        description="Explicit --policy wins; else the request's words ('disable AutoML', 'no HPO', "
                    "'plain training' → off for this run); else on. Only train routes to AutoML.")
    route.add_argument("--skill", required=True, help="skill name in the bank (e.g. tao-train-optical-inspection) or a path to a skill folder")
    route.add_argument("--action", required=True, help="train, evaluate, inference, export, ...")
    route.add_argument("--request", metavar="TEXT", help="the user's request, read for AutoML on/off wording")
    route.add_argument("--policy", choices=["on", "off"], help="explicit AutoML policy for this run")
    add_json_flag(route)
    route.set_defaults(func=_route)

    plan = sub.add_parser(
        "plan", help="write the AutoML runner's plan JSON (ready:false + blocking_issues when something is missing)",
        description="Builds and validates the base train spec (template + data + --set) exactly as `spec build` "
                    "does, checks algorithm/platform/metric, and writes the plan to "
                    "<WORKSPACE>/automl/<NAME>/automl_plan.json (a new folder; never reused). Exit 0 when ready, "
                    "3 when the plan is written with blocking issues.",
        epilog="example: tao-skills automl plan --skill tao-train-optical-inspection --workspace /ws "
               "--train-data /ws/data/train --eval-data /ws/data/val --max-trials 6 --set train.num_epochs=10")
    plan.add_argument("--skill", required=True, help="model skill name in the bank or a path to a skill folder")
    plan.add_argument("--workspace", required=True, metavar="WS",
                      help="folder holding the data and the AutoML folder (Docker mounts it at the same path)")
    plan.add_argument("--train-data", metavar="SPLIT_DIR|URI", help="train split (dataset.csv + images.tar.gz or its extracted images)")
    plan.add_argument("--eval-data", metavar="SPLIT_DIR|URI", help="validation/test split")
    plan.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                      help="fixed spec value for every trial, repeatable (values parsed as YAML)")
    plan.add_argument("--algorithm", default="bayesian", help=f"one of {', '.join(ALGORITHMS)} (default bayesian)")
    plan.add_argument("--max-trials", type=int, metavar="N", help="automl_max_recommendations (bayesian default 6)")
    plan.add_argument("--max-epochs", type=int, metavar="N", help="automl_max_epochs: largest budget of multi-fidelity algorithms")
    plan.add_argument("--metric", help="metric to optimise (default: the skill's monitoring_metric)")
    plan.add_argument("--platform", default="docker", help=f"one of {', '.join(PLATFORMS)} (default docker)")
    plan.add_argument("--name", help="AutoML folder name under <WS>/automl/ (default: plan_<UTC timestamp>)")
    plan.add_argument("--base-checkpoint", default="", metavar="PATH|URI", help="pretrained weights for every trial")
    add_json_flag(plan)
    plan.set_defaults(func=_plan)

    run = sub.add_parser(
        "run", help="run NVIDIA's AutoML runner on a plan (python -m tao_automl.runner PLAN --platform P)",
        description="Refuses a plan that is not ready. --dry-run prints the command without starting it. "
                    "Writes automl_run.json (state, pid, exit code) next to the plan.")
    run.add_argument("plan", metavar="PLAN", help="automl_plan.json written by `automl plan`")
    run.add_argument("--platform", help="override the plan's platform")
    run.add_argument("--runner-python", metavar="PY", help="python of the env with nvidia-tao-automl (default: this one)")
    run.add_argument("--dry-run", action="store_true", help="print the command and environment, start nothing")
    add_json_flag(run)
    run.set_defaults(func=_run)

    status = sub.add_parser(
        "status", help="trials, statuses and the best so far, read from the runner's .automl/ state",
        description="WORKSPACE is the plan's automl folder (one run_<timestamp>/ inside) or a run folder.")
    status.add_argument("workspace", metavar="WORKSPACE")
    status.add_argument("--results-root", metavar="DIR", help="folder holding one <job_id>/ per trial (default: from the plan)")
    add_json_flag(status)
    status.set_defaults(func=_status)


def _route(args) -> int:
    from tao_skill_bank.oi.automl import route_for_skill
    from tao_skill_bank.oi.skillinfo import resolve_skill_dir

    decision = route_for_skill(resolve_skill_dir(args.skill, args.bank), args.action,
                               request=args.request, policy=args.policy)
    lines = [f"route: {decision.route}", f"policy: {decision.policy} ({decision.policy_source})",
             f"skill_dir: {decision.skill_dir}", f"reason: {decision.reason}"]
    if decision.missing:
        lines.append(f"missing: {', '.join(decision.missing)}")
    emit(args, decision.as_dict(), "\n".join(lines))
    return 0


def _plan(args) -> int:
    from datetime import datetime, timezone
    from pathlib import Path

    from tao_skill_bank.errors import EXIT_FINDINGS, UserError
    from tao_skill_bank.fsutil import atomic_write_json, create_new_dir
    from tao_skill_bank.oi.automl_plan import build_plan
    from tao_skill_bank.oi.automl_state import PLAN_FILE
    from tao_skill_bank.oi.skillinfo import resolve_skill_dir
    from tao_skill_bank.oi.specdoc import parse_set_values

    workspace = Path(args.workspace).expanduser()
    if not workspace.is_dir():
        raise UserError("workspace folder not found", file=str(workspace), field="--workspace",
                        fix="create it and put the data splits inside, then rerun")
    name = args.name or datetime.now(timezone.utc).strftime("plan_%Y%m%d_%H%M%S")
    if "/" in name or name in (".", ".."):
        raise UserError(f"not a folder name: '{name}'", field="--name", fix="use a plain name such as oi_sweep_1")
    automl_dir = workspace.resolve() / "automl" / name
    if automl_dir.exists():
        raise UserError("AutoML folder already exists (results are never overwritten)", file=str(automl_dir),
                        field="--name", fix="pass a new --name")
    skill_dir = resolve_skill_dir(args.skill, args.bank)
    plan = build_plan(skill_dir, train_data=args.train_data, eval_data=args.eval_data,
                      overrides=parse_set_values(args.overrides), workspace=workspace, automl_dir=automl_dir,
                      algorithm=args.algorithm.lower(), max_trials=args.max_trials, max_epochs=args.max_epochs,
                      platform=args.platform.lower(), metric=args.metric, base_checkpoint=args.base_checkpoint,
                      bank_root=_versions_root(skill_dir, args.bank))
    create_new_dir(automl_dir)
    plan_path = automl_dir / PLAN_FILE
    plan["tao_skill_bank"]["run_command"] = f"tao-skills automl run {plan_path}"
    atomic_write_json(plan_path, plan)
    lines = [f"plan: {plan_path}", f"ready: {str(plan['ready']).lower()}"]
    lines += [f"blocking: {issue}" for issue in plan["blocking_issues"]]
    if plan["ready"]:
        lines.append(f"next: {plan['tao_skill_bank']['run_command']} --dry-run")
    emit(args, {"plan_path": str(plan_path), **plan}, "\n".join(lines))
    return 0 if plan["ready"] else EXIT_FINDINGS


def _versions_root(skill_dir, bank):
    """The bank root whose versions.yaml names the image: the skill's own bank, else --bank / the
    shipped bank (a copied skill folder has none of its own)."""
    from tao_skill_bank.bank import find_bank_root
    from tao_skill_bank.errors import UserError

    if (skill_dir.parent.parent / "versions.yaml").is_file():
        return skill_dir.parent.parent
    try:
        return find_bank_root(bank)
    except UserError:
        return None


def _status(args) -> int:
    from pathlib import Path

    from tao_skill_bank.oi.automl_state import status_record

    record = status_record(Path(args.workspace), results_root=args.results_root)
    best = record["best"]
    lines = [f"run: {record['run_dir']}", f"state: {record['state']}",
             f"algorithm: {record['algorithm'] or 'unknown (no plan beside the run)'}  metric: "
             f"{record['metric'] or '?'} ({record['direction']})",
             f"trials: {record['n_trials']}" + (f" of {record['planned_trials']}" if record["planned_trials"] else "")
             + "  " + ", ".join(f"{k} {v}" for k, v in record["counts"].items())]
    lines.append("rec  status    result     budget  job_id")
    for t in record["trials"]:
        result = "-" if t["result"] is None else f"{t['result']:.6g}"
        budget = "-" if t["budget"] is None else f"{t['budget']:g}"
        lines.append(f"{t['rec_id']:<4} {t['status']:<9} {result:<10} {budget:<7} {t['job_id'] or '-'}"
                     + ("  (pruned)" if t["pruned"] else ""))
    lines.append("best: none yet" if best is None else
                 f"best: trial {best['rec_id']} (job {best['job_id']}) {record['metric'] or 'result'}={best['result']}")
    emit(args, record, "\n".join(lines))
    return 0


def _run(args) -> int:
    import json
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from tao_skill_bank.errors import EXIT_ENVIRONMENT, EXIT_FINDINGS, UserError
    from tao_skill_bank.fsutil import atomic_write_json
    from tao_skill_bank.oi.automl_plan import PLATFORMS
    from tao_skill_bank.oi.automl_state import RUN_MARKER

    plan_path = Path(args.plan).expanduser().resolve()
    try:
        plan = json.loads(plan_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError("plan not found", file=str(plan_path), fix="write one with `tao-skills automl plan`")
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"plan is not JSON ({exc})", file=str(plan_path), fix="rewrite it with `tao-skills automl plan`")
    if not isinstance(plan, dict) or not plan.get("ready"):
        issues = (plan.get("blocking_issues") if isinstance(plan, dict) else None) or ["ready is not true"]
        raise UserError(f"plan is not ready: {'; '.join(map(str, issues))}", file=str(plan_path), field="ready",
                        fix="fix the blocking issues and write a new plan with `tao-skills automl plan`",
                        exit_code=EXIT_FINDINGS)
    platform = (args.platform or plan.get("platform") or "").lower()
    if platform not in PLATFORMS:
        raise UserError(f"unknown platform '{platform}'", field="--platform", fix=f"use one of {', '.join(PLATFORMS)}")
    python = args.runner_python or sys.executable
    skill_dir = Path(((plan.get("steps") or [{}])[0].get("params") or {}).get("skill_dir") or ".")
    env = dict(os.environ)
    versions_root = _versions_root(skill_dir, args.bank)
    if versions_root is not None and "TAO_VERSIONS_FILE" not in env:
        # the runner resolves container_image keys through versions.yaml; point it at ours
        env["TAO_VERSIONS_FILE"] = str(versions_root / "versions.yaml")
    cmd = [python, "-m", RUNNER_MODULE, str(plan_path), "--platform", platform]
    automl_dir = Path(plan.get("automl_workspace_path") or plan_path.parent)
    record = {"command": cmd, "platform": platform, "plan": str(plan_path), "automl_workspace_path": str(automl_dir),
              "TAO_VERSIONS_FILE": env.get("TAO_VERSIONS_FILE")}
    if args.dry_run:
        emit(args, {"dry_run": True, **record}, " ".join(cmd))
        return 0
    probe = subprocess.run([python, "-c", f"import {RUNNER_MODULE}"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True, env=env)
    if probe.returncode != 0:
        raise UserError(f"NVIDIA's AutoML runner is not importable by {python} "
                        f"({(probe.stderr.strip().splitlines() or ['import failed'])[-1]})",
                        field="--runner-python", fix=_runner_hint(versions_root), exit_code=EXIT_ENVIRONMENT)
    marker = automl_dir / RUN_MARKER
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    atomic_write_json(marker, {"state": "running", "pid": proc.pid, "started_at": started, **record})
    out, _ = proc.communicate()
    state = "finished" if proc.returncode == 0 else "failed"
    atomic_write_json(marker, {"state": state, "pid": proc.pid, "started_at": started,
                               "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                               "exit_code": proc.returncode, **record})
    if proc.returncode != 0:
        raise UserError(f"the AutoML runner exited with {proc.returncode} (its log is on stderr above)",
                        file=str(plan_path), fix=f"check `tao-skills automl status {automl_dir}`, fix the cause, "
                                                 f"and rerun", exit_code=EXIT_ENVIRONMENT)
    try:
        result = json.loads(out[out.index("{"):]) if "{" in out else {}
    except ValueError:
        result = {}
    best = (result or {}).get("best") or {}
    emit(args, {"state": state, "result": result, **record},
         f"finished: best trial {best.get('rec_id')} (job {best.get('job_id')}) metric={best.get('metric_value')}\n"
         f"next: tao-skills automl status {automl_dir}; tao-skills checkpoint resolve {automl_dir} --select best")
    return 0

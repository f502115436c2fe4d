"""`tao-skills automl route`: decide whether a request goes to tao-run-automl or runs directly."""

from __future__ import annotations

from tao_skill_bank.output import add_group, add_json_flag, emit


def register(subparsers) -> None:
    sub = add_group(subparsers, "automl", "AutoML routing for train skills")
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

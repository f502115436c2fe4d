"""AutoML routing for a train/deploy skill: should this request go to `tao-run-automl` or run directly?

Pure core: `policy_from_request` reads the user's words, `decide_route` combines policy, the
model-layer flag and the packaged files. Adapter: `route_for_skill` reads references/skill_info.yaml
and checks that the train schema and template exist and parse.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tao_skill_bank.errors import UserError

AUTOML_SKILL = "tao-run-automl"
DIRECT = "direct"
TRAIN_ACTION = "train"
POLICIES = ("on", "off")

# What AutoML searches over, in the user's words.
_SUBJECT = (r"(?:auto[\s_-]?ml|hpo|hyper[\s-]?param(?:eter)?s?[\s-]*(?:search|tuning|optimi[sz]ation|sweeps?)"
            r"|hyper[\s-]?param(?:eter)?[\s-]*(?:search|tuning|optimi[sz]ation|sweeps?))")
_THE = r"(?:(?:the|any|an?)\s+)?"
# Phrases that ask for a run WITHOUT AutoML.
_OFF_PATTERNS = [
    rf"\b(?:turn|switch|shut)(?:ing)?\s+off\s+{_THE}{_SUBJECT}",
    rf"\b(?:turn|switch|shut)(?:ing)?\s+{_THE}{_SUBJECT}\s+off\b",
    rf"\b(?:disabl|deactivat|skipp?|bypass|avoid|drop|omitt?|exclud)(?:e|es|ed|ing)?\s+{_THE}{_SUBJECT}",
    rf"\b(?:no|without|w/o|minus)\s+{_THE}{_SUBJECT}",
    rf"\b{_SUBJECT}[\s_-]*(?:policy)?\s*(?:=|:|is|should be|set to)?\s*(?:off|false|disabled|no)\b",
    rf"\b{_SUBJECT}\s+(?:turned|switched)\s+off\b",
    rf"\bno\s+need\s+(?:for|of)\s+{_THE}{_SUBJECT}",
    rf"\b{_SUBJECT}\s+(?:is\s+|are\s+)?(?:not\s+(?:needed|necessary|required|wanted)|isn't\s+(?:needed|necessary|required)|unnecessary)\b",
    r"\b(?:plain|direct|vanilla|regular|normal|simple|standard|manual|single)\s+(?:model\s+)?train(?:ing)?(?:\s+run)?\b",
    r"\btrain(?:ing)?\s+(?:it\s+|the model\s+)?directly\b",
]
# Phrases that ask FOR AutoML.
_ON_PATTERNS = [
    rf"\b(?:use|using|with|enable|enabling|enabled|turn on|switch on|turning on|run|running|keep|via|through)\s+{_THE}{_SUBJECT}",
    rf"\b{_SUBJECT}[\s_-]*(?:policy)?\s*(?:=|:|is|should be|set to)?\s*(?:on|true|enabled|yes)\b",
    rf"\b(?:want|need|like|prefer|try)\s+{_THE}{_SUBJECT}",
    rf"\b{_SUBJECT}\s+(?:run|sweep|search|job)\b",
]
# A negation shortly before a phrase flips its meaning ("don't disable AutoML").
_NEGATION = re.compile(r"\b(?:don'?t|do not|does not|doesn'?t|not|never|no need to|shouldn'?t|should not"
                       r"|won'?t|will not|without|instead of|rather than|avoid)\b[\w\s,'-]{0,12}$")
_OFF_RE = [re.compile(p, re.IGNORECASE) for p in _OFF_PATTERNS]
_ON_RE = [re.compile(p, re.IGNORECASE) for p in _ON_PATTERNS]


@dataclass(frozen=True)
class PolicySignal:
    policy: str      # "on" | "off"
    phrase: str      # the words that decided it


def _signals(text: str) -> list[PolicySignal]:
    lowered = " ".join(text.lower().replace("’", "'").split())
    found: list[tuple[int, int, str]] = []   # (start, end, policy)
    for patterns, policy in ((_OFF_RE, "off"), (_ON_RE, "on")):
        for pattern in patterns:
            for match in pattern.finditer(lowered):
                # an "on" phrase inside an "off" phrase ("with AutoML disabled") is not a signal
                if any(s < match.end() and match.start() < e for s, e, _ in found):
                    continue
                found.append((match.start(), match.end(), policy))
    signals = []
    for start, end, policy in sorted(found):
        if _NEGATION.search(lowered[max(0, start - 40):start]):
            policy = "off" if policy == "on" else "on"
        signals.append(PolicySignal(policy, lowered[start:end]))
    return signals


def policy_from_request(text: str | None) -> PolicySignal | None:
    """The AutoML policy the user's words ask for, or None when they say nothing about it.

    Conflicting phrases are an error: the agent must ask or pass --policy explicitly."""
    if not text:
        return None
    signals = _signals(text)
    if not signals:
        return None
    policies = {s.policy for s in signals}
    if len(policies) > 1:
        phrases = "; ".join(f"'{s.phrase}' → {s.policy}" for s in signals)
        raise UserError(f"request asks for AutoML both on and off ({phrases})", field="--request",
                        fix="ask the user, then pass --policy on|off")
    return signals[0]


@dataclass(frozen=True)
class AutomlRoute:
    policy: str                 # on | off (this run only)
    policy_source: str          # explicit | request | default
    route: str                  # tao-run-automl | direct
    skill: str
    action: str
    skill_dir: str
    reason: str
    missing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def resolve_policy(explicit: str | None, request: str | None) -> tuple[str, str, str]:
    """(policy, source, why): explicit --policy wins, then the request's words, then on."""
    if explicit is not None:
        if explicit not in POLICIES:
            raise UserError(f"unknown policy '{explicit}'", field="--policy", fix="use --policy on or --policy off")
        return explicit, "explicit", f"--policy {explicit}"
    signal = policy_from_request(request)
    if signal is not None:
        return signal.policy, "request", f"request says '{signal.phrase}'"
    return "on", "default", "default policy on (the request does not mention AutoML)"


def decide_route(*, skill: str, action: str, skill_dir: str, automl_enabled: bool, policy: str,
                 policy_source: str, policy_why: str, missing: list[str]) -> AutomlRoute:
    """Pure routing rule; `missing` = train schema/template files that are absent or do not parse."""
    def direct(reason: str, missing_files: list[str] | None = None) -> AutomlRoute:
        return AutomlRoute(policy, policy_source, DIRECT, skill, action, skill_dir, reason, missing_files or [])

    if action != TRAIN_ACTION:
        return direct(f"'{action}' is not a train action: evaluate, inference, export and deploy actions "
                      f"always run in this skill; AutoML only routes training")
    if not automl_enabled:
        return direct("automl_enabled is false in references/skill_info.yaml: this model trains directly")
    if policy == "off":
        return direct(f"AutoML policy off for this run ({policy_why}); train directly with this skill")
    if missing:
        return direct(f"AutoML is enabled but not runnable: {', '.join(missing)} — train directly, or "
                      f"regenerate with `tao-skills schemas regenerate --skill {skill}`", missing)
    return AutomlRoute(policy, policy_source, AUTOML_SKILL, skill, action, skill_dir,
                       f"AutoML policy on ({policy_why}), automl_enabled true, train schema and template "
                       f"packaged: hand the train request to {AUTOML_SKILL} with skill_dir={skill_dir}")


def unusable_files(skill_dir: Path, relative_paths: list[str]) -> list[str]:
    """Relative paths (with the reason when present but broken) AutoML cannot use."""
    from tao_skill_bank import safe_input

    problems = []
    for rel in relative_paths:
        path = skill_dir / rel
        if not path.is_file():
            problems.append(rel)
            continue
        try:
            # TAO schemas spell unbounded maxima as Infinity, which Python's json accepts.
            data = safe_input.load_json_file(path) if path.suffix == ".json" else safe_input.load_yaml_file(path)
        except UserError as err:
            problems.append(f"{rel} (does not parse: {err.message})")
            continue
        if not isinstance(data, dict):
            problems.append(f"{rel} (not a mapping)")
    return problems


def route_for_skill(skill_dir: Path, action: str, *, request: str | None = None,
                    policy: str | None = None) -> AutomlRoute:
    from tao_skill_bank.oi.skillinfo import load_skill_info

    info = load_skill_info(skill_dir)
    info.action(action)  # unknown action -> error listing the valid ones
    chosen, source, why = resolve_policy(policy, request)
    missing: list[str] = []
    train = info.actions.get(TRAIN_ACTION)
    if action == TRAIN_ACTION and info.automl_enabled and chosen == "on":
        missing = unusable_files(skill_dir, [train.schema, train.template])
    return decide_route(skill=info.skill, action=action, skill_dir=str(skill_dir), automl_enabled=info.automl_enabled,
                        policy=chosen, policy_source=source, policy_why=why, missing=missing)


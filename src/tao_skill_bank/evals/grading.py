"""Grade one eval run by code (pure: the run's evidence in, check results out).

An eval in `skills/<skill>/evals/evals.json` may carry `checks`, machine-gradable forms of its
expectations (shape in schemas/evals.schema.json, meaning in docs/evals.md):

| type | passes when |
|---|---|
| `ran` | a `tao-skills` command the agent ran (logged by the CLI itself) matches `pattern` |
| `not_ran` | no logged command matches `pattern` |
| `file` | a file matching `glob` exists in the workspace (and its text matches `contains`) |
| `no_file` | no file matches `glob` |
| `says` | the agent's output matches `pattern` |
| `quotes_file` | the agent's output quotes the number in the file matching `glob` (or its JSON `key`) |

Patterns are Python regexes searched case-insensitively. A run passes when every check passes;
an eval without checks is reported as ungraded (its expectations need a human or model grader).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

CHECK_TYPES = ("ran", "not_ran", "file", "no_file", "says", "quotes_file")
MAX_FILE_BYTES = 1 << 20


@dataclass(frozen=True)
class RunEvidence:
    """What one agent run left behind."""
    output: str                       # the agent's stdout (its answer / transcript)
    commands: list[str]               # `tao-skills ...` command lines it ran, in order
    workspace: Path                   # the scratch folder it worked in


@dataclass
class CheckResult:
    check: dict
    passed: bool
    evidence: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Grade:
    graded: bool
    passed: bool
    checks: list[CheckResult] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"graded": self.graded, "passed": self.passed, "checks": [c.as_dict() for c in self.checks]}


def pattern_problems(checks: list) -> list[str]:
    """`checks[i].field: why` for every regex that does not compile (the validator reports them)."""
    problems = []
    for index, check in enumerate(checks if isinstance(checks, list) else []):
        for key in ("pattern", "contains"):
            value = check.get(key) if isinstance(check, dict) else None
            if isinstance(value, str):
                try:
                    re.compile(value)
                except re.error as exc:
                    problems.append(f"checks[{index}].{key}: {exc}")
    return problems


def grade(checks: list[dict], evidence: RunEvidence) -> Grade:
    if not checks:
        return Grade(graded=False, passed=False)
    results = [check_one(check, evidence) for check in checks]
    return Grade(graded=True, passed=all(r.passed for r in results), checks=results)


def check_one(check: dict, evidence: RunEvidence) -> CheckResult:
    kind = check.get("type")
    if kind in ("ran", "not_ran"):
        pattern = re.compile(check["pattern"], re.IGNORECASE)
        hits = [c for c in evidence.commands if pattern.search(c)]
        if kind == "ran":
            return CheckResult(check, bool(hits), hits[0] if hits else f"{len(evidence.commands)} command(s) logged, none matches")
        return CheckResult(check, not hits, f"ran: {hits[0]}" if hits else "no matching command")
    if kind in ("file", "no_file"):
        matches = _workspace_files(evidence.workspace, check["glob"])
        if kind == "no_file":
            return CheckResult(check, not matches, f"found {matches[0]}" if matches else "no such file")
        wanted = check.get("contains")
        for rel in matches:
            if wanted is None or re.search(wanted, _read_text(evidence.workspace / rel), re.IGNORECASE):
                return CheckResult(check, True, rel)
        return CheckResult(check, False, f"{len(matches)} file(s) match the glob" + (", none contains the pattern" if matches else ""))
    if kind == "says":
        match = re.search(check["pattern"], evidence.output, re.IGNORECASE)
        return CheckResult(check, match is not None, match.group(0)[:200] if match else "not in the output")
    if kind == "quotes_file":
        return _quotes_file(check, evidence)
    return CheckResult(check, False, f"unknown check type {kind!r}")


def _workspace_files(workspace: Path, pattern: str) -> list[str]:
    root = workspace.resolve()
    found = []
    for path in sorted(workspace.glob(pattern)):
        try:
            if path.is_file() and not path.is_symlink() and path.resolve().is_relative_to(root):
                found.append(path.relative_to(workspace).as_posix())
        except OSError:
            continue
    return found


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_FILE_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return ""


def _quotes_file(check: dict, evidence: RunEvidence) -> CheckResult:
    matches = _workspace_files(evidence.workspace, check["glob"])
    if not matches:
        return CheckResult(check, False, "no file matches the glob")
    rel = matches[-1]  # the newest timestamped results folder sorts last
    text = _read_text(evidence.workspace / rel)
    value: Any = text.strip()
    if "key" in check:
        try:
            value = json.loads(text)
            for part in str(check["key"]).split("."):
                value = value[part]
        except (ValueError, KeyError, TypeError):
            return CheckResult(check, False, f"{rel} has no key {check['key']}")
    number = _decimal(value)
    if number is None:
        return CheckResult(check, False, f"{rel}: {str(value)[:60]!r} is not a number")
    for token in re.findall(r"-?\d+(?:\.\d+)?", evidence.output):
        if quotes(token, number):
            return CheckResult(check, True, f"{token} quotes {rel} ({value})")
    return CheckResult(check, False, f"the output never quotes {value} from {rel}")


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def quotes(token: str, value: Decimal) -> bool:
    """`token` is `value` written to its own precision (at least 2 decimals, or the exact value)."""
    quoted = _decimal(token)
    if quoted is None:
        return False
    exponent = quoted.as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if quoted == value:
        return True
    if decimals < 2:
        return False
    step = Decimal(1).scaleb(-decimals)
    return value.quantize(step, rounding=ROUND_HALF_EVEN) == quoted

"""Spec documents as data: dotted get/set, the ??? placeholder, `--set` values, the issue type.

A leaf module (imports only `errors` and the bounded reader `safe_input`): the spec builder, the semantic rules, the platform
parameters, the dataset check and the template overrides all use it, so none of them has to
import `oi.spec` (which imports them) — the `oi/` modules form no import circle.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tao_skill_bank import safe_input
from tao_skill_bank.errors import EXIT_ENVIRONMENT, EXIT_FINDINGS, UserError
from tao_skill_bank.safe_input import load_yaml_text, split_dotted_key

PLACEHOLDER = "???"  # a mandatory value the template leaves for the user (OmegaConf's MISSING)
URI_PREFIXES = ("s3://", "gs://", "http://", "https://", "az://")


@dataclass
class SpecIssue:
    path: str        # dotted, list items as [i]
    expected: str
    got: str
    message: str

    def as_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        return f"{self.path}: expected {self.expected}, got {self.got} — {self.message}"


class SpecInvalid(UserError):
    """A spec with issues; the one-line error lists them all, --json carries them as a list."""

    def __init__(self, issues: list[SpecIssue], *, file: str | None = None, fix: str | None = None):
        self.issues = issues
        summary = "; ".join(i.line() for i in issues)
        super().__init__(f"{len(issues)} spec issue(s): {summary}", file=file,
                         fix=fix or "change the values named above (--set key=value) and rerun",
                         exit_code=EXIT_FINDINGS)

    def as_dict(self) -> dict:
        return {**super().as_dict(), "issues": [i.as_dict() for i in self.issues]}


def describe_value(value: Any) -> str:
    """`<json type> <value>` for an issue's `got` (cut at 60 characters)."""
    kinds = [(bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"),
             (dict, "object"), (type(None), "null")]
    kind = next((name for cls, name in kinds if isinstance(value, cls)), type(value).__name__)
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{kind} {text}"


# ---------------------------------------------------------------- dotted keys

def get_dotted(spec: dict, dotted: str, default: Any = None) -> Any:
    node: Any = spec
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def set_dotted(spec: dict, dotted: str, value: Any) -> None:
    """Set `a.b.c`, creating missing mappings; refuse to descend into a non-mapping."""
    parts = split_dotted_key(dotted)
    node = spec
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            where = ".".join(parts[: i + 1])
            raise UserError(f"'{where}' holds a {type(child).__name__}, not a mapping", field=dotted,
                            fix=f"set {where} itself, or check the key spelling")
        node = child
    node[parts[-1]] = value


def parse_set_values(items: list[str]) -> dict[str, Any]:
    """`--set key=value` pairs; values are YAML (8 -> int, true -> bool, [0, 1] -> list)."""
    from tao_skill_bank.container import refuse_interpolations

    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"--set expects key=value, got '{item[:80]}'", field="--set",
                            fix="e.g. --set train.num_epochs=30")
        split_dotted_key(key)
        try:
            overrides[key] = load_yaml_text(text, source="--set", field=key[:80]) if text.strip() else ""
        except UserError as err:
            raise UserError(f"value of '{key[:80]}' is refused: {err.message}", field="--set",
                            fix="quote strings with special characters, e.g. --set 'key=\"a: b\"'") from None
        refuse_interpolations(overrides[key], file="--set", field_prefix=key)
    return overrides



# ---------------------------------------------------------------- files

def load_yaml_file(path: str | Path, what: str = "spec") -> dict:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} file not found", file=str(path), fix="check the path", exit_code=EXIT_ENVIRONMENT)
    data = safe_input.load_yaml_file(path, what=f"{what} file")
    if not isinstance(data, dict):
        raise UserError(f"a {what} must be a YAML mapping", file=str(path), fix="start with top-level keys such as dataset:")
    return data


# Plain scalars that a YAML 1.2 reader (OmegaConf's loader, which the containers use) takes as
# floats although PyYAML (YAML 1.1) reads them as text: `5e-4`, `1e5`, `1_0.5`.
_YAML12_FLOAT = re.compile(r"^(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?"
                           r"|[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")


def dump_spec(spec: dict) -> str:
    """The spec as YAML that the containers read back with exactly these values: text that a
    YAML 1.2 reader would take as a number is quoted (PyYAML alone writes `1e5` bare, and the
    container would read the float 100000.0)."""
    import yaml

    class SpecDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):   # libyaml when present: same text, faster
        pass

    SpecDumper.add_implicit_resolver("tag:yaml.org,2002:float", _YAML12_FLOAT, list("-+0123456789."))
    return yaml.dump(spec, Dumper=SpecDumper, sort_keys=False, default_flow_style=False, allow_unicode=True,
                     width=100)

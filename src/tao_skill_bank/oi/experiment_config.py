"""The container's ExperimentConfig as data, and the merge it applies to a spec (pure).

Both optical inspection images start every action with
`OmegaConf.merge(OmegaConf.structured(ExperimentConfig), spec)`: the spec is laid over the config
dataclasses in struct mode, each value converted to its field's type or refused. Whatever the
merge refuses, the container refuses before doing any work; whatever it accepts, it runs with.

`tao-skills schemas regenerate` records the dataclass tree of the release in
`schemas/experiment_config.json` of each skill (the PyTorch image merges into nvidia-tao-core's
config, the Deploy image into nvidia-tao-deploy's). A node is
    {"type": "struct", "optional": bool, "fields": {name: node}}
    {"type": "dict", "optional": bool, "key": "str", "value": "<scalar type>"}
    {"type": "list", "optional": bool, "item": "<scalar type>", "default": [...] | "???"}
    {"type": "int" | "float" | "bool" | "str", "optional": bool, "default": value | "???" | null}

`merge_issues` applies the merge's rules to a spec (unknown keys, null only where the field is
Optional, scalars converted the way the merge converts them, lists and mappings item by item);
`effective` reads a value the way the container sees it after the merge (the spec's value, else
the runtime default). Min/max and option lists are not part of the merge: they are AutoML search
bounds in the TAO schema, not validity bounds.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Iterator

from tao_skill_bank.errors import UserError
from tao_skill_bank.oi.specdoc import PLACEHOLDER, SpecIssue, describe_value

CONFIG_FILE = "schemas/experiment_config.json"
SCALARS = ("int", "float", "bool", "str")
_ABSENT = object()
# The strings OmegaConf's bool fields accept besides integers (case-insensitive).
TRUE_WORDS = ("yes", "y", "on", "true")
FALSE_WORDS = ("no", "n", "off", "false")


def load_config_tree(skill_dir: str | Path) -> dict:
    """The skill's recorded ExperimentConfig tree (the root struct node)."""
    path = Path(skill_dir) / CONFIG_FILE
    return _read(str(path), path.stat().st_mtime_ns if path.is_file() else 0)["root"]


@functools.lru_cache(maxsize=8)
def _read(path: str, _mtime: int) -> dict:
    if not Path(path).is_file():
        raise UserError("the container's config tree is missing", file=path,
                        fix="run `tao-skills schemas regenerate` (maintainers) or reinstall the skill")
    from tao_skill_bank.safe_input import load_json_file

    try:
        data = load_json_file(path, what="config tree")
    except UserError as err:
        raise UserError(err.message, file=path, fix="run `tao-skills schemas regenerate`") from None
    if not isinstance(data, dict) or not isinstance(data.get("root"), dict):
        raise UserError("no `root` config node", file=path, fix="run `tao-skills schemas regenerate`")
    return data


# ---------------------------------------------------------------- reading the tree

def node_at(tree: dict, dotted: str) -> dict | None:
    node: dict | None = tree
    for part in dotted.split("."):
        if node is None or node.get("type") != "struct" or part not in node.get("fields", {}):
            return None
        node = node["fields"][part]
    return node


def leaves(tree: dict, prefix: str = "") -> Iterator[tuple[str, dict]]:
    """(dotted key, node) for every non-struct node, in dataclass order."""
    for name, child in (tree.get("fields") or {}).items():
        key = f"{prefix}{name}"
        if child.get("type") == "struct":
            yield from leaves(child, key + ".")
        else:
            yield key, child


def effective(spec: dict, tree: dict, dotted: str, default: Any = None) -> Any:
    """The value the container runs with: the spec's (converted like the merge does), else the
    runtime default of the dataclass. `default` when neither has one."""
    node: Any = spec
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            node = _ABSENT
            break
        node = node[part]
    field = node_at(tree, dotted)
    if node is _ABSENT:
        return field.get("default", default) if field is not None else default
    if field is not None and field.get("type") in SCALARS:
        ok, value = convert_scalar(node, field["type"])
        return value if ok else node
    return node


def defaults(tree: dict) -> dict:
    """The config the container runs with when the spec is empty (runtime defaults)."""
    out: dict = {}
    for name, child in (tree.get("fields") or {}).items():
        out[name] = defaults(child) if child.get("type") == "struct" else _copy(child.get("default"))
    return out


def merged_config(spec: dict, tree: dict) -> dict:
    """The spec laid over the runtime defaults, scalars converted as the merge converts them
    (an unconvertible value stays as written; `merge_issues` reports it). Mappings merge key by
    key as OmegaConf does; a list or null replaces the default."""
    def lay(base: Any, value: Any, node: dict | None) -> Any:
        if isinstance(value, dict) and node is not None and node.get("type") == "struct":
            out = dict(base) if isinstance(base, dict) else {}
            fields = node.get("fields") or {}
            for key, item in value.items():
                out[key] = lay(out.get(key), item, fields.get(key))
            return out
        if isinstance(value, dict) and node is not None and node.get("type") == "dict":
            out = dict(base) if isinstance(base, dict) else {}
            for key, item in value.items():
                out[key] = _converted(item, node.get("value"))
            return out
        if isinstance(value, list) and node is not None and node.get("type") == "list":
            return [_converted(item, node.get("item")) for item in value]
        if node is not None and node.get("type") in SCALARS:
            return _converted(value, node["type"])
        return value

    return lay(defaults(tree), spec if isinstance(spec, dict) else {}, tree)


def _converted(value: Any, kind: str | None) -> Any:
    if kind not in SCALARS or value is None or value == PLACEHOLDER or is_interpolation(value):
        return value
    ok, converted = convert_scalar(value, kind)
    return converted if ok else value


def _copy(value: Any) -> Any:
    return json.loads(json.dumps(value)) if isinstance(value, (dict, list)) else value


# ---------------------------------------------------------------- the merge's conversions

def convert_scalar(value: Any, kind: str) -> tuple[bool, Any]:
    """(accepted, converted) for one value going into a scalar field of `kind`, as the merge
    converts it: ints from int or integer text; floats from int, float or float text (not bool);
    bools from bool, int or bool/integer text; strings from any scalar."""
    if kind == "int":
        if type(value) in (int, str):
            try:
                return True, int(value)
            except ValueError:
                return False, value
        return False, value
    if kind == "float":
        if type(value) in (float, int, str):
            try:
                return True, float(value)
            except ValueError:
                return False, value
        return False, value
    if kind == "bool":
        if isinstance(value, bool):
            return True, value
        if isinstance(value, int):
            return True, value != 0
        if isinstance(value, str):
            try:
                return True, int(value) != 0
            except ValueError:
                lowered = value.lower()
                if lowered in TRUE_WORDS or lowered in FALSE_WORDS:
                    return True, lowered in TRUE_WORDS
        return False, value
    if kind == "str":
        if isinstance(value, (dict, list, tuple, bytes)):
            return False, value
        return True, str(value)
    raise UserError(f"unknown config node type {kind!r}", field=kind,
                    fix="teach tao_skill_bank.oi.experiment_config this type")


def is_interpolation(value: Any) -> bool:
    """`${...}` strings: the merge stores them unchecked and resolves them when read."""
    return isinstance(value, str) and "${" in value


# ---------------------------------------------------------------- issues

def merge_issues(spec: Any, tree: dict) -> list[SpecIssue]:
    """Every place where the container's merge would refuse the spec (SpecIssue list)."""
    issues: list[SpecIssue] = []
    if not isinstance(spec, dict):
        return [SpecIssue("(root)", "a mapping", describe_value(spec), "a spec is a YAML mapping of sections")]
    _check_struct(spec, tree, "", issues)
    return issues


def _check(value: Any, node: dict, path: str, issues: list) -> None:
    kind = node.get("type")
    if value == PLACEHOLDER or is_interpolation(value):
        return  # MISSING and interpolations merge; a placeholder left in a submitted spec is a separate rule
    if value is None:
        if not node.get("optional"):
            _issue(issues, path, f"{_expected(node)} (not Optional in the container's config)", value,
                   "the container refuses null here — set a value, or delete the key to keep the default")
        return
    if kind == "struct":
        if isinstance(value, dict):
            _check_struct(value, node, path + ".", issues)
        else:
            _issue(issues, path, "a mapping of its keys", value,
                   f"{path} is a section — give its keys (e.g. {path}.{next(iter(node.get('fields') or {'key': 0}))}=VALUE)")
    elif kind == "dict":
        if not isinstance(value, dict):
            _issue(issues, path, f"a mapping of {node.get('key', 'str')} to {node.get('value')}", value,
                   f"write {path} as a mapping, e.g. {{LowAngleLight: 0, SolderLight: 1}}")
            return
        for key, item in value.items():
            if not isinstance(key, str):  # a str-keyed mapping takes text keys only (1: 0 is refused)
                _issue(issues, f"{path}.{key}", "a text key", key, f"quote the key, e.g. '{key}': 0")
            _check_item(item, node.get("value"), f"{path}.{key}", issues)
    elif kind == "list":
        if not isinstance(value, list):
            _issue(issues, path, f"a list of {node.get('item')}", value,
                   f"the container refuses a single value for a list — write [{_render(value)}]")
            return
        for index, item in enumerate(value):
            _check_item(item, node.get("item"), f"{path}[{index}]", issues)
    elif kind in SCALARS:
        ok, _ = convert_scalar(value, kind)
        if not ok:
            _issue(issues, path, _expected(node), value, _scalar_fix(kind, value))
    else:
        raise UserError(f"unknown config node type {kind!r}", field=path,
                        fix="teach tao_skill_bank.oi.experiment_config this type")


def _check_item(item: Any, kind: str | None, path: str, issues: list) -> None:
    # The merge converts scalar items only: a list or mapping inside a typed list or mapping is
    # stored as it is (OmegaConf 2.3), so it merges.
    if kind in (None, "any") or isinstance(item, (list, dict)):
        return
    _check(item, {"type": kind, "optional": False}, path, issues)


def _check_struct(value: dict, node: dict, prefix: str, issues: list) -> None:
    from tao_skill_bank.suggest import did_you_mean

    fields = node.get("fields") or {}
    for key, item in value.items():
        path = f"{prefix}{key}"
        if key not in fields:
            near = did_you_mean(str(key), list(fields), limit=1)
            hint = f"did you mean '{near[0]}'?" if near else f"valid keys here: {', '.join(list(fields)[:12])}"
            where = prefix.rstrip(".") or "the spec"
            issues.append(SpecIssue(path, f"a key of {where}", "unknown key",
                                    f"the container refuses keys its config does not have — {hint}"))
            continue
        _check(item, fields[key], path, issues)


def _expected(node: dict) -> str:
    names = {"int": "an integer", "float": "a number", "bool": "a boolean", "str": "a string"}
    kind = node.get("type")
    text = names.get(kind, kind)
    if kind == "list":
        text = f"a list of {node.get('item')}"
    if kind == "dict":
        text = f"a mapping of {node.get('key', 'str')} to {node.get('value')}"
    return text + (" or null" if node.get("optional") else "")


def _scalar_fix(kind: str, value: Any) -> str:
    if kind == "int" and isinstance(value, float) and value.is_integer():
        return f"the container refuses a float for an integer field — write {int(value)}"
    if kind == "int":
        return "the container converts only whole numbers (or their text) to integers — write e.g. 8"
    if kind == "float":
        return "the container converts numbers and numeric text to floats, not this — write e.g. 0.0005"
    if kind == "bool":
        return "write true or false"
    return "write a plain string"


def _render(value: Any) -> str:
    return json.dumps(value, default=str)


def _issue(issues: list, path: str, expected: str, value: Any, message: str) -> None:
    issues.append(SpecIssue(path, expected, describe_value(value), message))

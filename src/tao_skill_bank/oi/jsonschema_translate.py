"""Translate a TAO-format schema (what `nvidia_tao_core` generates, what TAO AutoML reads) into
standard JSON Schema 2020-12 that `jsonschema` can check specs against. Pure functions.

TAO nodes carry TAO type names, `Infinity` bounds, `???` for required-but-unset values and
AutoML hints. The translation keeps everything a validator can use (types, enums, finite bounds,
list item types, closed objects) and moves the rest into `x-tao-*` annotations.

Modes: "template" accepts the `???` placeholder anywhere a value goes (shipped templates hold
it); "submit" refuses it (a spec about to run must be complete).
"""

from __future__ import annotations

import math
from typing import Any

from tao_skill_bank.errors import UserError
from tao_skill_bank.oi.specdoc import PLACEHOLDER

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
MODES = ("template", "submit")

# TAO leaf type -> JSON Schema type.
SCALAR_TYPES = {
    "int": "integer",
    "ordered_int": "integer",
    "float": "number",
    "bool": "boolean",
    "string": "string",
}
# Fixed-length list types used by other TAO networks: list_2 = two items, etc.
FIXED_LIST_PREFIX = "list_"
# Node keys that map onto JSON Schema keywords directly; every other key becomes `x-tao-<key>`.
STANDARD_KEYS = {"type", "properties", "default", "title", "description", "minimum", "maximum", "enum"}
# Lists whose default is empty or `???` say nothing about their items; the facts do.
LIST_ITEM_HINTS: dict[str, dict] = {
    # "layer_name:precision" strings (TensorRT per-layer precision).
    "gen_trt_engine.tensorrt.layers_precision": {"type": "string"},
    # Folders of calibration images.
    "gen_trt_engine.tensorrt.calibration.cal_image_dir": {"type": "string"},
}


def to_json_schema(tao_schema: dict, mode: str = "submit") -> dict:
    """The JSON Schema 2020-12 document for a TAO schema's root node."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    root = _translate_node(tao_schema, "", mode, is_root=True)
    root["$schema"] = JSON_SCHEMA_DIALECT
    return {"$schema": root.pop("$schema"), **root}


def _annotation_key(key: str) -> str:
    return "x-tao-" + key.replace("_", "-")


def _annotations(node: dict) -> dict:
    out: dict[str, Any] = {}
    for key in ("title", "description"):
        if isinstance(node.get(key), str):
            out[key] = node[key].strip()
    if "default" in node and _is_finite_json(node["default"]):
        out["default"] = node["default"]
    for key, value in node.items():
        if key not in STANDARD_KEYS and _is_finite_json(value):
            out[_annotation_key(key)] = value
    return out


def _translate_node(node: dict, path: str, mode: str, is_root: bool = False) -> dict:
    tao_type = node.get("type")
    if tao_type in ("collection", "object"):
        schema = _object_schema(node, path, mode)
        if is_root:
            return {**schema, **_root_annotations(node)}
        return _wrap(schema, node, mode, allow_placeholder=False)
    return _wrap(_leaf_schema(node, path), node, mode, allow_placeholder=True)


def _root_annotations(node: dict) -> dict:
    out = {}
    for key, value in node.items():
        if key not in ("type", "properties", "default") and _is_finite_json(value):
            out[_annotation_key(key)] = value
    # The generator lists top-level blocks under properties.automl_disabled_parameters; it is
    # not a spec key, so it travels as an annotation.
    stray = (node.get("properties") or {}).get("automl_disabled_parameters")
    if isinstance(stray, list):
        out["x-tao-disabled-blocks"] = stray
    return out


def _object_schema(node: dict, path: str, mode: str) -> dict:
    properties = node.get("properties")
    if isinstance(properties, dict):
        translated = {name: _translate_node(child, _join(path, name), mode)
                      for name, child in properties.items() if isinstance(child, dict)}
        return {"type": "object", "properties": translated, "additionalProperties": False}
    # A free-form mapping (e.g. dataset.input_map {lighting: index}): value type from the default.
    schema: dict[str, Any] = {"type": "object"}
    value_type = _common_type(list((node.get("default") or {}).values())) if isinstance(node.get("default"), dict) else None
    if value_type:
        schema["additionalProperties"] = {"type": value_type}
    return schema


def _leaf_schema(node: dict, path: str) -> dict:
    tao_type = node.get("type")
    schema: dict[str, Any]
    if tao_type in SCALAR_TYPES:
        schema = {"type": SCALAR_TYPES[tao_type]}
    elif tao_type == "categorical":
        schema = {}
    elif tao_type == "list":
        schema = {"type": "array"}
        items = LIST_ITEM_HINTS.get(path) or _items_from_default(node.get("default"))
        if items:
            schema["items"] = items
    elif isinstance(tao_type, str) and tao_type.startswith(FIXED_LIST_PREFIX) and tao_type[5:].split("_")[0].isdigit():
        length = int(tao_type[5:].split("_")[0])
        schema = {"type": "array", "minItems": length, "maxItems": length}
        items = _items_from_default(node.get("default"))
        if items:
            schema["items"] = items
    else:
        raise UserError(f"unknown TAO type {tao_type!r}", field=path or "(root)",
                        fix="teach tao_skill_bank.oi.jsonschema_translate this type (see docs/schemas.md)")
    if isinstance(node.get("enum"), list):
        schema["enum"] = list(node["enum"])
    for bound in ("minimum", "maximum"):
        value = node.get(bound)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            schema[bound] = value
    return schema


def _wrap(schema: dict, node: dict, mode: str, allow_placeholder: bool) -> dict:
    """Add the alternatives a TAO value may take: null (default null or no default) and, in
    template mode, the `???` placeholder; refuse the placeholder in submit mode."""
    alternatives = [schema]
    nullable = node.get("type") not in ("collection", "object") and node.get("default", None) is None
    if nullable:
        alternatives.append({"type": "null"})
    if allow_placeholder and mode == "template":
        alternatives.append({"const": PLACEHOLDER})
    out = {"anyOf": alternatives} if len(alternatives) > 1 else dict(schema)
    if allow_placeholder and mode == "submit" and schema.get("type") in ("string", None):
        out["not"] = {"const": PLACEHOLDER}
    out.update(_annotations(node))
    return out


def _items_from_default(default: Any) -> dict | None:
    if isinstance(default, list) and default:
        item_type = _common_type(default)
        return {"type": item_type} if item_type else None
    return None


def _common_type(values: list) -> str | None:
    """The JSON type shared by all values (ints and floats together are numbers)."""
    kinds = set()
    for value in values:
        if isinstance(value, bool):
            kinds.add("boolean")
        elif isinstance(value, int):
            kinds.add("integer")
        elif isinstance(value, float):
            kinds.add("number")
        elif isinstance(value, str):
            kinds.add("string")
        else:
            return None
    if kinds == {"integer", "number"}:
        return "number"
    return kinds.pop() if len(kinds) == 1 else None


def _is_finite_json(value: Any) -> bool:
    """True when the value serialises as strict JSON (no Infinity/NaN anywhere)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_is_finite_json(v) for v in value.values())
    if isinstance(value, list):
        return all(_is_finite_json(v) for v in value)
    return True


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name

"""TAO schema -> JSON Schema 2020-12: types, enums, finite bounds, closed objects, annotations,
the `???` placeholder per mode, and the shipped schemas translating to valid JSON Schema."""

import json

import jsonschema
import pytest

from support import REPO_ROOT
from tao_skill_bank.errors import UserError
from tao_skill_bank.oi.jsonschema_translate import to_json_schema

INF = float("inf")
TAO = {
    "type": "object",
    "properties": {
        "results_dir": {"type": "string", "default": ""},
        "model": {
            "type": "collection",
            "properties": {
                "margin": {"type": "float", "default": 2.0, "minimum": 1.0, "maximum": INF,
                           "automl_enabled": True, "math_cond": "> 0.0"},
                "model_type": {"type": "categorical", "default": "Siamese_3", "enum": ["Siamese", "Siamese_3"]},
                "embedding_vectors": {"type": "int", "default": 5, "minimum": 1, "maximum": INF},
                "pretrained": {"type": "bool", "default": False},
                "monitor": {"type": "string"},
            },
            "default": {"margin": 2.0},
            "automl_default_parameters": ["model.margin"],
        },
        "dataset": {
            "type": "collection",
            "properties": {
                "images_dir": {"type": "string", "default": "???"},
                "input_map": {"type": "collection", "default": {"A": 0, "B": 1}},
                "gpu_ids": {"type": "list", "default": [0]},
                "std": {"type": "list", "default": [0.2, 1]},
                "pair": {"type": "list_2", "default": [1, 2]},
                "order": {"type": "ordered_int", "default": 3, "option_weights": [0.5, 0.5]},
            },
        },
        "automl_disabled_parameters": ["model", "dataset"],
    },
    "default": {},
    "automl_default_parameters": ["model.margin"],
    "popular": {"model": {"margin": 2.0}},
}


def _errors(schema, instance):
    return list(jsonschema.Draft202012Validator(schema).iter_errors(instance))


@pytest.mark.parametrize("mode", ["template", "submit"])
def test_translation_is_valid_strict_json_schema(mode):
    schema = to_json_schema(TAO, mode)
    jsonschema.Draft202012Validator.check_schema(schema)
    json.dumps(schema, allow_nan=False)  # no Infinity left anywhere
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_types_bounds_and_enums_are_translated():
    model = to_json_schema(TAO, "submit")["properties"]["model"]
    assert model["additionalProperties"] is False
    margin = model["properties"]["margin"]
    assert margin["type"] == "number" and margin["minimum"] == 1.0 and "maximum" not in margin
    assert margin["x-tao-automl-enabled"] is True and margin["x-tao-math-cond"] == "> 0.0"
    assert model["properties"]["embedding_vectors"]["type"] == "integer"
    assert model["properties"]["pretrained"]["type"] == "boolean"
    assert model["properties"]["model_type"]["enum"] == ["Siamese", "Siamese_3"]
    assert model["x-tao-automl-default-parameters"] == ["model.margin"]


def test_lists_get_item_types_and_fixed_lengths():
    props = to_json_schema(TAO, "submit")["properties"]["dataset"]["properties"]
    assert props["gpu_ids"]["items"] == {"type": "integer"}
    assert props["std"]["items"] == {"type": "number"}  # ints and floats together are numbers
    assert props["pair"]["minItems"] == props["pair"]["maxItems"] == 2
    assert props["order"]["type"] == "integer" and props["order"]["x-tao-option-weights"] == [0.5, 0.5]
    assert props["input_map"] == {"type": "object", "additionalProperties": {"type": "integer"}, "default": {"A": 0, "B": 1}}


def test_root_annotations_keep_automl_metadata_but_not_the_stray_list_as_a_key():
    schema = to_json_schema(TAO, "submit")
    assert "automl_disabled_parameters" not in schema["properties"]
    assert schema["x-tao-disabled-blocks"] == ["model", "dataset"]
    assert schema["x-tao-popular"] == {"model": {"margin": 2.0}}


@pytest.mark.parametrize("instance, field", [
    ({"model": {"margin": "big"}}, "margin"),             # wrong type
    ({"model": {"margin": 0.5}}, "margin"),               # below the minimum
    ({"model": {"model_type": "Triplet"}}, "model_type"), # unknown enum
    ({"model": {"marginn": 2.0}}, "model"),               # unknown key
    ({"dataset": {"input_map": ["A", "B"]}}, "input_map"),  # a list input_map
    ({"dataset": {"gpu_ids": ["0"]}}, "gpu_ids"),         # wrong item type
    ({"dataset": {"pair": [1, 2, 3]}}, "pair"),           # wrong fixed length
    ({"surprise": 1}, None),                              # unknown top-level key
])
def test_bad_values_are_rejected_in_both_modes(instance, field):
    for mode in ("template", "submit"):
        errors = _errors(to_json_schema(TAO, mode), instance)
        assert errors, (mode, instance)
        if field:
            assert field in "/".join(map(str, errors[0].absolute_path)) or field in errors[0].message


def test_placeholder_is_template_only():
    spec = {"dataset": {"images_dir": "???"}, "model": {"embedding_vectors": "???"}}
    assert _errors(to_json_schema(TAO, "template"), spec) == []
    submit_errors = _errors(to_json_schema(TAO, "submit"), spec)
    assert sorted(e.absolute_path[-1] for e in submit_errors) == ["embedding_vectors", "images_dir"]


def test_null_is_allowed_only_where_the_default_is_null():
    schema = to_json_schema(TAO, "submit")
    assert _errors(schema, {"model": {"monitor": None}}) == []        # no default = None at runtime
    assert _errors(schema, {"model": {"margin": None}})                # default 2.0: not nullable


def test_valid_values_pass():
    spec = {"results_dir": "/r", "model": {"margin": 3, "model_type": "Siamese", "pretrained": True},
            "dataset": {"images_dir": "/d", "input_map": {"X": 0}, "gpu_ids": [0, 1], "std": [0.1, 0.2, 0.3]}}
    assert _errors(to_json_schema(TAO, "submit"), spec) == []


def test_unknown_tao_type_is_a_clear_error():
    with pytest.raises(UserError, match="unknown TAO type 'tensor'") as info:
        to_json_schema({"type": "object", "properties": {"x": {"type": "tensor"}}}, "submit")
    assert info.value.field == "x"


def test_bad_mode_is_refused():
    with pytest.raises(ValueError):
        to_json_schema(TAO, "strict")


SHIPPED = sorted((REPO_ROOT / "skills").glob("*/schemas/*.schema.json"))


@pytest.mark.parametrize("path", [p for p in SHIPPED if json.loads(p.read_text()).get("properties", {})
                                  .get("dataset", {}).get("type") == "collection"],
                         ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_shipped_tao_schemas_translate_to_valid_json_schema(path):
    tao = json.loads(path.read_text())
    for mode in ("template", "submit"):
        jsonschema.Draft202012Validator.check_schema(to_json_schema(tao, mode))

"""The deploy skill's files agree with each other and with the train skill:
skill_info, TensorRT schemas (derived from generated blocks), templates, manifest, evals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from support import REPO_ROOT
from tao_skill_bank.oi.deploy_rules import VALID_DATA_TYPES
from tao_skill_bank.oi.jsonschema_translate import to_json_schema
from tao_skill_bank.oi.skillinfo import load_skill_info
from tao_skill_bank.oi.specdoc import get_dotted

DEPLOY = REPO_ROOT / "skills" / "tao-deploy-optical-inspection"
TRAIN = REPO_ROOT / "skills" / "tao-train-optical-inspection"
TRT_ACTIONS = ("evaluate", "inference")
# Keys whose values decide how the engine's input is preprocessed or scored: a deploy spec that
# differs from training here shifts every score without an error.
SHARED_WITH_TRAIN = (
    "dataset.image_width", "dataset.image_height", "dataset.input_map", "dataset.image_ext",
    "dataset.num_input", "dataset.concat_type", "dataset.grid_map",
    "dataset.augmentation_config.rgb_input_mean", "dataset.augmentation_config.rgb_input_std",
    "model.model_type", "model.margin", "model.embedding_vectors",
)
# Root blocks of the TensorRT schemas copied unchanged from the generated gen_trt_engine schema.
COPIED_BLOCKS = ("model_name", "encryption_key", "results_dir", "wandb", "model", "dataset", "train",
                 "dataset_convert", "automl_disabled_parameters")
_ABSENT = object()


def dotted(data, key):
    return get_dotted(data, key, _ABSENT)


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"{path.relative_to(REPO_ROOT)} not generated yet (tao-skills schemas regenerate)")
    return path


@pytest.fixture(scope="module")
def info():
    return load_skill_info(DEPLOY)


def test_skill_info_declares_the_three_deploy_actions_on_the_deploy_image(info):
    assert info.skill == DEPLOY.name and info.network == "optical_inspection"
    assert info.automl_enabled is False
    assert set(info.actions) == {"gen_trt_engine", "evaluate", "inference"}
    subdirs = {name: a.results_subdir for name, a in info.actions.items()}
    assert subdirs == {"gen_trt_engine": "gen_trt_engine", "evaluate": "trt_evaluate", "inference": "trt_inference"}
    for name, action in info.actions.items():
        assert action.image_key == "images.tao_toolkit.deploy"
        assert action.entrypoint == ["optical_inspection", name]
        assert (DEPLOY / action.schema).is_file() or name == "gen_trt_engine"
        assert action.template == f"references/spec_template_deploy_{name}.yaml"


def test_tensorrt_evaluate_fills_infer_dataset_from_the_eval_data(info):
    sources = {d.spec_key: d.source for d in info.action("evaluate").data_sources}
    assert sources == {"dataset.infer_dataset.images_dir": "eval_data", "dataset.infer_dataset.csv_path": "eval_data"}
    sources = {d.spec_key: d.source for d in info.action("inference").data_sources}
    assert sources == {"dataset.infer_dataset.images_dir": "infer_data", "dataset.infer_dataset.csv_path": "infer_data"}


def test_calibration_data_is_required_only_for_int8(info):
    [calibration] = info.action("gen_trt_engine").data_sources
    assert calibration.spec_key == "gen_trt_engine.tensorrt.calibration.cal_image_dir"
    assert calibration.source == "calibration_data" and calibration.list
    assert calibration.required is True
    assert calibration.only_if == "gen_trt_engine.tensorrt.data_type=int8"


def test_engine_file_comes_from_the_parent_job(info):
    for action in TRT_ACTIONS:
        params = {p.spec_key: p.resolver for p in info.action(action).spec_params}
        assert params[f"{action}.trt_engine"] == "parent_model"
        assert params["results_dir"] == "output_dir"
    params = {p.spec_key: p.resolver for p in info.action("gen_trt_engine").spec_params}
    assert params["gen_trt_engine.onnx_file"] == "parent_onnx"
    assert params["gen_trt_engine.trt_engine"] == "create_engine_file"
    assert params["gen_trt_engine.tensorrt.calibration.cal_cache_file"] == "create_cal_cache"


def deploy_templates():
    paths = {a: DEPLOY / "references" / f"spec_template_deploy_{a}.yaml" for a in TRT_ACTIONS}
    generated = DEPLOY / "references" / "spec_template_deploy_gen_trt_engine.yaml"
    if generated.is_file():
        paths["gen_trt_engine"] = generated
    return paths


@pytest.mark.parametrize("action", ["gen_trt_engine", *TRT_ACTIONS])
def test_templates_carry_the_train_templates_values_for_every_shared_key(action):
    train = load_yaml(need(TRAIN / "references" / "spec_template_train.yaml"))
    template = load_yaml(need(DEPLOY / "references" / f"spec_template_deploy_{action}.yaml"))
    for key in SHARED_WITH_TRAIN:
        expected = dotted(train, key)
        assert expected is not _ABSENT, f"train template lost {key}"
        assert dotted(template, key) == expected, f"{action} template {key}"
    # input_map order matters (lightings are iterated in YAML order), not only its content.
    assert list(dotted(template, "dataset.input_map")) == list(dotted(train, "dataset.input_map"))


@pytest.mark.parametrize("action", ["gen_trt_engine", *TRT_ACTIONS])
def test_templates_are_square_and_consistent(action):
    template = load_yaml(need(DEPLOY / "references" / f"spec_template_deploy_{action}.yaml"))
    assert template["dataset"]["image_width"] == template["dataset"]["image_height"]
    assert template["dataset"]["num_input"] == len(template["dataset"]["input_map"])


def test_gen_trt_engine_template_builds_one_precision_fp16():
    template = load_yaml(need(DEPLOY / "references" / "spec_template_deploy_gen_trt_engine.yaml"))
    trt = template["gen_trt_engine"]["tensorrt"]
    assert trt["data_type"] == "fp16" and trt["data_type"] in VALID_DATA_TYPES
    assert trt["min_batch_size"] <= trt["opt_batch_size"] <= trt["max_batch_size"]


@pytest.mark.parametrize("action", TRT_ACTIONS)
def test_tensorrt_templates_read_infer_dataset_and_a_batch_inside_any_profile(action):
    template = load_yaml(DEPLOY / "references" / f"spec_template_deploy_{action}.yaml")
    assert set(template["dataset"]) >= {"infer_dataset"}
    assert "test_dataset" not in template["dataset"]
    assert template[action]["trt_engine"] == "???"
    assert template[action]["batch_size"] == 1
    assert "checkpoint" not in template[action]


@pytest.mark.parametrize("action", TRT_ACTIONS)
def test_templates_validate_against_their_schema_and_unknown_keys_do_not(action):
    import jsonschema

    schema = to_json_schema(load_json(DEPLOY / "schemas" / f"{action}.schema.json"), "template")
    template = load_yaml(DEPLOY / "references" / f"spec_template_deploy_{action}.yaml")
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(template)) == []
    template[action]["checkpoint_path"] = "/x.pth"
    assert [e.message for e in validator.iter_errors(template)]
    submit = jsonschema.Draft202012Validator(to_json_schema(load_json(DEPLOY / "schemas" / f"{action}.schema.json"), "submit"))
    unset = {".".join(map(str, e.path)) for e in submit.iter_errors(load_yaml(
        DEPLOY / "references" / f"spec_template_deploy_{action}.yaml"))}
    assert unset == {"results_dir", "dataset.infer_dataset.images_dir", "dataset.infer_dataset.csv_path",
                     f"{action}.trt_engine"}


@pytest.mark.parametrize("action", TRT_ACTIONS)
def test_tensorrt_schemas_copy_the_generated_blocks_unchanged(action):
    generated = load_json(need(DEPLOY / "schemas" / "gen_trt_engine.schema.json"))
    derived = load_json(DEPLOY / "schemas" / f"{action}.schema.json")
    for block in COPIED_BLOCKS:
        assert derived["properties"][block] == generated["properties"][block], block
    for key in ("automl_default_parameters", "automl_disabled_parameters", "popular"):
        assert derived[key] == generated[key], key
    # The root default is rebuilt from the blocks, so templates and AutoML see the same values.
    for block, node in derived["properties"].items():
        if isinstance(node, dict) and "default" in node:
            assert derived["default"][block] == node["default"], block


@pytest.mark.parametrize("action", TRT_ACTIONS)
def test_tensorrt_action_block_is_the_pytorch_block_with_three_changes(action):
    pytorch = load_json(need(TRAIN / "schemas" / f"{action}.schema.json"))["properties"][action]
    tensorrt = load_json(DEPLOY / "schemas" / f"{action}.schema.json")["properties"][action]
    assert set(tensorrt["properties"]) == set(pytorch["properties"])
    changed = {k for k in pytorch["properties"] if tensorrt["properties"][k] != pytorch["properties"][k]}
    assert changed == {"trt_engine", "checkpoint", "batch_size"}
    assert tensorrt["properties"]["trt_engine"]["default"] == "???"
    assert tensorrt["properties"]["checkpoint"]["default"] == ""
    assert tensorrt["properties"]["batch_size"]["default"] == 1
    for key in ("type", "minimum", "maximum"):
        assert tensorrt["properties"]["batch_size"].get(key) == pytorch["properties"]["batch_size"].get(key)


@pytest.mark.parametrize("action", TRT_ACTIONS)
def test_engine_block_in_tensorrt_schemas_requires_nothing_and_keeps_the_profile(action):
    generated = load_json(need(DEPLOY / "schemas" / "gen_trt_engine.schema.json"))["properties"]["gen_trt_engine"]
    engine = load_json(DEPLOY / "schemas" / f"{action}.schema.json")["properties"]["gen_trt_engine"]
    assert "???" not in json.dumps(engine["default"])
    assert engine["default"]["tensorrt"]["data_type"] == "fp16"
    gen_trt = generated["properties"]["tensorrt"]["properties"]
    for key in ("min_batch_size", "opt_batch_size", "max_batch_size"):
        assert engine["properties"]["tensorrt"]["properties"][key] == gen_trt[key]


def test_manifest_lists_every_action_with_existing_files():
    manifest = load_json(DEPLOY / "schemas" / "manifest.json")
    assert manifest["skill"] == DEPLOY.name
    for action in TRT_ACTIONS:
        entry = manifest["actions"][action]
        assert (DEPLOY / entry["schema"]).is_file() and (DEPLOY / entry["template"]).is_file()
        assert "generated_by" not in entry  # hand-derived: regeneration must keep, not replace, it
    if (DEPLOY / "schemas" / "gen_trt_engine.schema.json").is_file():
        assert manifest["actions"]["gen_trt_engine"]["schema"] == "schemas/gen_trt_engine.schema.json"


def test_evals_cover_the_four_required_requests():
    evals = load_json(DEPLOY / "evals" / "evals.json")
    assert evals["skill_name"] == DEPLOY.name
    text = [json.dumps(e).lower() for e in evals["evals"]]
    assert len({e["id"] for e in evals["evals"]}) == len(evals["evals"]) >= 4
    assert any("fp16" in t and "gen_trt_engine" in t for t in text)
    assert any("--action evaluate" in t and "infer_dataset" in t for t in text)
    assert any("--action inference" in t and "gaps run" in t for t in text)
    assert any("int8" in t and "calibration" in t for t in text)


def test_skill_md_routes_to_references_that_exist():
    import re

    text = (DEPLOY / "SKILL.md").read_text(encoding="utf-8")
    front = yaml.safe_load(text.split("---")[1])
    assert set(front) <= {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}
    assert front["name"] == DEPLOY.name
    assert len(front["description"]) <= 1024 and not set("<>") & set(front["description"])
    assert len(text.splitlines()) < 500
    links = re.findall(r"\]\((references/[^)#]+)", text)
    assert links and all((DEPLOY / link).is_file() for link in links)
    for command in ("--action gen_trt_engine", "--action evaluate", "--action inference", "gaps"):
        assert command in text


# ---------------------------------------------------------------- through `tao-skills spec build`

@pytest.fixture
def ws(tmp_path) -> Path:
    """An export job (ONNX), an engine job (engine) and one extracted split with a wrapper folder."""
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "model.onnx").write_bytes(b"onnx")
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "model.engine").write_bytes(b"plan")
    images = tmp_path / "split" / "images" / "images"
    (images / "golden").mkdir(parents=True)
    (images / "board_0").mkdir()
    (tmp_path / "split" / "dataset.csv").write_text("input_path,golden_path,object_name,label\nboard_0,golden,C1,PASS\n")
    return tmp_path


def build(ws: Path, action: str, *extra: str):
    from support import run_cli

    out = ws / "jobs" / f"{action}.yaml"
    parent = ws / ("export" if action == "gen_trt_engine" else "engine")
    result = run_cli("spec", "build", "--skill", DEPLOY.name, "--action", action, "--parent-job", parent,
                     "--job-dir", ws / "jobs" / action, "-o", out, "--json", *extra)
    return result, out


def test_fp16_engine_spec_builds_without_data_and_drops_calibration_placeholders(ws):
    result, out = build(ws, "gen_trt_engine")
    assert result.code == 0, result.stderr
    spec = load_yaml(out)
    trt = spec["gen_trt_engine"]["tensorrt"]
    assert trt["data_type"] == "fp16"
    assert "cal_image_dir" not in trt["calibration"]
    assert spec["gen_trt_engine"]["onnx_file"] == str(ws / "export" / "model.onnx")
    assert spec["gen_trt_engine"]["trt_engine"] == str(ws / "jobs" / "gen_trt_engine" / "model.engine")
    assert "???" not in out.read_text()


def test_int8_without_calibration_data_is_refused_and_nothing_is_written(ws):
    from support import assert_one_line_error

    result, out = build(ws, "gen_trt_engine", "--set", "gen_trt_engine.tensorrt.data_type=int8")
    assert_one_line_error(result, "cal_image_dir", "--calibration-data")
    assert not out.exists()


def test_int8_with_calibration_data_gets_the_extracted_images_folder(ws):
    result, out = build(ws, "gen_trt_engine", "--set", "gen_trt_engine.tensorrt.data_type=int8",
                        "--calibration-data", ws / "split")
    assert result.code == 0, result.stderr
    calibration = load_yaml(out)["gen_trt_engine"]["tensorrt"]["calibration"]
    assert calibration["cal_image_dir"] == [str(ws / "split" / "images" / "images")]
    assert calibration["cal_cache_file"] == str(ws / "jobs" / "gen_trt_engine" / "cal.bin")


def test_option_list_precision_is_refused_with_the_reason(ws):
    from support import assert_one_line_error

    result, out = build(ws, "gen_trt_engine", "--set", "gen_trt_engine.tensorrt.data_type=fp32,fp16")
    assert_one_line_error(result, "gen_trt_engine.tensorrt.data_type", "silently", "FP32")
    assert result.code == 3 and not out.exists()
    assert [i["path"] for i in json.loads(result.stdout)["issues"]] == ["gen_trt_engine.tensorrt.data_type"]


def test_tensorrt_evaluate_fills_infer_dataset_from_eval_data(ws):
    result, out = build(ws, "evaluate", "--eval-data", ws / "split")
    assert result.code == 0, result.stderr
    spec = load_yaml(out)
    assert spec["dataset"]["infer_dataset"] == {"images_dir": str(ws / "split" / "images" / "images"),
                                                "csv_path": str(ws / "split" / "dataset.csv")}
    assert "test_dataset" not in spec["dataset"]
    assert spec["evaluate"]["trt_engine"] == str(ws / "engine" / "model.engine")
    assert spec["results_dir"] == str(ws / "jobs" / "evaluate")


def test_evaluate_refuses_the_pytorch_data_flag(ws):
    from support import assert_one_line_error

    result, _ = build(ws, "evaluate", "--infer-data", ws / "split")
    assert_one_line_error(result, "--infer-data", "--eval-data")


def test_inference_batch_outside_the_recorded_profile_is_refused(ws):
    profile = ["--set", "gen_trt_engine.tensorrt.min_batch_size=1", "--set", "gen_trt_engine.tensorrt.opt_batch_size=4",
               "--set", "gen_trt_engine.tensorrt.max_batch_size=4"]
    result, out = build(ws, "inference", "--infer-data", ws / "split", "--set", "inference.batch_size=8", *profile)
    assert result.code == 3 and not out.exists()
    assert "inference.batch_size" in result.stderr and "1 to 4" in result.stderr
    result, out = build(ws, "inference", "--infer-data", ws / "split", "--set", "inference.batch_size=4", *profile)
    assert result.code == 0, result.stderr
    assert load_yaml(out)["gen_trt_engine"]["tensorrt"]["max_batch_size"] == 4


def test_non_square_deploy_size_is_refused(ws):
    result, out = build(ws, "inference", "--infer-data", ws / "split", "--set", "dataset.image_height=512")
    assert result.code == 3 and not out.exists()
    assert "dataset.image_height" in result.stderr and "transposed" in result.stderr


def test_skill_md_sections_one_to_three_run_as_written(tmp_path):
    """Sections 1-3 of SKILL.md pasted into bash (fake docker): engine spec from the export job,
    then TensorRT evaluate and inference from the engine job, each on the Deploy image."""
    import os
    import re
    import subprocess

    from PIL import Image

    from support import fake_tools, recorded_calls, run_cli, tao_skills_on_path

    body = (DEPLOY / "SKILL.md").read_text()
    blocks = [re.search(r"```bash\n(.*?)```", body.split(f"## {n}.")[1], flags=re.S).group(1) for n in (1, 2, 3)]
    (tmp_path / "jobs" / "export_001").mkdir(parents=True)
    (tmp_path / "jobs" / "export_001" / "model.onnx").write_bytes(b"onnx")
    engine_job = tmp_path / "jobs" / "engine_built"
    engine_job.mkdir()
    (engine_job / "model.engine").write_bytes(b"plan")
    for name in ("eval", "infer"):
        images = tmp_path / "data" / name / "images" / "images"
        for folder in ("golden", "b1"):
            (images / folder).mkdir(parents=True)
            Image.new("RGB", (4, 4)).save(images / folder / "C1_SolderLight.png")   # section 2 checks the split
        (tmp_path / "data" / name / "dataset.csv").write_text("input_path,golden_path,object_name,label\nb1,golden,C1,PASS\n")
    calls = tmp_path / "calls.jsonl"
    env = {**os.environ, "PATH": tao_skills_on_path(tmp_path / "shim") + fake_tools(tmp_path / "bin", calls)["PATH"],
           "WS": str(tmp_path), "EXPORT_JOB": str(tmp_path / "jobs" / "export_001"), "ENGINE_JOB": str(engine_job),
           "EVAL_SPLIT": str(tmp_path / "data" / "eval"), "INFER_SPLIT": str(tmp_path / "data" / "infer")}
    proc = subprocess.run(["bash", "-euc", "\n".join(blocks)], env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    engine_spec = load_yaml(tmp_path / "jobs" / "trt_engine_fp16" / "spec.yaml")
    assert engine_spec["gen_trt_engine"]["onnx_file"] == str(tmp_path / "jobs" / "export_001" / "model.onnx")
    assert engine_spec["gen_trt_engine"]["tensorrt"]["data_type"] == "fp16"
    evaluate = load_yaml(tmp_path / "jobs" / "trt_evaluate" / "spec.yaml")
    assert evaluate["dataset"]["infer_dataset"]["images_dir"] == str(tmp_path / "data" / "eval" / "images" / "images")
    assert evaluate["evaluate"]["trt_engine"] == str(engine_job / "model.engine")
    runs = [c for c in recorded_calls(calls) if c[:2] == ["docker", "run"] and "chown" not in c]
    assert [r[-3] for r in runs] == ["evaluate", "inference"]  # section 1 is a dry run
    image = run_cli("versions", "get", "images.tao_toolkit.deploy").stdout.strip()
    assert image and all(image in r for r in runs)
    assert (tmp_path / "jobs" / "trt_inference" / "trt_inference" / "container_run.log").is_file()


@pytest.mark.parametrize("action, producer, key", [
    ("evaluate", "gen_trt_engine", "evaluate.trt_engine"),
    ("inference", "gen_trt_engine", "inference.trt_engine"),
])
def test_parent_job_without_an_engine_says_to_build_one_first(ws, action, producer, key):
    from support import assert_one_line_error, run_cli

    (ws / "engine" / "model.engine").unlink()
    out = ws / "jobs" / f"{action}.yaml"
    result = run_cli("spec", "build", "--skill", DEPLOY.name, "--action", action, "--parent-job", ws / "engine",
                     f"--{'eval' if action == 'evaluate' else 'infer'}-data", ws / "split", "-o", out)
    assert_one_line_error(result, "no .engine in the parent job", f"run {producer} first", f"--set {key}=PATH")
    assert not out.exists()


def test_engine_build_from_a_job_without_onnx_says_to_export_first(ws):
    from support import assert_one_line_error

    (ws / "export" / "model.onnx").unlink()
    result, out = build(ws, "gen_trt_engine")
    assert_one_line_error(result, "no .onnx in the parent job", "run export first", "--set gen_trt_engine.onnx_file=PATH")
    assert not out.exists()

"""Spec validation (schema + rules, dotted path + expected vs got) and the spec builder
(template + data sources + overrides + platform params, submit-mode validation)."""

import copy

import pytest
import yaml

from support import make_oi_split as make_split
from support import REPO_ROOT
from tao_skill_bank.errors import UserError
from tao_skill_bank.oi.spec import build_spec, build_spec_report, validate_spec
from tao_skill_bank.oi.specdoc import SpecInvalid, get_dotted, parse_set_values, set_dotted

TRAIN = REPO_ROOT / "skills" / "tao-train-optical-inspection"
DEPLOY = REPO_ROOT / "skills" / "tao-deploy-optical-inspection"
ACTIONS = ["train", "evaluate", "inference", "export"]


def template(action):
    return yaml.safe_load((TRAIN / f"references/spec_template_{action}.yaml").read_text())


@pytest.mark.parametrize("action", ACTIONS)
def test_shipped_templates_validate_in_template_mode(action):
    assert validate_spec(template(action), TRAIN, action, mode="template") == []


def test_template_in_submit_mode_names_each_placeholder_and_how_to_fill_it():
    issues = {i.path: i for i in validate_spec(template("evaluate"), TRAIN, "evaluate", mode="submit")}
    assert "dataset.test_dataset.images_dir" in issues and "evaluate.checkpoint" in issues
    assert issues["dataset.test_dataset.images_dir"].got == "'???'"
    assert "--eval-data" in issues["dataset.test_dataset.images_dir"].message
    assert "--parent-job" in issues["evaluate.checkpoint"].message


@pytest.mark.parametrize("key, value, expected_part, got_part", [
    ("dataset.batch_size", "eight", "integer", "string 'eight'"),       # text that is no number
    ("dataset.image_width", 128.0, "integer", "number 128.0"),           # a float for an int
    ("dataset.input_map", ["LowAngleLight"], "mapping", "array"),        # a list input_map
    ("train.gpu_ids", 0, "list", "integer 0"),                           # a scalar for a list
    ("train.gpu_ids", [0.5], "integer", "number 0.5"),                   # wrong item type
    ("train.optim.lr", True, "number", "boolean true"),                  # a bool for a float
    ("train.num_epochs", None, "integer", "null"),                       # null for a non-Optional field
])
def test_bad_values_are_reported_as_path_expected_got(key, value, expected_part, got_part):
    spec = template("train")
    set_dotted(spec, key, value)
    issues = [i for i in validate_spec(spec, TRAIN, "train", mode="template") if i.path.startswith(key)]
    assert len(issues) == 1, issues
    assert expected_part in issues[0].expected and got_part in issues[0].got


@pytest.mark.parametrize("key, value", [
    ("model.margin", 0.5),                    # below the AutoML search minimum: TAO runs with it
    ("model.model_type", "Triplet"),          # outside the schema's option list: the merge takes any text
    ("train.optim.lr", "5e-4"),               # PyYAML text, converted to a float by the merge
    ("dataset.batch_size", "8"),              # quoted whole number
    ("train.pretrained_model_path", None),    # Optional
    ("dataset.fpratio_sampling", 1.5),
])
def test_values_the_container_merges_are_not_refused(key, value):
    spec = template("train")
    set_dotted(spec, key, value)
    assert [i for i in validate_spec(spec, TRAIN, "train", mode="template") if i.path.startswith(key)] == []


def test_unknown_keys_are_reported_with_the_nearest_name():
    spec = template("train")
    spec["dataset"]["batchsize"] = 4
    spec["trian"] = {}
    issues = {i.path: i for i in validate_spec(spec, TRAIN, "train", mode="template")}
    assert issues["dataset.batchsize"].got == "unknown key" and "batch_size" in issues["dataset.batchsize"].message
    assert "train" in issues["trian"].message


def test_submit_mode_rejects_placeholders_and_runs_the_rules():
    spec = template("train")
    spec["dataset"]["batch_size"] = 1
    paths = {i.path for i in validate_spec(spec, TRAIN, "train", mode="submit")}
    assert "dataset.batch_size" in paths and "dataset.train_dataset.csv_path" in paths
    assert validate_spec([], TRAIN, "train")[0].path == "(root)"


def test_build_train_from_local_splits_finds_the_wrapped_images_dir(tmp_path):
    train, train_images = make_split(tmp_path, "train")
    val, val_images = make_split(tmp_path, "val", wrapper=False)
    report = build_spec_report(TRAIN, "train", data={"train_data": str(train), "eval_data": str(val)},
                               overrides=parse_set_values(["train.num_epochs=3", "dataset.batch_size=2",
                                                           "results_dir=/ws/jobs/train"]))
    spec = report.spec
    assert get_dotted(spec, "dataset.train_dataset.images_dir") == str(train_images)
    assert get_dotted(spec, "dataset.train_dataset.csv_path") == str(train / "dataset.csv")
    for split in ("validation_dataset", "test_dataset"):
        assert get_dotted(spec, f"dataset.{split}.images_dir") == str(val_images)
    assert spec["train"]["num_epochs"] == 3 and spec["dataset"]["batch_size"] == 2
    assert "infer_dataset" not in spec["dataset"] or spec["dataset"]["infer_dataset"] == {}
    assert "dataset.infer_dataset.images_dir" in report.pruned
    assert validate_spec(spec, TRAIN, "train", mode="submit") == []


def test_build_with_uris_points_at_the_tarball_and_csv():
    spec = build_spec(TRAIN, "inference", data={"infer_data": "s3://bucket/aoi/infer/"},
                      overrides={"results_dir": "/ws/jobs/j", "inference.checkpoint": "/ws/train/model_epoch_009_step_00100.pth"})
    assert spec["dataset"]["infer_dataset"] == {"csv_path": "s3://bucket/aoi/infer/dataset.csv",
                                                "images_dir": "s3://bucket/aoi/infer/images.tar.gz"}


def test_explicit_override_wins_over_the_data_source():
    spec = build_spec(TRAIN, "evaluate", data={"eval_data": "s3://b/val"},
                      overrides={"results_dir": "/ws/jobs/j", "dataset.test_dataset.csv_path": "s3://b/other.csv",
                                 "evaluate.checkpoint": "/m.pth"})
    assert spec["dataset"]["test_dataset"]["csv_path"] == "s3://b/other.csv"


def test_missing_mandatory_source_names_the_flag():
    with pytest.raises(UserError) as info:
        build_spec(TRAIN, "train", data={"train_data": "s3://b/train"}, overrides={})
    assert "--eval-data" in info.value.fix and info.value.field.startswith("dataset.validation_dataset")


def test_a_source_the_action_does_not_read_is_refused():
    with pytest.raises(UserError) as info:
        build_spec(TRAIN, "evaluate", data={"eval_data": "s3://b/v", "train_data": "s3://b/t"},
                   overrides={"evaluate.checkpoint": "/m.pth"})
    assert info.value.field == "--train-data" and "--eval-data" in info.value.fix


def test_missing_local_split_is_a_clear_error(tmp_path):
    with pytest.raises(UserError) as info:
        build_spec(TRAIN, "evaluate", data={"eval_data": str(tmp_path / "nope")}, overrides={})
    assert info.value.field == "--eval-data" and "not found" in info.value.message


def test_train_batch_size_one_is_refused_with_the_reason():
    with pytest.raises(SpecInvalid) as info:
        build_spec(TRAIN, "train", data={"train_data": "s3://b/t", "eval_data": "s3://b/v"},
                   overrides={"results_dir": "/ws/jobs/j", "dataset.batch_size": 1})
    assert [i.path for i in info.value.issues] == ["dataset.batch_size"]
    assert "dataloader asserts" in info.value.one_line() and info.value.exit_code == 3


def test_unknown_override_key_is_refused():
    with pytest.raises(SpecInvalid) as info:
        build_spec(TRAIN, "export", data={}, overrides={"results_dir": "/ws/jobs/j", "export.onnx_file": "/o.onnx",
                                                        "export.checkpoint": "/m.pth", "export.opset": 17})
    assert [i.path for i in info.value.issues] == ["export.opset"]


def test_results_dir_unset_is_refused_with_the_fix():
    with pytest.raises(SpecInvalid) as info:
        build_spec(TRAIN, "export", data={}, overrides={"export.onnx_file": "/o.onnx", "export.checkpoint": "/m.pth"})
    assert [i.path for i in info.value.issues] == ["results_dir"] and "--job-dir" in info.value.one_line()


def test_export_needs_a_checkpoint():
    with pytest.raises(SpecInvalid) as info:
        build_spec(TRAIN, "export", data={}, overrides={"results_dir": "/ws/jobs/j", "export.onnx_file": "/o.onnx"})
    assert [i.path for i in info.value.issues] == ["export.checkpoint"]


def test_parent_and_job_folders_fill_platform_params(tmp_path):
    parent = tmp_path / "train_job"
    parent.mkdir()
    (parent / "model_epoch_004_step_00050.pth").write_bytes(b"x")
    job = tmp_path / "export_job"
    report = build_spec_report(TRAIN, "export", data={}, overrides={}, parent_job=parent, job_dir=job)
    spec = report.spec
    assert spec["export"]["checkpoint"] == str(parent / "model_epoch_004_step_00050.pth")
    assert spec["export"]["onnx_file"].endswith("model.onnx") and spec["results_dir"] == str(job.resolve())
    assert set(report.params) >= {"export.checkpoint", "export.onnx_file", "results_dir"}


def test_template_defaults_are_not_mutated_between_builds():
    first = build_spec(TRAIN, "evaluate", data={"eval_data": "s3://b/v"}, overrides={"results_dir": "/ws/jobs/j", "evaluate.checkpoint": "/m.pth"})
    before = copy.deepcopy(first)
    build_spec(TRAIN, "evaluate", data={"eval_data": "s3://b/w"}, overrides={"results_dir": "/ws/jobs/j", "evaluate.checkpoint": "/n.pth"})
    assert first == before


@pytest.mark.skipif(not (DEPLOY / "references/spec_template_deploy_gen_trt_engine.yaml").is_file(),
                    reason="deploy gen_trt_engine template not generated")
def test_optional_calibration_source_only_when_int8(tmp_path):
    base = {"results_dir": "/ws/jobs/j", "gen_trt_engine.onnx_file": "/j/model.onnx", "gen_trt_engine.trt_engine": "/j/model.engine"}
    report = build_spec_report(DEPLOY, "gen_trt_engine", data={}, overrides=base)
    assert report.spec["gen_trt_engine"]["tensorrt"]["data_type"] == "fp16"
    assert "gen_trt_engine.tensorrt.calibration.cal_image_dir" in report.pruned
    with pytest.raises(UserError) as info:
        build_spec(DEPLOY, "gen_trt_engine", data={}, overrides={**base, "gen_trt_engine.tensorrt.data_type": "int8"})
    assert "--calibration-data" in info.value.fix
    spec = build_spec(DEPLOY, "gen_trt_engine", data={"calibration_data": "s3://b/cal"},
                      overrides={**base, "gen_trt_engine.tensorrt.data_type": "int8",
                                 "gen_trt_engine.tensorrt.calibration.cal_cache_file": "/j/cal.bin"})
    assert spec["gen_trt_engine"]["tensorrt"]["calibration"]["cal_image_dir"] == ["s3://b/cal/images.tar.gz"]


def test_dotted_helpers():
    spec = {"a": {"b": 1}}
    set_dotted(spec, "a.c.d", [1])
    assert get_dotted(spec, "a.c.d") == [1] and get_dotted(spec, "a.x", "none") == "none"
    with pytest.raises(UserError, match="not a mapping"):
        set_dotted(spec, "a.b.c", 2)
    with pytest.raises(UserError):
        set_dotted(spec, "a..b", 2)


def test_set_values_are_parsed_as_yaml():
    assert parse_set_values(["a=8", "b=true", "c=[0, 1]", "d=fp16", "e=", "f=0.5"]) == \
        {"a": 8, "b": True, "c": [0, 1], "d": "fp16", "e": "", "f": 0.5}
    with pytest.raises(UserError, match="key=value"):
        parse_set_values(["novalue"])


def test_written_specs_read_back_with_the_same_values_under_yaml_1_2():
    """The containers read spec files with OmegaConf's YAML 1.2 loader, where bare `1e5` is a
    float; text values that look like that are written quoted, real numbers stay numbers."""
    from tao_skill_bank.oi.specdoc import dump_spec

    text = dump_spec({"encryption_key": "1e5", "train": {"optim": {"lr": 0.0005}}, "model": {"model_type": "5e-4"}})
    assert "encryption_key: '1e5'" in text and "lr: 0.0005" in text and "model_type: '5e-4'" in text
    assert yaml.safe_load(text) == {"encryption_key": "1e5", "train": {"optim": {"lr": 0.0005}},
                                    "model": {"model_type": "5e-4"}}

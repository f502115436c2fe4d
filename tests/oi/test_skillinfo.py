"""references/skill_info.yaml loader: the shipped file's content and clear errors on bad shape."""

import pytest

from support import REPO_ROOT
from tao_skill_bank.errors import UserError
from tao_skill_bank.oi.skillinfo import SOURCE_FLAGS, load_skill_info, resolve_skill_dir

TRAIN = REPO_ROOT / "skills" / "tao-train-optical-inspection"


def test_train_skill_info_matches_the_facts():
    info = load_skill_info(TRAIN)
    assert info.skill == TRAIN.name and info.network == "optical_inspection" and info.automl_enabled is True
    assert info.data_format == "default"
    assert list(info.actions) == ["train", "evaluate", "inference", "export"]
    for name, act in info.actions.items():
        assert act.image_key == "images.tao_toolkit.pyt" and act.config_format == "yaml"
        assert act.command == f"optical_inspection {name} -e {{config_path}}"
        assert act.entrypoint == ["optical_inspection", name]
        assert act.argv("/ws/spec.yaml") == ["optical_inspection", name, "-e", "/ws/spec.yaml"]
        assert act.outputs == {"results_dir": {"type": "folder"}}
        assert (TRAIN / act.schema).is_file() and (TRAIN / act.template).is_file()
        assert act.template == f"references/spec_template_{name}.yaml"   # the runner's convention
        assert {p.spec_key: p.resolver for p in act.spec_params}["results_dir"] == "output_dir"
        # every data key is also a declared input (the runner downloads/extracts only inputs)
        assert {d.spec_key for d in act.data_sources} <= set(act.inputs)
    train = info.action("train")
    assert {(d.spec_key, d.source, d.tao_source) for d in train.data_sources} == {
        (f"dataset.{split}.{key}", source, tao)
        for split, source, tao in (("train_dataset", "train_data", "train_datasets"),
                                   ("validation_dataset", "eval_data", "eval_dataset"),
                                   ("test_dataset", "eval_data", "eval_dataset"))
        for key in ("images_dir", "csv_path")}
    assert {d.source for d in info.action("evaluate").data_sources} == {"eval_data"}
    assert {d.source for d in info.action("inference").data_sources} == {"infer_data"}
    assert info.action("export").data_sources == []
    params = {p.spec_key: p.resolver for p in train.spec_params}
    assert params["train.pretrained_model_path"] == "ptm_if_no_resume_model"
    assert params["train.resume_training_checkpoint_path"] == "resume_model"
    assert {p.spec_key: p.resolver for p in info.action("export").spec_params}["export.onnx_file"] == "create_onnx_file"


def test_flags_name_the_sources():
    ds = load_skill_info(TRAIN).action("evaluate").data_sources[0]
    assert ds.flag == "--eval-data" and SOURCE_FLAGS["calibration_data"] == "--calibration-data"


def test_unknown_action_lists_the_valid_ones():
    with pytest.raises(UserError) as info:
        load_skill_info(TRAIN).action("gen_trt_engine")
    assert "train, evaluate, inference, export" in info.value.fix


def _write(tmp_path, text):
    (tmp_path / "references").mkdir(parents=True, exist_ok=True)
    (tmp_path / "references" / "skill_info.yaml").write_text(text)
    return tmp_path


_HEAD = "skill: x\nnetwork_arch: n\nautoml_enabled: true\ncontainer_image: tao_toolkit.pyt\n"
_TRAIN = "actions:\n  train: {command: 'a train -e {config_path}', config_format: yaml, results_subdir: r"


@pytest.mark.parametrize("text, field", [
    ("skill: x\nautoml_enabled: true\n", "network_arch"),
    (_HEAD, "actions"),
    (_HEAD + "actions: {train: {command: a}}\n", "actions.train.config_format"),
    (_HEAD + "actions: {train: {config_format: yaml, command: a train, results_subdir: r}}\n",
     "actions.train.command"),
    (_HEAD.replace("tao_toolkit.pyt", "nvcr.io/x:1") + _TRAIN + "}\n", "container_image"),
    (_HEAD + _TRAIN + ", inputs: [1]}\n", "actions.train.inputs"),
    (_HEAD + "data_sources: {train: {a.b: {source: nope}}}\n" + _TRAIN + "}\n",
     "data_sources.train.a.b"),
    (_HEAD + "data_sources: {evaluate: {a.b: {source: eval_dataset}}}\n" + _TRAIN + "}\n",
     "data_sources.evaluate"),
])
def test_bad_shape_names_the_field(tmp_path, text, field):
    with pytest.raises(UserError) as info:
        load_skill_info(_write(tmp_path, text))
    assert info.value.field == field and "skill_info.yaml" in info.value.file


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_skill_info(tmp_path)
    with pytest.raises(UserError, match="not valid YAML"):
        load_skill_info(_write(tmp_path, "skill: [unclosed\n"))


def test_optional_data_source_fields_are_read(tmp_path):
    info = load_skill_info(_write(tmp_path, (
        "skill: x\nnetwork_arch: n\nautoml_enabled: false\ncontainer_image: tao_toolkit.deploy\n"
        "data_sources:\n  gen:\n    a.b: {source: calibration_dataset, transform: wrap_in_list, required: false,"
        " only_if: \"a.t=int8\"}\n"
        "actions:\n  gen:\n    command: a gen -e {config_path}\n    config_format: yaml\n"
        "    template: references/t.yaml\n    results_subdir: r\n")))
    act = info.action("gen")
    ds = act.data_sources[0]
    assert (ds.list, ds.required, ds.only_if, ds.file, ds.source) == (True, False, "a.t=int8", None, "calibration_data")
    assert (act.template, act.schema, act.image_key) == ("references/t.yaml", "schemas/gen.schema.json",
                                                         "images.tao_toolkit.deploy")

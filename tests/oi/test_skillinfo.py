"""references/skill_info.yaml loader: the shipped file's content and clear errors on bad shape."""

import pytest

from support import REPO_ROOT
from tao_skill_bank.errors import UserError
from tao_skill_bank.oi.skillinfo import SOURCE_FLAGS, load_skill_info, resolve_skill_dir

TRAIN = REPO_ROOT / "skills" / "tao-train-optical-inspection"


def test_train_skill_info_matches_the_facts():
    info = load_skill_info(TRAIN)
    assert info.skill == TRAIN.name and info.network == "optical_inspection" and info.automl_enabled is True
    assert list(info.actions) == ["train", "evaluate", "inference", "export"]
    for name, act in info.actions.items():
        assert act.image_key == "images.tao_toolkit.pyt"
        assert act.entrypoint == ["optical_inspection", name]
        assert (TRAIN / act.schema).is_file() and (TRAIN / act.template).is_file()
        assert {p.spec_key: p.resolver for p in act.spec_params}["results_dir"] == "output_dir"
    train = info.action("train")
    assert {(d.spec_key, d.source) for d in train.data_sources} == {
        (f"dataset.{split}.{key}", source)
        for split, source in (("train_dataset", "train_data"), ("validation_dataset", "eval_data"),
                              ("test_dataset", "eval_data"))
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


@pytest.mark.parametrize("text, field", [
    ("skill: x\nnetwork: n\nautoml_enabled: true\n", "actions"),
    ("skill: x\nnetwork: n\nautoml_enabled: true\nactions: {train: {image_key: k}}\n", "actions.train.entrypoint"),
    ("skill: x\nnetwork: n\nautoml_enabled: true\nactions:\n  train: {image_key: k, entrypoint: a, schema: s,"
     " template: t, results_subdir: r}\n", "actions.train.entrypoint"),
    ("skill: x\nnetwork: n\nautoml_enabled: true\nactions:\n  train: {image_key: k, entrypoint: [a], schema: s,"
     " template: t, results_subdir: r, data_sources: [{spec_key: a.b, source: nope}]}\n", "actions.train.data_sources[0]"),
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
        "skill: x\nnetwork: n\nautoml_enabled: false\nactions:\n  gen:\n    image_key: k\n    entrypoint: [a]\n"
        "    schema: s\n    template: t\n    results_subdir: r\n    data_sources:\n"
        "      - {spec_key: a.b, source: calibration_data, list: true, required: false, only_if: \"a.t=int8\"}\n")))
    ds = info.action("gen").data_sources[0]
    assert (ds.list, ds.required, ds.only_if, ds.file) == (True, False, "a.t=int8", None)


def test_skill_can_be_a_path_to_a_copied_folder(tmp_path):
    import shutil
    copy = tmp_path / "tao-train-optical-inspection"
    shutil.copytree(TRAIN, copy)
    assert resolve_skill_dir(str(copy)) == copy.resolve()
    assert resolve_skill_dir("tao-train-optical-inspection") == TRAIN.resolve()

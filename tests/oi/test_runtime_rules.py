"""Runtime rules: configs that merge but fail once the job starts. Each test shows the failing
combination next to the one that runs (docs/spec-rules.md lists the TAO source of each)."""

import pytest

from support import REPO_ROOT, dict_with
from tao_skill_bank.oi import runtime_rules
from tao_skill_bank.oi.experiment_config import load_config_tree, merged_config
from tao_skill_bank.oi.runtime_rules import DEPLOY, PYT, RuleContext, SplitSize, split_rules

TREE = load_config_tree(REPO_ROOT / "skills" / "tao-train-optical-inspection")
LIGHTS = {"LowAngleLight": 0, "SolderLight": 1, "UniformLight": 2, "WhiteLight": 3}
GOOD = {"results_dir": "/ws/job", "dataset": {"image_ext": ".jpg", "num_input": 4, "input_map": LIGHTS,
                                              "batch_size": 8},
        "train": {"num_epochs": 10, "checkpoint_interval": 1, "validation_interval": 1}}


def issues(spec, action="train", image=PYT):
    return runtime_rules.check(RuleContext(action, image), merged_config(spec, TREE))


def with_(**dotted):
    return dict_with(GOOD, **dotted)


def test_the_good_spec_passes_every_action():
    for action in ("train", "evaluate", "inference", "export"):
        assert issues(GOOD, action) == []
    for action in ("gen_trt_engine", "evaluate", "inference"):
        assert issues(GOOD, action, DEPLOY) == []


@pytest.mark.parametrize("key", ["checkpoint_interval", "validation_interval"])
def test_interval_beyond_the_epochs(key):
    (issue,) = issues(with_(**{f"train__{key}": 11}))
    assert issue.path == f"train.{key}" and "AssertionError" in issue.message and "=10" in issue.message
    assert issues(with_(**{f"train__{key}": 10})) == []
    assert issues(with_(**{f"train__{key}": 11}), "evaluate") == []      # only train asserts


def test_interval_uses_the_runtime_default_epochs_when_the_spec_leaves_them_out():
    spec = with_(train__checkpoint_interval=11)
    del spec["train"]["num_epochs"]                                         # runtime default 10
    assert [i.path for i in issues(spec)] == ["train.checkpoint_interval"]


def test_num_input_must_match_the_lightings():
    (issue,) = issues(with_(dataset__num_input=3))
    assert issue.path == "dataset.num_input" and "=4" in issue.message
    assert issues(with_(dataset__num_input=3, dataset__input_map={"a": 0, "b": 1, "c": 2})) == []
    spec = with_()
    del spec["dataset"]["num_input"]                                        # runtime default 8 vs 4 lightings
    assert [i.path for i in issues(spec)] == ["dataset.num_input"]
    assert issues(with_(dataset__num_input=3), "export") == []              # export reads no images


def test_input_map_null_is_one_image_per_row():
    (issue,) = issues(with_(dataset__input_map=None))
    assert "input_map null" in issue.got and "=1" in issue.message
    assert issues(with_(dataset__input_map=None, dataset__num_input=1)) == []
    assert issues(with_(dataset__input_map={}, dataset__num_input=1), "inference", DEPLOY) == []


@pytest.mark.parametrize("value,fix", [("jpg", ".jpg"), ("png", ".png"), (None, ".jpg"), (".", ".jpg")])
def test_image_ext_needs_its_dot(value, fix):
    (issue,) = issues(with_(dataset__image_ext=value), "evaluate")
    assert issue.path == "dataset.image_ext" and f"dataset.image_ext={fix}" in issue.message
    assert issues(with_(dataset__image_ext=value), "gen_trt_engine", DEPLOY) == []   # reads no images


def test_train_batch_one():
    (issue,) = issues(with_(dataset__batch_size=1))
    assert issue.path == "dataset.batch_size"
    assert issues(with_(dataset__batch_size=1), "evaluate") == []
    assert issues(with_(dataset__batch_size=2)) == []


@pytest.mark.parametrize("action,block", [("train", "train"), ("evaluate", "evaluate"), ("export", "export"),
                                          ("gen_trt_engine", "gen_trt_engine")])
def test_results_dir_unset(action, block):
    image = DEPLOY if action == "gen_trt_engine" else PYT
    for unset in (None, ""):
        spec = with_(results_dir=unset)
        assert [i.path for i in issues(spec, action, image)] == ["results_dir"]
        assert "--job-dir" in issues(spec, action, image)[0].message
    assert issues(with_(results_dir=None, **{f"{block}__results_dir": "/ws/x"}), action, image) == []


def test_split_smaller_than_the_batch_and_train_without_defects():
    cfg = merged_config(GOOD, TREE)
    train = RuleContext("train", PYT)
    small = SplitSize("dataset.validation_dataset.csv_path", rows=5, defect_rows=2)
    (issue,) = split_rules(train, cfg, [small])
    assert issue.path == small.csv_key and "5 row(s)" in issue.got and "dataset.batch_size=5" in issue.message
    no_defects = SplitSize("dataset.train_dataset.csv_path", rows=20, defect_rows=0)
    (issue,) = split_rules(train, cfg, [no_defects])
    assert "ZeroDivisionError" in issue.message
    assert split_rules(RuleContext("evaluate", PYT), cfg, [SplitSize("dataset.test_dataset.csv_path", 20, 0)]) == []
    assert split_rules(RuleContext("evaluate", DEPLOY), cfg, [small]) == []          # Deploy batches with ceil()
    assert split_rules(train, cfg, [SplitSize("dataset.train_dataset.csv_path", 8, 1)]) == []


def test_layers_precision_entries_need_a_colon():
    spec = with_(gen_trt_engine__tensorrt={"layers_precision": ["conv1"]})
    (issue,) = issues(spec, "gen_trt_engine", DEPLOY)
    assert issue.path == "gen_trt_engine.tensorrt.layers_precision" and "IndexError" in issue.message
    assert issues(with_(gen_trt_engine__tensorrt={"layers_precision": ["conv1:fp32"]}), "gen_trt_engine", DEPLOY) == []


def test_the_launcher_reads_gpu_fields_unquoted():
    spec = with_(train__num_gpus="1", train__gpu_ids=["0"])
    found = runtime_rules.check(RuleContext("train", PYT, spec), merged_config(spec, TREE))
    assert [i.path for i in found] == ["train.num_gpus", "train.gpu_ids"]
    assert "train.gpu_ids=[0]" in found[1].message
    fine = with_(train__num_gpus=1, train__gpu_ids=[0])
    assert runtime_rules.check(RuleContext("train", PYT, fine), merged_config(fine, TREE)) == []


def test_tensorboard_frequency_and_resume_format():
    spec = with_(train__tensorboard={"enabled": True, "infrequent_logging_frequency": 11})
    assert [i.path for i in issues(spec)] == ["train.tensorboard.infrequent_logging_frequency"]
    assert issues(with_(train__tensorboard={"enabled": False, "infrequent_logging_frequency": 11})) == []
    (issue,) = issues(with_(train__resume_training_checkpoint_path="/ws/job/train/model.ckpt"))
    assert "invalid file format" in issue.message
    assert issues(with_(train__resume_training_checkpoint_path="/ws/job/train/model_epoch_000_step_00001.pth")) == []


def test_grid_concat_needs_a_grid_map_that_fits():
    assert [i.path for i in issues(with_(dataset__concat_type="grid", dataset__grid_map=None))] == ["dataset.grid_map"]
    assert [i.path for i in issues(with_(dataset__concat_type="grid", dataset__grid_map={"x": 3, "y": 2}))] \
        == ["dataset.grid_map"]
    assert issues(with_(dataset__concat_type="grid", dataset__grid_map={"x": 2, "y": 2})) == []
    assert issues(with_(dataset__concat_type="linear", dataset__grid_map=None)) == []


def test_checkpoint_interval_in_steps_is_not_bounded_by_epochs():
    spec = with_(train__checkpoint_interval=500, train__checkpoint_interval_unit="step")
    assert issues(spec) == []

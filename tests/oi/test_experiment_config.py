"""The container's merge applied to a spec (oi/experiment_config.py), on the shipped config trees.
The differential suite (test_spec_differential.py) proves agreement with the real merge on many
generated cases; these pin the individual rules the issue names."""

import pytest

from support import REPO_ROOT
from tao_skill_bank.oi.experiment_config import (convert_scalar, defaults, effective, load_config_tree,
                                                 merge_issues, merged_config)

TREE = load_config_tree(REPO_ROOT / "skills" / "tao-train-optical-inspection")


def paths(spec):
    return [issue.path for issue in merge_issues(spec, TREE)]


@pytest.mark.parametrize("spec", [
    {"train": {"optim": {"lr": "5e-4"}}},            # PyYAML reads 5e-4 as text; the merge converts it
    {"train": {"optim": {"lr": "0.001"}}},
    {"train": {"optim": {"lr": 1}}},                 # an int for a float
    {"dataset": {"batch_size": "8"}},                # quoted whole number for an int
    {"dataset": {"input_map": None}},                # Optional fields take null
    {"train": {"pretrained_model_path": None, "resume_training_checkpoint_path": None, "loss": None}},
    {"train": {"tensorboard": None}},                # an Optional section
    {"dataset": {"input_map": {"A": "1"}}},          # integer text in the lighting map
    {"dataset": {"image_ext": 5}},                   # any scalar becomes a string
    {"dataset": {"augmentation_config": {"augment": "yes"}}},
    {"dataset": {"augmentation_config": {"augment": 2}}},   # ints are bools (non-zero = true)
    {"model": {"model_type": "NotAnOption"}},        # option lists are AutoML hints, not merge rules
    {"model": {"margin": 0.1}},                      # below the AutoML search minimum: still merges
    {"train": {"gpu_ids": ["0", 1]}},
    {"dataset": {"train_dataset": {"csv_path": "???"}}},   # MISSING merges (a separate placeholder rule)
])
def test_the_merge_accepts(spec):
    assert merge_issues(spec, TREE) == []


@pytest.mark.parametrize("spec,path", [
    ({"dataset": {"image_width": 128.0}}, "dataset.image_width"),    # float for an int
    ({"train": {"num_epochs": "1e3"}}, "train.num_epochs"),
    ({"train": {"seed": True}}, "train.seed"),                       # bool for an int
    ({"train": {"optim": {"lr": True}}}, "train.optim.lr"),          # bool for a float
    ({"train": {"num_epochs": None}}, "train.num_epochs"),           # null for a non-Optional field
    ({"train": {"gpu_ids": 0}}, "train.gpu_ids"),                    # scalar for a list
    ({"train": {"gpu_ids": [0.5]}}, "train.gpu_ids[0]"),
    ({"dataset": {"input_map": {"A": 1.5}}}, "dataset.input_map.A"), # non-int lighting index
    ({"dataset": {"input_map": {1: 0}}}, "dataset.input_map.1"),     # a non-text key
    ({"dataset": {"input_map": ["A"]}}, "dataset.input_map"),
    ({"zz": 1}, "zz"),                                               # unknown section
    ({"train": {"optim": {"zz": 1}}}, "train.optim.zz"),             # nested unknown key
    ({"train": {"optim": 5}}, "train.optim"),                        # scalar for a section
    ({"train": {"optim": None}}, "train.optim"),                     # null for a non-Optional section
    ({"dataset": {"image_ext": ["a"]}}, "dataset.image_ext"),        # container for a string
    ({"dataset": {"augmentation_config": {"augment": "maybe"}}}, "dataset.augmentation_config.augment"),
])
def test_the_merge_refuses_with_the_dotted_path(spec, path):
    issues = merge_issues(spec, TREE)
    assert [i.path for i in issues] == [path]
    assert issues[0].expected and issues[0].message


def test_unknown_key_names_the_nearest_known_one():
    (issue,) = merge_issues({"train": {"num_epoch": 3}}, TREE)
    assert "num_epochs" in issue.message


@pytest.mark.parametrize("value,kind,converted", [
    ("5e-4", "float", 0.0005), ("8", "int", 8), (" 7 ", "int", 7), ("off", "bool", False), (3, "str", "3"),
    (True, "str", "True"), ("1_000", "int", 1000),
])
def test_scalar_conversions_follow_the_merge(value, kind, converted):
    assert convert_scalar(value, kind) == (True, converted)


def test_merged_config_is_what_the_container_runs_with():
    cfg = merged_config({"train": {"optim": {"lr": "5e-4"}}, "dataset": {"input_map": {"A": "1"}}}, TREE)
    assert cfg["train"]["optim"]["lr"] == 0.0005 and cfg["train"]["optim"]["momentum"] == 0.9
    assert cfg["dataset"]["input_map"] == {"A": 1}
    assert cfg["dataset"]["batch_size"] == 32 == defaults(TREE)["dataset"]["batch_size"]   # runtime default
    assert effective({}, TREE, "dataset.num_input") == 8
    assert effective({"dataset": {"num_input": "4"}}, TREE, "dataset.num_input") == 4

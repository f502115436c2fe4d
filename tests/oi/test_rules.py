"""Train-skill semantic rules and the lazy registry that other skills plug into."""

from tao_skill_bank.oi import rules
from tao_skill_bank.oi.rules import gpu_ids_match_num_gpus, local_images_dir_is_a_folder


def test_gpu_ids_must_match_num_gpus():
    issues = gpu_ids_match_num_gpus("train", {"train": {"num_gpus": 2, "gpu_ids": [0]}})
    assert [i.path for i in issues] == ["train.gpu_ids"] and "[0, 1]" in issues[0].message
    assert "silently" in issues[0].message   # deliberate: TAO only warns (docs/spec-rules.md)
    assert gpu_ids_match_num_gpus("evaluate", {"evaluate": {"num_gpus": 1, "gpu_ids": [0, 1]}})
    assert gpu_ids_match_num_gpus("train", {"train": {"num_gpus": 2, "gpu_ids": [0, 1]}}) == []
    assert gpu_ids_match_num_gpus("export", {"export": {"num_gpus": 2, "gpu_ids": [0]}}) == []


def test_local_tarball_as_images_dir_is_refused_but_uris_pass():
    spec = {"dataset": {"train_dataset": {"images_dir": "/ws/train/images.tar.gz"},
                        "test_dataset": {"images_dir": "s3://bucket/test/images.tar.gz"}}}
    issues = local_images_dir_is_a_folder("train", spec)
    assert [i.path for i in issues] == ["dataset.train_dataset.images_dir"]
    assert "dataset check" in issues[0].message


def test_registry_has_train_rules_and_loads_lazy_modules(monkeypatch):
    assert gpu_ids_match_num_gpus in rules.rules_for(rules.TRAIN_SKILL)
    monkeypatch.setattr(rules, "LAZY_RULES", rules.LAZY_RULES + [("demo-skill", "tao_skill_bank.oi.no_such_rules", "X")])
    monkeypatch.setattr(rules, "_loaded", set(rules._loaded))
    assert rules.rules_for("demo-skill") == []  # a module not written yet is skipped, not an error


def test_check_runs_every_rule_of_the_skill():
    spec = {"dataset": {"train_dataset": {"images_dir": "/ws/t.tar.gz"}}, "train": {"num_gpus": 2, "gpu_ids": [0]}}
    paths = sorted(i.path for i in rules.check(rules.TRAIN_SKILL, "train", spec))
    assert paths == ["dataset.train_dataset.images_dir", "train.gpu_ids"]
    assert rules.check("unknown-skill", "train", spec) == []

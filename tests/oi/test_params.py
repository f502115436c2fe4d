from pathlib import Path

import pytest

from support import OI_SKILL, make_skill_bank
from tao_skill_bank.errors import UserError
from tao_skill_bank.oi.params import DEFAULT_KEY, apply_spec_params, resolve_value
from tao_skill_bank.oi.skillinfo import load_skill_info


@pytest.fixture
def info(tmp_path):
    return load_skill_info(make_skill_bank(tmp_path / "bank") / "skills" / OI_SKILL)


def touch(root: Path, *files: str) -> Path:
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")
    return root


def test_train_fresh_job_sets_results_and_key_keeps_ptm(info, tmp_path):
    job = tmp_path / "jobs" / "t1"
    spec = {"results_dir": "/results", "encryption_key": "???",
            "train": {"pretrained_model_path": "/ws/ptm.pth", "resume_training_checkpoint_path": None}}
    out = apply_spec_params(spec, info, "train", parent_job=None, job_dir=job)
    assert out["results_dir"] == str(job.resolve())
    assert out["encryption_key"] == DEFAULT_KEY
    assert out["train"] == {"pretrained_model_path": "/ws/ptm.pth", "resume_training_checkpoint_path": None}
    assert spec["results_dir"] == "/results"  # input untouched


def test_train_resume_uses_own_latest_and_drops_ptm(info, tmp_path):
    job = touch(tmp_path / "t1", "train/model_epoch_000_step_00006.pth", "train/model_epoch_001_step_00012.pth")
    spec = {"encryption_key": "mine", "train": {"pretrained_model_path": "/ws/ptm.pth"}}
    out = apply_spec_params(spec, info, "train", parent_job=None, job_dir=job)
    assert out["train"]["resume_training_checkpoint_path"] == str(job.resolve() / "train/model_epoch_001_step_00012.pth")
    assert out["train"]["pretrained_model_path"] == ""
    assert out["encryption_key"] == "mine"


def test_evaluate_takes_parent_single_checkpoint(info, tmp_path):
    parent = touch(tmp_path / "train_job", "train/model_epoch_004_step_00020.pth")
    out = apply_spec_params({"evaluate": {"checkpoint": "???"}}, info, "evaluate", parent_job=parent,
                            job_dir=tmp_path / "eval_job")
    assert out["evaluate"]["checkpoint"] == str(parent.resolve() / "train/model_epoch_004_step_00020.pth")
    assert out["results_dir"] == str((tmp_path / "eval_job").resolve())


def test_parent_model_best_file_is_the_designated_model(info, tmp_path):
    parent = touch(tmp_path / "p", "train/model_epoch_000_step_00006.pth", "train/model_best_val_acc.pth")
    out = apply_spec_params({}, info, "inference", parent_job=parent, job_dir=None)
    assert out["inference"]["checkpoint"].endswith("model_best_val_acc.pth")
    assert "results_dir" not in out  # no job folder given: nothing to set


def test_parent_with_several_checkpoints_refuses_to_guess(info, tmp_path):
    parent = touch(tmp_path / "p", "train/model_epoch_000_step_00006.pth", "train/model_epoch_001_step_00012.pth")
    with pytest.raises(UserError) as err:
        apply_spec_params({"export": {"checkpoint": ""}}, info, "export", parent_job=parent, job_dir=None)
    assert err.value.field == "export.checkpoint" and "checkpoint resolve" in err.value.fix


def test_explicit_checkpoint_wins_over_parent(info, tmp_path):
    parent = touch(tmp_path / "p", "a/model_epoch_000_step_00006.pth", "b/model_epoch_000_step_00006.pth")
    out = apply_spec_params({"export": {"checkpoint": "/ws/chosen.pth"}}, info, "export", parent_job=parent,
                            job_dir=tmp_path / "exp")
    assert out["export"]["checkpoint"] == "/ws/chosen.pth"
    assert out["export"]["onnx_file"] == str((tmp_path / "exp").resolve() / "model.onnx")


def test_missing_parent_folder(info, tmp_path):
    with pytest.raises(UserError, match="parent job folder not found"):
        apply_spec_params({}, info, "evaluate", parent_job=tmp_path / "nope", job_dir=None)


def test_deploy_resolvers(tmp_path):
    parent = touch(tmp_path / "export_job", "model.onnx", "other/model.engine")
    job = tmp_path / "trt"
    args = dict(parent_job=parent, job_dir=job, resume=None)
    assert resolve_value("parent_onnx", "gen_trt_engine.onnx_file", None, **args) == (True, str(parent / "model.onnx"))
    assert resolve_value("create_engine_file", "gen_trt_engine.trt_engine", None, **args) == (True, str(job / "model.engine"))
    assert resolve_value("create_cal_cache", "x.cal_cache_file", None, **args) == (True, str(job / "cal.bin"))
    assert resolve_value("parent_model", "inference.trt_engine", "???", **args) == \
        (True, str(parent / "other/model.engine"))
    with pytest.raises(UserError, match="unknown resolver"):
        resolve_value("guess", "x", None, **args)
    touch(parent, "second.onnx")
    with pytest.raises(UserError, match="2 .onnx files"):
        resolve_value("parent_onnx", "gen_trt_engine.onnx_file", None, **args)

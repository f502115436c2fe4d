import json
from pathlib import Path

import pytest

from support import assert_one_line_error, run_cli
from tao_skill_bank.errors import UserError
from tao_skill_bank.oi.checkpoints import Selection, checkpoint_record, classify, parse_selection, select_checkpoint


def resolve_checkpoint(results_dir: Path, select: str) -> Path:
    return Path(checkpoint_record(results_dir, select)["checkpoint"])


def tree(root: Path, *files: str) -> Path:
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"fake")
    return root


def test_parse_selection():
    assert parse_selection("latest") == Selection("latest")
    assert parse_selection(" Best ") == Selection("best")
    assert parse_selection("epoch=3") == Selection("epoch", 3)
    assert parse_selection("step:12") == Selection("step", 12)
    with pytest.raises(UserError, match="unknown selection"):
        parse_selection("newest")


def test_classify_names():
    assert classify("a/model_epoch_001_step_00012.pth").epoch == 1
    assert classify("a/model_epoch_001_step_00012.pth").step == 12
    assert classify("model_best_val_acc=0.91.pth").kind == "best"
    assert classify("model.onnx") is None
    assert classify("model_epoch_001.pth") is None


def test_latest_is_highest_epoch_then_step(tmp_path):
    root = tree(tmp_path, "train/model_epoch_000_step_00006.pth", "train/model_epoch_001_step_00012.pth",
                "train/model_epoch_001_step_00010.pth")
    assert resolve_checkpoint(root, "latest") == root.resolve() / "train/model_epoch_001_step_00012.pth"


def test_epoch_and_step_exact(tmp_path):
    root = tree(tmp_path, "model_epoch_000_step_00006.pth", "model_epoch_001_step_00012.pth")
    assert resolve_checkpoint(root, "epoch=0").name == "model_epoch_000_step_00006.pth"
    assert resolve_checkpoint(root, "step=12").name == "model_epoch_001_step_00012.pth"
    with pytest.raises(UserError, match=r"available epochs: \[0, 1\]"):
        resolve_checkpoint(root, "epoch=5")


def test_epoch_in_two_automl_children_is_ambiguous(tmp_path):
    root = tree(tmp_path, "experiment_0/model_epoch_000_step_00006.pth", "experiment_1/model_epoch_000_step_00006.pth")
    with pytest.raises(UserError) as err:
        resolve_checkpoint(root, "epoch=0")
    assert "experiment_0/" in err.value.message and "experiment_1/" in err.value.message
    with pytest.raises(UserError, match="2 checkpoints match --select latest"):
        resolve_checkpoint(root, "latest")


def test_latest_across_automl_children_is_ambiguous_even_without_a_tie(tmp_path):
    root = tree(tmp_path, "experiment_0/model_epoch_002_step_00030.pth", "experiment_1/model_epoch_000_step_00006.pth",
                "experiment_1/model_epoch_004_step_00060.pth")
    with pytest.raises(UserError, match="2 checkpoints match --select latest") as err:
        resolve_checkpoint(root, "latest")
    # each child's own latest is listed, so the agent can ask which run was meant
    assert "experiment_0/model_epoch_002_step_00030.pth" in err.value.message
    assert "experiment_1/model_epoch_004_step_00060.pth" in err.value.message
    assert "experiment_1/model_epoch_000_step_00006.pth" not in err.value.message
    assert resolve_checkpoint(root / "experiment_1", "latest").name == "model_epoch_004_step_00060.pth"


def test_epoch_with_two_steps_is_ambiguous(tmp_path):
    root = tree(tmp_path, "model_epoch_001_step_00010.pth", "model_epoch_001_step_00012.pth")
    with pytest.raises(UserError, match="add the step"):
        resolve_checkpoint(root, "epoch=1")


def test_best_single_file(tmp_path):
    root = tree(tmp_path, "model_epoch_000_step_00006.pth", "model_best_val_acc.pth")
    assert resolve_checkpoint(root, "best").name == "model_best_val_acc.pth"


def test_best_in_several_job_folders_is_ambiguous(tmp_path):
    # a folder of several runs without the AutoML runner's .automl/ state: which one won is a guess
    root = tree(tmp_path, "a1/model_best_x.pth", "b2/model_best_x.pth")
    with pytest.raises(UserError, match="2 checkpoints match --select best") as err:
        resolve_checkpoint(root, "best")
    assert "AutoML workspace" in err.value.fix


@pytest.mark.parametrize("summary_file", ["controller.json", "automl_controller.json", "best_model/model_best_x.pth"])
def test_layouts_the_runner_never_writes_decide_nothing(tmp_path, summary_file):
    """controller.json / best_model/ at the top were an assumed AutoML layout; the real runner keeps its
    state in run_<ts>/.automl/ (tests/oi/test_automl_state.py), so these files are just files."""
    root = tree(tmp_path, "experiment_0/model_best_x.pth", "experiment_1/model_best_x.pth")
    (root / summary_file).parent.mkdir(parents=True, exist_ok=True)
    (root / summary_file).write_text(json.dumps({"best_job_id": "experiment_1"}))
    with pytest.raises(UserError, match="checkpoints match --select best"):
        resolve_checkpoint(root, "best")


def test_best_without_best_file_or_summary_refuses(tmp_path):
    root = tree(tmp_path, "model_epoch_000_step_00006.pth", "model_epoch_001_step_00012.pth")
    with pytest.raises(UserError, match="no model_best"):
        resolve_checkpoint(root, "best")


def test_no_checkpoints(tmp_path):
    root = tree(tmp_path, "train/status.json")
    with pytest.raises(UserError, match="no checkpoints found"):
        resolve_checkpoint(root, "latest")


def test_select_is_pure_over_checkpoint_lists():
    found = [classify("x/model_epoch_002_step_00030.pth"), classify("x/model_epoch_003_step_00020.pth")]
    assert select_checkpoint(found, Selection("latest")).epoch == 3
    assert select_checkpoint([classify("x/model_best_a.pth")], Selection("best")).path == "x/model_best_a.pth"


def test_cli_resolve_json_and_text(tmp_path):
    root = tree(tmp_path / "results", "experiment_0/model_epoch_000_step_00006.pth",
                "experiment_0/model_epoch_001_step_00012.pth")
    data = run_cli("checkpoint", "resolve", root, "--select", "latest", "--json").json()
    assert data["checkpoint"] == str(root.resolve() / "experiment_0/model_epoch_001_step_00012.pth")
    assert (data["epoch"], data["step"], data["child"], data["n_found"]) == (1, 12, "experiment_0", 2)
    text = run_cli("checkpoint", "resolve", root, "--select", "epoch=0")
    assert text.code == 0 and text.stdout.strip().endswith("model_epoch_000_step_00006.pth")


def test_cli_errors_are_one_line(tmp_path):
    root = tree(tmp_path, "a/model_best_x.pth", "b/model_best_x.pth")
    assert_one_line_error(run_cli("checkpoint", "resolve", root, "--select", "best"), "a/model_best_x.pth",
                          "b/model_best_x.pth")
    assert_one_line_error(run_cli("checkpoint", "resolve", tmp_path / "nope", "--select", "best"), "not found")
    assert_one_line_error(run_cli("checkpoint", "resolve", root, "--select", "first"), "--select")


# ---------------------------------------------------------------- a direct run, as TAO PyTorch train writes it

def direct_run(job: Path, epochs: int = 3, steps_per_epoch: int = 10, best: int | None = 1) -> Path:
    """<job>/train/ with model_epoch_{e:03d}_step_{s:05d}.pth per epoch (epochs from 0), the
    checkpointer's model_best_{e:03d}.pth (when best is not None) and the oi_model_latest.pth symlink."""
    train = job / "train"
    train.mkdir(parents=True)
    last = None
    for epoch in range(epochs):
        last = train / f"model_epoch_{epoch:03d}_step_{(epoch + 1) * steps_per_epoch:05d}.pth"
        last.write_bytes(b"weights")
    if best is not None:
        (train / f"model_best_{best:03d}.pth").write_bytes(b"best weights")
    (train / "oi_model_latest.pth").symlink_to(last.name)
    (train / "status.json").write_text("{}")
    return job


def test_skill_recipe_select_best_works_on_a_direct_run(tmp_path):
    job = direct_run(tmp_path / "jobs" / "train_001", best=1)
    result = run_cli("checkpoint", "resolve", job, "--select", "best")      # exactly as SKILL.md writes it
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == str(job.resolve() / "train" / "model_best_001.pth")
    data = run_cli("checkpoint", "resolve", job, "--select", "best", "--json").json()
    assert data["epoch"] == 1 and data["decided_by"] == "the only model_best_* file"
    assert "the 2nd epoch" in data["why"]


def test_direct_run_without_topk_says_exactly_what_to_do(tmp_path):
    job = direct_run(tmp_path / "job", epochs=3, best=None)
    result = run_cli("checkpoint", "resolve", job, "--select", "best")
    assert_one_line_error(result, "enable_topk", "--select epoch=N", "epochs [0, 1, 2]")


def test_epoch_counts_from_zero_and_says_why(tmp_path):
    job = direct_run(tmp_path / "job", epochs=10, best=None)
    data = run_cli("checkpoint", "resolve", job, "--select", "epoch=9", "--json").json()
    assert data["checkpoint"].endswith("train/model_epoch_009_step_00100.pth")
    assert "epoch 9" in data["why"] and "10th epoch" in data["why"]
    # 'epoch 10' of a 10-epoch run: no such file; the refusal names the 0-based reading
    with pytest.raises(UserError, match=r"epochs count from 0.*--select epoch=9"):
        resolve_checkpoint(job, "epoch=10")


def test_epoch_ambiguity_names_both_candidates(tmp_path):
    job = direct_run(tmp_path / "job", epochs=2, best=None)
    # a resumed run saved epoch 1 again at another step
    (job / "train" / "model_epoch_001_step_00012.pth").write_bytes(b"resumed")
    result = run_cli("checkpoint", "resolve", job, "--select", "epoch=1")
    assert_one_line_error(result, "train/model_epoch_001_step_00012.pth", "train/model_epoch_001_step_00020.pth",
                          "--select step=N")


def test_epoch_falls_back_to_the_best_file_of_that_epoch(tmp_path):
    job = tree(tmp_path, "train/model_epoch_009_step_00100.pth", "train/model_best_004.pth")
    data = run_cli("checkpoint", "resolve", job, "--select", "epoch=4", "--json").json()
    assert data["checkpoint"].endswith("train/model_best_004.pth") and "best file" in data["why"]


def test_latest_symlink_is_not_a_second_candidate(tmp_path):
    job = direct_run(tmp_path / "job", epochs=3)
    assert resolve_checkpoint(job, "latest").name == "model_epoch_002_step_00030.pth"


def test_only_regular_files_are_returned(tmp_path):
    import os

    job = tree(tmp_path / "job", "train/model_epoch_000_step_00010.pth")
    train = job / "train"
    (train / "model_epoch_005_step_00060.pth").mkdir()                       # a directory
    os.mkfifo(train / "model_epoch_006_step_00070.pth")                      # a FIFO
    (train / "model_epoch_007_step_00080.pth").symlink_to("gone.pth")        # dangling
    outside = tmp_path / "elsewhere.pth"
    outside.write_bytes(b"x")
    (train / "model_epoch_008_step_00090.pth").symlink_to(outside)           # escaping
    (train / "model_best_000.pth").symlink_to("model_epoch_000_step_00010.pth")   # inside, regular
    for epoch in (5, 6, 7, 8):
        with pytest.raises(UserError) as err:
            resolve_checkpoint(job, f"epoch={epoch}")
        assert "available epochs: [0]" in err.value.message
        assert f"model_epoch_00{epoch}" in err.value.message        # named as ignored, with the reason
    assert resolve_checkpoint(job, "latest") == job.resolve() / "train/model_epoch_000_step_00010.pth"
    # the in-folder symlink resolves to its regular target; the symlink itself is never returned
    data = run_cli("checkpoint", "resolve", job, "--select", "best", "--json").json()
    assert data["checkpoint"] == str(job.resolve() / "train/model_epoch_000_step_00010.pth")
    assert data["via_symlink"] == "train/model_best_000.pth"
    for path in (data["checkpoint"], str(resolve_checkpoint(job, "epoch=0"))):
        assert Path(path).is_file() and not Path(path).is_symlink()


def test_symlinked_folders_are_not_entered(tmp_path):
    other = tree(tmp_path / "other", "model_epoch_003_step_00040.pth")
    job = tree(tmp_path / "job", "train/model_epoch_000_step_00010.pth")
    (job / "linked").symlink_to(other, target_is_directory=True)
    assert resolve_checkpoint(job, "latest").name == "model_epoch_000_step_00010.pth"


def test_several_best_files_in_one_folder_explain_save_top_k(tmp_path):
    job = tree(tmp_path, "train/model_best_003.pth", "train/model_best_007.pth")
    assert_one_line_error(run_cli("checkpoint", "resolve", tmp_path, "--select", "best"), "save_top_k",
                          "train/model_best_003.pth", "train/model_best_007.pth")


# ---------------------------------------------------------------- the train template's best-k, in the real config

MERGE_CHECKPOINTER = r"""
import dataclasses, json, sys, yaml
from omegaconf import OmegaConf
from nvidia_tao_core.config.optical_inspection.default_config import ExperimentConfig
from nvidia_tao_core.config.common.common_config import CheckpointerConfig
merged = OmegaConf.merge(OmegaConf.structured(ExperimentConfig), yaml.safe_load(open(sys.argv[1])))
print(json.dumps({"fields": [f.name for f in dataclasses.fields(CheckpointerConfig)],
                  "checkpointer": OmegaConf.to_container(merged.train.checkpointer)}))
"""


@pytest.mark.slow
@pytest.mark.oracle
def test_train_template_turns_on_best_k_in_the_real_experiment_config(tmp_path):
    import subprocess

    from oi.oracle import oi_oracle_python
    from support import REPO_ROOT
    from tao_skill_bank.oi.checkpoints import TOPK_SETTINGS

    python = oi_oracle_python()
    template = REPO_ROOT / "skills/tao-train-optical-inspection/references/spec_template_train.yaml"
    driver = tmp_path / "merge.py"
    driver.write_text(MERGE_CHECKPOINTER)
    out = subprocess.run([str(python), str(driver), str(template)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(TOPK_SETTINGS) <= set(data["fields"])                 # the real field names
    assert {k: data["checkpointer"][k] for k in TOPK_SETTINGS} == TOPK_SETTINGS
    assert data["checkpointer"]["filename"] == "model_best_{epoch:03d}"   # what BEST_EPOCH_RE parses
    assert data["checkpointer"]["replace_periodic"] is False          # periodic epoch files stay

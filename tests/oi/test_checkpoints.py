import json
from pathlib import Path

import pytest

from support import assert_one_line_error, run_cli
from tao_skill_bank.errors import UserError
from tao_skill_bank.oi.checkpoints import (AutomlSummary, Selection, best_from_controller, classify, parse_selection,
                                           resolve_checkpoint, select_checkpoint)


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


def test_best_in_several_children_without_summary_is_ambiguous(tmp_path):
    root = tree(tmp_path, "a1/model_best_x.pth", "b2/model_best_x.pth")
    with pytest.raises(UserError, match="no AutoML summary"):
        resolve_checkpoint(root, "best")


def test_best_model_folder_decides(tmp_path):
    root = tree(tmp_path, "experiment_0/model_best_x.pth", "experiment_1/model_best_x.pth",
                "best_model/model_epoch_004_step_00020.pth", "experiment_1/model_epoch_004_step_00020.pth")
    assert resolve_checkpoint(root, "best") == root.resolve() / "best_model/model_epoch_004_step_00020.pth"
    # the best_model/ copy does not make an epoch request ambiguous
    assert resolve_checkpoint(root, "epoch=4").parent.name == "experiment_1"


def test_controller_json_decides_by_highest_result(tmp_path):
    root = tree(tmp_path, "experiment_0/model_best_x.pth", "experiment_1/model_best_x.pth",
                "experiment_2/model_best_x.pth")
    (root / "controller.json").write_text(json.dumps([
        {"id": 0, "status": "success", "result": 0.81},
        {"id": 1, "status": "success", "result": 0.93},
        {"id": 2, "status": "failure", "result": 0.99},
    ]))
    assert resolve_checkpoint(root, "best").parent.name == "experiment_1"


def test_controller_best_epoch_without_best_file(tmp_path):
    root = tree(tmp_path, "job-a/model_epoch_000_step_00006.pth", "job-a/model_epoch_001_step_00012.pth",
                "job-b/model_epoch_000_step_00006.pth")
    (root / "controller.json").write_text(json.dumps({"best_job_id": "job-a", "best_epoch_number": 0}))
    assert resolve_checkpoint(root, "best") == root.resolve() / "job-a/model_epoch_000_step_00006.pth"


def test_best_from_controller_tie_gives_no_answer():
    records = [{"id": 0, "result": 0.9}, {"id": 1, "result": 0.9}]
    assert best_from_controller(records, {"experiment_0", "experiment_1"}) == (None, None)
    assert best_from_controller({"best_experiment": 3}, {"experiment_3"}) == ("experiment_3", None)


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
    assert select_checkpoint([classify("x/model_best_a.pth"), classify("y/model_best_a.pth")], Selection("best"),
                             summary=AutomlSummary(best_child="y", source="controller.json")).path == "y/model_best_a.pth"


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

"""Reading the AutoML runner's on-disk state (`oi/automl_state.py`) — the winner rule, run state,
refusals — on trees shaped exactly like the ones the real runner writes (see test_automl_e2e.py,
which produces them with nvidia-tao-automl 7.2.0 itself)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support import assert_one_line_error, run_cli
from tao_skill_bank.errors import UserError
from tao_skill_bank.oi.automl_state import (Trial, best_checkpoint_record, find_run_dir, objective_direction,
                                            pick_winner, run_state, status_record, trial_budget)

EXP = "3c585f204f56"


def record(rec_id, result, status="success", **specs):
    return {"id": rec_id, "specs": specs, "job_id": f"job-{rec_id}", "status": status, "result": result,
            "objective_score": result, "metric": "val_acc", "early_stop_epoch": None}


def workspace(tmp_path: Path, records: list[dict], *, algorithm="bayesian", best: int | None = None,
              checkpoints: dict[int, list[str]] | None = None, active=(), deleted=(), plan=True) -> Path:
    """<automl>/automl_plan.json + run_<ts>/.automl/... + results/<job_id>/... as the runner leaves them."""
    automl = tmp_path / "automl" / "sweep"
    run = automl / "run_20261201_120000"
    for sub in ("controller", "best_rec", "brain", "specs"):
        (run / ".automl" / sub).mkdir(parents=True)
    (run / ".automl" / "controller" / f"{EXP}.json").write_text(json.dumps(records))
    if best is not None:
        rec = next(r for r in records if r["id"] == best)
        (run / ".automl" / "best_rec" / f"{EXP}.json").write_text(json.dumps({"rec_number": best, "rec_data": rec}))
    (run / "active_jobs.json").write_text(json.dumps(list(active)))
    (run / "artifact_jobs.json").write_text(json.dumps({f"job-{i}": "deleted" for i in deleted}))
    results = automl / "results"
    if plan:
        (automl / "automl_plan.json").write_text(json.dumps({
            "ready": True, "automl_settings": {"algorithm": algorithm, "metric": "val_acc", "direction": "maximize",
                                               "automl_max_recommendations": len(records)},
            "steps": [{"params": {"platform_kwargs": {"mounts": [
                {"host_path": str(results), "container_path": "/results"}]}}}]}))
    for rec_id, files in (checkpoints or {}).items():
        for name in files:
            path = results / f"job-{rec_id}" / "results_dir" / "train" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"ckpt")
    return automl


# ---------------------------------------------------------------- pure core

def trial(rec_id, result, budget=None, status="success"):
    return Trial(rec_id=rec_id, job_id=f"job-{rec_id}", status=status, result=result, budget=budget)


def test_winner_is_the_best_result_in_the_objective_direction():
    trials = [trial(0, 0.7), trial(1, 0.9), trial(2, 0.95, status="failure"), trial(3, None, status="running")]
    assert pick_winner(trials, "bayesian", "maximize").rec_id == 1
    assert pick_winner(trials, "bayesian", "minimize").rec_id == 0
    assert pick_winner([trial(0, 0.9), trial(1, 0.9)], "bayesian", "maximize").rec_id == 0   # first wins a tie
    assert pick_winner([trial(0, None, status="failure")], "bayesian", "maximize") is None


@pytest.mark.parametrize("algorithm", ["hyperband", "asha", "bohb", "dehb", "hyperband_es", "h", "hes"])
def test_multi_fidelity_winner_comes_from_the_largest_budget(algorithm):
    # a one-epoch trial scores highest, but only full-budget trials can win
    trials = [trial(0, 0.99, budget=1), trial(1, 0.80, budget=9), trial(2, 0.85, budget=9), trial(3, 0.97, budget=3)]
    assert pick_winner(trials, algorithm, "maximize").rec_id == 2
    assert pick_winner(trials, "bayesian", "maximize").rec_id == 0   # single-fidelity: all trials compete
    assert pick_winner(trials, "pbt", "maximize").rec_id == 0


def test_budget_is_the_largest_epoch_like_key_or_early_stop():
    assert trial_budget({"specs": {"train.num_epochs": 9, "train.optim.lr": 0.1}}) == 9
    assert trial_budget({"specs": {"train.max_epochs": "3"}, "early_stop_epoch": 5}) == 5
    assert trial_budget({"specs": {"train.optim.lr": 0.1, "train.use_epochs": True}}) is None


def test_direction_follows_the_runner():
    assert objective_direction({"metric": "val_acc"}) == "maximize"
    assert objective_direction({"metric": "val_loss"}) == "minimize"
    assert objective_direction({"metric": "val_loss", "direction": "maximize"}) == "maximize"
    assert objective_direction({}) == "minimize"      # the runner's default metric is "loss"


def test_run_state():
    assert run_state([trial(0, 0.5)], [], None) == "idle"
    assert run_state([trial(0, 0.5)], [{"rec_id": 1, "job_id": "j"}], None) == "running"
    assert run_state([trial(0, None, status="pending")], [], None) == "running"
    assert run_state([], [], {"state": "running", "pid": 1}, pid_alive=lambda pid: True) == "running"
    assert run_state([], [], {"state": "running", "pid": 1}, pid_alive=lambda pid: False) == "interrupted"
    assert run_state([], [], {"state": "finished"}) == "finished"


# ---------------------------------------------------------------- adapters on runner-shaped trees

def test_best_follows_best_rec_to_the_winning_job_folder(tmp_path):
    automl = workspace(tmp_path, [record(0, 0.61), record(1, 0.83), record(2, 0.72)], best=1,
                       checkpoints={0: ["model_best_002.pth"], 1: ["model_best_001.pth"], 2: ["model_best_000.pth"]})
    rec = best_checkpoint_record(automl)
    assert rec["checkpoint"] == str((automl / "results/job-1/results_dir/train/model_best_001.pth").resolve())
    assert rec["automl"]["rec_id"] == 1 and rec["epoch"] == 1 and "matches .automl/best_rec" in rec["why"]
    # the run folder itself works too
    assert best_checkpoint_record(automl / "run_20261201_120000")["automl"]["job_id"] == "job-1"


def test_terminal_retention_hands_on_the_newest_checkpoint(tmp_path):
    automl = workspace(tmp_path, [record(0, 0.9)], best=0,
                       checkpoints={0: ["model_epoch_004_step_00030.pth", "model_epoch_009_step_00060.pth"]})
    rec = best_checkpoint_record(automl)
    assert rec["checkpoint"].endswith("model_epoch_009_step_00060.pth") and "newest checkpoint" in rec["why"]


def test_refuses_while_the_run_is_going(tmp_path):
    automl = workspace(tmp_path, [record(0, 0.9), record(1, None, status="running")], best=0,
                       checkpoints={0: ["model_best_001.pth"]}, active=[{"rec_id": 1, "job_id": "job-1"}])
    with pytest.raises(UserError, match="still going") as err:
        best_checkpoint_record(automl)
    assert "automl status" in err.value.fix


def test_refuses_when_the_winner_was_pruned(tmp_path):
    automl = workspace(tmp_path, [record(0, 0.9), record(1, 0.5)], best=0, deleted=[0],
                       checkpoints={1: ["model_best_001.pth"]})
    with pytest.raises(UserError, match="pruned its artifacts"):
        best_checkpoint_record(automl)


def test_refuses_when_best_rec_and_records_disagree(tmp_path):
    automl = workspace(tmp_path, [record(0, 0.9), record(1, 0.5)], best=1,
                       checkpoints={0: ["model_best_001.pth"], 1: ["model_best_001.pth"]})
    with pytest.raises(UserError, match="best_rec names trial 1 but the controller records rank trial 0"):
        best_checkpoint_record(automl)


def test_without_a_plan_the_results_root_must_be_given(tmp_path):
    automl = workspace(tmp_path, [record(0, 0.9)], best=0, checkpoints={0: ["model_best_000.pth"]}, plan=False)
    with pytest.raises(UserError) as err:
        best_checkpoint_record(automl)
    assert err.value.field == "--results-root"
    assert best_checkpoint_record(automl, results_root=automl / "results")["automl"]["rec_id"] == 0


def test_several_runs_in_one_folder_is_a_choice_for_the_user(tmp_path):
    automl = workspace(tmp_path, [record(0, 0.9)], best=0)
    (automl / "run_20261202_000000" / ".automl").mkdir(parents=True)
    with pytest.raises(UserError, match="2 AutoML runs") as err:
        find_run_dir(automl)
    assert "run_20261202_000000" in err.value.fix


def test_status_lists_trials_and_best_so_far(tmp_path):
    automl = workspace(tmp_path, [record(0, 0.61, **{"train.num_epochs": 1}), record(1, 0.83), record(2, None, "failure")],
                       best=1, deleted=[0], checkpoints={1: ["model_best_001.pth"]})
    status = status_record(automl)
    assert status["state"] == "idle" and status["algorithm"] == "bayesian" and status["metric"] == "val_acc"
    assert status["best"]["rec_id"] == 1 == status["controller_best_rec"]
    assert [t["status"] for t in status["trials"]] == ["success", "success", "failure"]
    assert [t["pruned"] for t in status["trials"]] == [True, False, False]
    assert status["trials"][0]["budget"] == 1 and status["trials"][1]["job_dir"].endswith("job-1")
    assert status["counts"] == {"failure": 1, "success": 2}


def test_cli_status_and_resolve(tmp_path):
    automl = workspace(tmp_path, [record(0, 0.61), record(1, 0.83)], best=1, checkpoints={1: ["model_best_001.pth"]})
    text = run_cli("automl", "status", automl)
    assert text.code == 0 and "best: trial 1 (job job-1) val_acc=0.83" in text.stdout
    resolved = run_cli("checkpoint", "resolve", automl, "--select", "best", "--json")
    assert resolved.code == 0 and resolved.json()["automl"]["job_id"] == "job-1"
    assert_one_line_error(run_cli("checkpoint", "resolve", automl, "--select", "latest"), "one job folder per trial")
    assert_one_line_error(run_cli("automl", "status", tmp_path / "nowhere"), "AutoML workspace not found")
    (automl / "run_20261201_120000" / ".automl" / "controller" / f"{EXP}.json").write_text("[{")
    assert_one_line_error(run_cli("automl", "status", automl), "not JSON")


def test_status_needs_no_runner_installed(tmp_path):
    automl = workspace(tmp_path, [record(0, 0.5)], best=0)
    probe = run_cli("automl", "status", automl, "--json",
                    env={"PYTHONPATH": "", "TAO_SKILL_BANK_CACHE": str(tmp_path / "cache")})
    assert probe.code == 0 and probe.json()["best"]["rec_id"] == 0
    import importlib.util
    assert importlib.util.find_spec("tao_automl") is None   # the test venv has no runner

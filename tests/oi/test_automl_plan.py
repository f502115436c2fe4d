"""`tao-skills automl plan` and `automl run`: a plan the runner accepts, or `ready: false` with the
reason — never one that fails later; `run` hands the plan to `python -m tao_automl.runner`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from support import REPO_ROOT, assert_one_line_error, make_oi_split, make_skill_bank, oi_skill_info, run_cli

SKILL = "tao-train-optical-inspection"


@pytest.fixture
def ws(tmp_path):
    for split in ("train", "val"):
        make_oi_split(tmp_path / "ws" / "data", split)
    return tmp_path / "ws"


def plan(ws, *extra, name="p1"):
    args = ["automl", "plan", "--skill", SKILL, "--workspace", ws, "--name", name, "--json", *extra]
    return run_cli(*args)


def test_ready_plan_has_what_the_runner_reads(ws):
    result = plan(ws, "--train-data", ws / "data/train", "--eval-data", ws / "data/val", "--max-trials", "5",
                  "--set", "train.num_epochs=4")
    assert result.code == 0, result.stderr
    data = result.json()
    written = json.loads(Path(data["plan_path"]).read_text())
    assert written["ready"] is True and written["blocking_issues"] == []
    params = written["steps"][0]["params"]
    assert params["skill_dir"] == str((REPO_ROOT / "skills" / SKILL).resolve()) and params["action"] == "train"
    from tao_skill_bank.versions import get_value, load_versions
    assert params["image"] == get_value(load_versions(REPO_ROOT), "images.tao_toolkit.pyt")
    # local data: the extracted images folder (images/images wrapper) as `spec build` resolves it
    assert params["spec_overrides"]["dataset.train_dataset.images_dir"] == str((ws / "data/train/images/images").resolve())
    assert params["spec_overrides"]["dataset.test_dataset.csv_path"] == str((ws / "data/val/dataset.csv").resolve())
    assert params["spec_overrides"]["train.num_epochs"] == 4
    mounts = {m["container_path"]: m["host_path"] for m in params["platform_kwargs"]["mounts"]}
    assert mounts["/results"] == str(Path(data["plan_path"]).parent / "results") and mounts[str(ws.resolve())]
    assert written["automl_settings"] == {"algorithm": "bayesian", "metric": "val_acc", "direction": "maximize",
                                          "automl_delete_intermediate_ckpt": True, "run_baseline": False,
                                          "automl_max_recommendations": 5}
    assert written["automl_workspace_path"] == str(Path(data["plan_path"]).parent)


@pytest.mark.parametrize("extra, needle", [
    (["--set", "dataset.batch_size=1"], "dataset.batch_size"),
    (["--set", "train.optim.lr=fast"], "train.optim.lr"),
    (["--set", "train.no_such_key=1"], "no_such_key"),
    (["--algorithm", "grid"], "algorithm 'grid'"),
    (["--platform", "virtualenv"], "python_script"),
    (["--platform", "slurm"], "local paths do not reach slurm"),
    (["--max-trials", "0"], "--max-trials must be at least 1"),
    # spec validation's runtime rule (train asserts validation_interval <= num_epochs at start)
    (["--set", "train.num_epochs=2", "--set", "train.validation_interval=5"], "train.validation_interval: expected <= train.num_epochs (2)"),
    (["--algorithm", "asha", "--set", "train.validation_interval=2"], "every rung"),
])
def test_blocking_issues_instead_of_a_plan_that_fails_later(ws, extra, needle):
    result = plan(ws, "--train-data", ws / "data/train", "--eval-data", ws / "data/val", *extra)
    assert result.code == 3, result.stderr
    data = result.json()
    assert data["ready"] is False and any(needle in issue for issue in data["blocking_issues"]), data["blocking_issues"]
    # the runner refuses it too: `automl run` says so in one line
    assert_one_line_error(run_cli("automl", "run", data["plan_path"]), "plan is not ready")


@pytest.mark.parametrize("algorithm, terminal", [("hyperband", True), ("asha", True), ("pbt", True),
                                                 ("bayesian", False)])
def test_resuming_algorithms_keep_the_stop_epoch_checkpoint(ws, algorithm, terminal):
    settings = plan(ws, "--train-data", ws / "data/train", "--eval-data", ws / "data/val", "--algorithm", algorithm,
                    name=algorithm).json()["automl_settings"]
    assert (settings.get("automl_checkpoint_retention_strategy") == "terminal") is terminal


def test_missing_split_and_data_outside_the_workspace(ws, tmp_path):
    no_eval = plan(ws, "--train-data", ws / "data/train").json()
    assert any("needs eval_data" in i and "--eval-data" in i for i in no_eval["blocking_issues"])
    make_oi_split(tmp_path / "elsewhere", "val")
    outside = plan(ws, "--train-data", ws / "data/train", "--eval-data", tmp_path / "elsewhere/val", name="p2").json()
    assert any("outside the workspace" in i for i in outside["blocking_issues"])


def test_model_without_automl_or_train_files(tmp_path):
    bank = make_skill_bank(tmp_path / "bank", oi_skill_info(automl_enabled=False))
    (tmp_path / "ws").mkdir()
    data = run_cli("--bank", bank, "automl", "plan", "--skill", SKILL, "--workspace", tmp_path / "ws", "--name", "a",
                   "--train-data", "s3://b/train", "--eval-data", "s3://b/val", "--json").json()
    assert any("automl_enabled is false" in i for i in data["blocking_issues"])
    bank2 = make_skill_bank(tmp_path / "bank2", train_files=False)
    data = run_cli("--bank", bank2, "automl", "plan", "--skill", SKILL, "--workspace", tmp_path / "ws", "--name", "b",
                   "--train-data", "s3://b/train", "--eval-data", "s3://b/val", "--json").json()
    assert any("not runnable" in i and "schemas/train.schema.json" in i for i in data["blocking_issues"])


def test_s3_data_goes_to_the_runner_as_dataset_uris(ws):
    data = plan(ws, "--train-data", "s3://bucket/oi/train", "--eval-data", "s3://bucket/oi/val").json()
    params = data["steps"][0]["params"]
    assert data["ready"] and params["train_dataset_uri"] == "s3://bucket/oi/train"
    assert not any(k.startswith("dataset.") for k in params["spec_overrides"])   # the runner fills them


def test_plan_never_reuses_a_folder_and_bad_input_is_one_line(ws):
    assert plan(ws, "--train-data", ws / "data/train", "--eval-data", ws / "data/val").code == 0
    assert_one_line_error(plan(ws, "--train-data", ws / "data/train", "--eval-data", ws / "data/val"),
                          "already exists")
    assert_one_line_error(run_cli("automl", "plan", "--skill", SKILL, "--workspace", ws / "nope"), "--workspace")
    assert_one_line_error(run_cli("automl", "run", ws / "missing.json"), "plan not found")


def _ready_plan(ws) -> Path:
    return Path(plan(ws, "--train-data", ws / "data/train", "--eval-data", ws / "data/val").json()["plan_path"])


def test_run_dry_run_prints_the_runner_command(ws):
    plan_path = _ready_plan(ws)
    dry = run_cli("automl", "run", plan_path, "--dry-run", "--json").json()
    assert dry["command"][1:] == ["-m", "tao_automl.runner", str(plan_path), "--platform", "docker"]
    assert dry["TAO_VERSIONS_FILE"] == str(REPO_ROOT / "versions.yaml")


def test_run_without_the_runner_is_a_one_line_hint(ws):
    result = run_cli("automl", "run", _ready_plan(ws))
    assert result.code == 2
    from tao_skill_bank.versions import load_versions
    pin = load_versions(REPO_ROOT)["automl"]["nvidia_tao_automl"]
    assert_one_line_error(result, "AutoML runner is not importable", f"pip install --no-deps nvidia-tao-automl=={pin}")


def test_run_calls_the_runner_and_records_the_outcome(ws, tmp_path):
    """A fake runner python: records its argv and environment, prints a result like the real one."""
    fake = tmp_path / "fake_python"
    log = tmp_path / "calls.json"
    fake.write_text(f"""#!{sys.executable}
import json, os, sys
if sys.argv[1:2] == ["-c"]:
    sys.exit(0)
json.dump({{"argv": sys.argv[1:], "versions": os.environ.get("TAO_VERSIONS_FILE")}}, open({str(log)!r}, "w"))
print(json.dumps({{"best": {{"rec_id": 2, "job_id": "j2", "metric_value": 0.9}}}}, indent=2))
""")
    fake.chmod(0o755)
    plan_path = _ready_plan(ws)
    result = run_cli("automl", "run", plan_path, "--runner-python", fake, "--json")
    assert result.code == 0, result.stderr
    calls = json.loads(log.read_text())
    assert calls["argv"] == ["-m", "tao_automl.runner", str(plan_path), "--platform", "docker"]
    assert calls["versions"] == str(REPO_ROOT / "versions.yaml")
    assert result.json()["result"]["best"]["job_id"] == "j2"
    marker = json.loads((plan_path.parent / "automl_run.json").read_text())
    assert marker["state"] == "finished" and marker["exit_code"] == 0

"""End to end with NVIDIA's real AutoML runner (nvidia-tao-automl / nvidia-tao-sdk 7.2.0).

`tao-skills automl plan` writes the plan; the real `run_automl_plan` executes it with a stand-in
platform SDK (tests/oi/automl_standin.py: jobs go through the real tao_sdk.script_runner, a fake
`optical_inspection` "trains" by writing val_acc and checkpoints); then `automl status` and
`checkpoint resolve --select best` must name exactly the trial the real controller chose."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from oi.automl_oracle import automl_oracle_python, run_oracle
from support import REPO_ROOT, make_oi_split, run_cli

STANDIN = Path(__file__).with_name("automl_standin.py")
SKILL = "tao-train-optical-inspection"


def _run_real_runner(tmp_path_factory, name: str, *plan_args: str, curve: str = "rising") -> dict:
    python = automl_oracle_python()
    ws = tmp_path_factory.mktemp(name)
    for split in ("train", "val"):
        make_oi_split(ws / "data", split)
    plan = run_cli("automl", "plan", "--skill", SKILL, "--workspace", ws, "--train-data", ws / "data/train",
                   "--eval-data", ws / "data/val", "--name", name, "--json", *plan_args)
    assert plan.code == 0, plan.stderr
    plan_path = Path(plan.json()["plan_path"])
    automl_dir = plan_path.parent
    out = ws / "runner_result.json"
    run_oracle(python, STANDIN.read_text(), str(plan_path), str(automl_dir / "results"), str(out),
               env={"TAO_VERSIONS_FILE": str(REPO_ROOT / "versions.yaml"), "STANDIN_CURVE": curve}, timeout=900)
    result = json.loads(out.read_text())
    status = run_cli("automl", "status", automl_dir, "--json")
    assert status.code == 0, status.stderr
    print(f"\n[{name}] trial table (real runner {plan_args}):")
    print(run_cli("automl", "status", automl_dir).stdout)
    return {"ws": ws, "automl_dir": automl_dir, "plan": plan.json(), "result": result["result"],
            "images": result["images"], "status": status.json()}


@pytest.fixture(scope="module")
def bayesian(tmp_path_factory):
    return _run_real_runner(tmp_path_factory, "bayes", "--max-trials", "4", "--set", "train.num_epochs=3")


@pytest.fixture(scope="module")
def hyperband(tmp_path_factory):
    # overfit: each trial's val_acc peaks at its first epoch, so short trials out-score long ones and
    # promotions must resume from a checkpoint that is not the trial's best
    return _run_real_runner(tmp_path_factory, "hband", "--algorithm", "hyperband", "--max-epochs", "9",
                            "--set", "train.validation_interval=1", curve="overfit")


def _assert_names_the_runners_winner(run: dict) -> dict:
    best = run["result"]["best"]
    status = run["status"]
    assert status["best"]["rec_id"] == best["rec_id"] and status["best"]["job_id"] == best["job_id"]
    assert status["controller_best_rec"] == best["rec_id"]
    assert status["best"]["result"] == pytest.approx(best["metric_value"])
    resolved = run_cli("checkpoint", "resolve", run["automl_dir"], "--select", "best", "--json")
    assert resolved.code == 0, resolved.stderr
    record = resolved.json()
    ckpt = Path(record["checkpoint"])
    assert ckpt.is_file() and ckpt.is_relative_to((run["automl_dir"] / "results" / best["job_id"]).resolve())
    assert record["automl"]["rec_id"] == best["rec_id"] and ckpt.name.startswith("model_best_")
    # the plain text form prints the path only (what SKILL.md captures with $(...))
    assert run_cli("checkpoint", "resolve", run["automl_dir"], "--select", "best").stdout.strip() == str(ckpt)
    return record


def test_bayesian_run_status_and_best_match_the_real_controller(bayesian):
    history = bayesian["result"]["history"]
    assert len(history) >= 3 and all(h["status"] == "success" for h in history)
    assert bayesian["status"]["n_trials"] == len(history) and bayesian["status"]["state"] == "idle"
    assert [t["result"] for t in bayesian["status"]["trials"]] == pytest.approx([h["metric"] for h in history])
    _assert_names_the_runners_winner(bayesian)
    # the runner took our image from versions.yaml and ran every trial in it
    assert bayesian["images"] == [bayesian["plan"]["steps"][0]["params"]["image"]]
    # losers were pruned by the runner; status says so
    pruned = [t for t in bayesian["status"]["trials"] if t["pruned"]]
    assert len(pruned) == len(history) - 1 and all(not Path(bayesian["automl_dir"], "results", t["job_id"]).exists()
                                                   for t in pruned)


def test_hyperband_winner_comes_from_the_largest_budget(hyperband):
    trials = hyperband["status"]["trials"]
    # our plan keeps the stop-epoch checkpoint (terminal retention): every promotion found its parent
    assert hyperband["plan"]["automl_settings"]["automl_checkpoint_retention_strategy"] == "terminal"
    assert all(t["status"] == "success" for t in trials), [(t["rec_id"], t["status"]) for t in trials]
    budgets = {t["budget"] for t in trials}
    assert len(budgets) > 1, "hyperband should have run several budgets"
    record = _assert_names_the_runners_winner(hyperband)
    assert record["automl"]["budget"] == max(budgets)


def test_resolve_refuses_a_run_that_is_still_going_or_a_pruned_winner(bayesian, tmp_path):
    copy = tmp_path / "automl"
    shutil.copytree(bayesian["automl_dir"], copy)
    plan_path = copy / "automl_plan.json"
    plan = json.loads(plan_path.read_text())
    plan["steps"][0]["params"]["platform_kwargs"]["mounts"][1]["host_path"] = str(copy / "results")
    plan_path.write_text(json.dumps(plan))
    run_dir = next(copy.glob("run_*"))
    (run_dir / "active_jobs.json").write_text(json.dumps([{"rec_id": 9, "job_id": "in-flight"}]))
    going = run_cli("checkpoint", "resolve", copy, "--select", "best")
    assert going.code == 1 and "still going" in going.stderr
    (run_dir / "active_jobs.json").write_text("[]")
    best = bayesian["result"]["best"]["job_id"]
    shutil.rmtree(copy / "results" / best)
    jobs = json.loads((run_dir / "artifact_jobs.json").read_text())
    (run_dir / "artifact_jobs.json").write_text(json.dumps({**jobs, best: "deleted"}))
    pruned = run_cli("checkpoint", "resolve", copy, "--select", "best")
    assert pruned.code == 2 and "pruned" in pruned.stderr


def test_route_names_a_skill_the_bank_ships():
    route = run_cli("automl", "route", "--skill", SKILL, "--action", "train", "--request", "train an AOI model", "--json")
    assert route.json()["route"] == "tao-run-automl"
    assert (REPO_ROOT / "skills" / route.json()["route"] / "SKILL.md").is_file()
    direct = run_cli("automl", "route", "--skill", SKILL, "--action", "train", "--request", "plain training", "--json")
    assert direct.json()["route"] == "direct"


def test_oi_skill_md_automl_path_runs_as_written(tmp_path):
    """tao-train-optical-inspection SKILL.md, section 3 (AutoML) and the AutoML line of section 5,
    pasted into bash; the real runner (stand-in platform) runs the plan the documented command wrote."""
    import os
    import re
    import subprocess

    from support import tao_skills_on_path

    python = automl_oracle_python()
    body = (REPO_ROOT / "skills" / SKILL / "SKILL.md").read_text()
    section3 = body.split("## 3.")[1].split("## 4.")[0]
    block = next(b for b in re.findall(r"```bash\n(.*?)```", section3, flags=re.S) if "automl plan" in b)
    lines = [l for l in block.replace("\\\n", " ").splitlines() if l.strip()]
    before_run = "\n".join(l for l in lines if "automl status" not in l)
    status_line = next(l for l in lines if "automl status" in l)
    section5 = body.split("## 5.")[1].split("## 6.")[0]
    resolve_line = next(l for l in re.findall(r"```bash\n(.*?)```", section5, flags=re.S)[0].splitlines()
                        if '"$AUTOML"' in l)
    ws = tmp_path / "ws"
    for split in ("train", "val"):
        make_oi_split(ws / "data", split)
    env = {**os.environ, "PATH": tao_skills_on_path(tmp_path / "shim") + os.environ["PATH"], "WS": str(ws),
           "SKILL": SKILL}
    prelude = 'AUTOML=$WS/automl/oi_sweep_1\n'

    def bash(script):
        proc = subprocess.run(["bash", "-euc", script], env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    out = bash(before_run)
    plan_path = ws / "automl/oi_sweep_1/automl_plan.json"
    assert json.loads(plan_path.read_text())["ready"] is True and '"dry_run":true' in out
    result_file = tmp_path / "runner_result.json"
    run_oracle(python, STANDIN.read_text(), str(plan_path), str(plan_path.parent / "results"), str(result_file),
               env={"TAO_VERSIONS_FILE": str(REPO_ROOT / "versions.yaml")}, timeout=900)
    best = json.loads(result_file.read_text())["result"]["best"]
    assert f"best: trial {best['rec_id']} (job {best['job_id']})" in bash(prelude + status_line)
    resolved = json.loads(bash(prelude + resolve_line.split("#")[0]))
    assert resolved["automl"]["job_id"] == best["job_id"] and Path(resolved["checkpoint"]).is_file()

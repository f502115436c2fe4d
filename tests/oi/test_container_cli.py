import os

import pytest
import yaml

from support import OI_SKILL, assert_one_line_error, fake_tools, make_skill_bank, recorded_calls, run_cli
from tao_skill_bank.oi.container_cli import unset_keys
from tao_skill_bank.versions import get_value, load_versions


@pytest.fixture
def setup(tmp_path):
    bank = make_skill_bank(tmp_path / "bank")
    ws = tmp_path / "ws"
    (ws / "data").mkdir(parents=True)
    spec = {"results_dir": str(ws / "results"), "encryption_key": "tlt_encode",
            "dataset": {"train_dataset": {"images_dir": str(ws / "data" / "images"),
                                          "csv_path": str(ws / "data" / "dataset.csv")}},
            "train": {"num_epochs": 2, "resume_training_checkpoint_path": None}}
    calls = tmp_path / "calls.jsonl"
    env = fake_tools(tmp_path / "bin", calls)
    return {"bank": bank, "ws": ws, "spec": spec, "calls": calls, "env": env,
            "image": get_value(load_versions(bank), "images.tao_toolkit.pyt")}


def write_spec(s, name="spec.yaml", **changes):
    spec = {**s["spec"], **changes}
    path = s["ws"] / name
    path.write_text(yaml.safe_dump(spec))
    return path


def container_run(s, *extra, action="train", spec_path=None):
    spec_path = spec_path or write_spec(s)
    # the fake skill ships placeholder schemas: validation is covered by the real-skill tests below
    return run_cli("--bank", s["bank"], "container", "run", "--skill", OI_SKILL, "--action", action,
                   "-e", spec_path, "--workspace", s["ws"], "--skip-validation", *extra, env=s["env"])


def test_dry_run_prints_exact_command_and_never_calls_docker(setup):
    spec_path = write_spec(setup)
    result = container_run(setup, "--dry-run", "--json", spec_path=spec_path)
    assert result.code == 0, result.stderr
    data = result.json()
    ws = str(setup["ws"])
    assert data["argv"] == ["docker", "run", "--rm", "--gpus", "all", "--ipc=host", "-v", f"{ws}:{ws}", "-w", ws,
                            setup["image"], "optical_inspection", "train", "-e", str(spec_path)]
    assert data["env"] == {} and data["output_dir"] == str(setup["ws"] / "results" / "train")
    assert recorded_calls(setup["calls"]) == []
    text = container_run(setup, "--dry-run", spec_path=spec_path)
    assert text.stdout.strip().splitlines() == [data["command"], f"would_write: {data['output_dir']}"]
    assert "results_dir:" not in text.stdout and data["would_write"] == data["output_dir"]
    assert not (setup["ws"] / "results" / "train").exists()


def test_real_run_preflights_runs_and_restores_ownership(setup):
    result = container_run(setup, "--json")
    assert result.code == 0, result.stderr
    calls = recorded_calls(setup["calls"])
    runs = [c for c in calls if c[:2] == ["docker", "run"]]
    assert ["docker", "info"] in calls and ["nvidia-smi", "-L"] in calls
    assert runs[0][-4:] == ["optical_inspection", "train", "-e", str(setup["ws"] / "spec.yaml")]
    assert "--user" not in runs[0] and not any("TORCH_FORCE" in a for a in runs[0])
    assert runs[1][-4:-1] == ["chown", "-R", f"{os.getuid()}:{os.getgid()}"]
    log = setup["ws"] / "results" / "train" / "container_run.log"
    assert "fake container output" in log.read_text() and result.json()["exit_code"] == 0


def test_relative_results_dir_is_given_back_inside_the_workspace(setup, tmp_path):
    # `-w W` makes ./results mean W/results in the container, whatever folder the agent runs from
    spec_path = write_spec(setup, results_dir="./results")
    result = run_cli("--bank", setup["bank"], "container", "run", "--skill", OI_SKILL, "--action", "train",
                     "-e", spec_path, "--workspace", setup["ws"], "--skip-validation", "--json",
                     env=setup["env"], cwd=tmp_path)
    assert result.code == 0, result.stderr
    chown = [c for c in recorded_calls(setup["calls"]) if "chown" in c]
    assert len(chown) == 1 and chown[0][-1] == "/w/results", chown
    assert (setup["ws"] / "results" / "train" / "container_run.log").is_file()


def test_second_run_into_same_results_is_refused(setup):
    assert container_run(setup).code == 0
    n_calls = len(recorded_calls(setup["calls"]))
    again = container_run(setup)
    assert_one_line_error(again, "previous run", "--job-dir")
    assert len(recorded_calls(setup["calls"])) == n_calls  # refused before Docker


def test_resume_may_continue_its_own_results(setup):
    (setup["ws"] / "results" / "train").mkdir(parents=True)
    ckpt = setup["ws"] / "results" / "train" / "model_epoch_000_step_00006.pth"
    ckpt.write_bytes(b"x")
    spec_path = write_spec(setup, train={"num_epochs": 2, "resume_training_checkpoint_path": str(ckpt)})
    result = container_run(setup, "--trusted-checkpoint", "--dry-run", "--json", spec_path=spec_path)
    assert result.code == 0, result.stderr
    assert "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1" in result.json()["argv"]


def test_trusted_checkpoint_only_where_a_checkpoint_is_loaded(setup):
    refused = container_run(setup, "--trusted-checkpoint", "--dry-run")
    assert_one_line_error(refused, "--trusted-checkpoint", "drop the flag")
    spec_path = write_spec(setup, evaluate={"checkpoint": str(setup["ws"] / "m.pth")})
    ok = container_run(setup, "--trusted-checkpoint", "--dry-run", "--json", action="evaluate", spec_path=spec_path)
    assert ok.code == 0 and ok.json()["env"] == {"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}
    assert ok.json()["argv"][-4:-2] == ["optical_inspection", "evaluate"]


def test_paths_outside_workspace_refused_before_docker(setup):
    spec_path = write_spec(setup, dataset={"train_dataset": {"images_dir": "/elsewhere/images", "csv_path": "./d.csv"}})
    result = container_run(setup, spec_path=spec_path)
    assert_one_line_error(result, "dataset.train_dataset.images_dir=/elsewhere/images")
    assert recorded_calls(setup["calls"]) == []


def test_spec_outside_workspace_and_home_paths_refused(setup, tmp_path):
    outside = tmp_path / "spec.yaml"
    outside.write_text(yaml.safe_dump(setup["spec"]))
    assert_one_line_error(container_run(setup, "--dry-run", spec_path=outside), "-e=")
    home = write_spec(setup, results_dir="~/results")
    assert_one_line_error(container_run(setup, "--dry-run", spec_path=home), "results_dir", "home")


def test_placeholders_refused(setup):
    spec_path = write_spec(setup, evaluate={"checkpoint": "???"})
    assert_one_line_error(container_run(setup, "--dry-run", action="evaluate", spec_path=spec_path),
                          "evaluate.checkpoint", "???")
    assert unset_keys({"a": {"b": "???", "c": ["x", "???"]}}) == ["a.b", "a.c[1]"]


def test_preflight_failure_exit_2(setup, tmp_path):
    env = fake_tools(tmp_path / "bin2", setup["calls"], daemon=False)
    result = run_cli("--bank", setup["bank"], "container", "run", "--skill", OI_SKILL, "--action", "train",
                     "-e", write_spec(setup), "--workspace", setup["ws"], "--skip-validation", env=env)
    assert_one_line_error(result, "docker daemon not reachable", "--dry-run")
    assert result.code == 2
    assert not any(c[:2] == ["docker", "run"] for c in recorded_calls(setup["calls"]))


def test_gpus_none_skips_gpu_flag_and_check(setup, tmp_path):
    env = fake_tools(tmp_path / "bin3", setup["calls"], gpu=False)
    result = run_cli("--bank", setup["bank"], "container", "run", "--skill", OI_SKILL, "--action", "train",
                     "-e", write_spec(setup), "--workspace", setup["ws"], "--gpus", "none", "--json",
                     "--skip-validation", env=env)
    assert result.code == 0, result.stderr
    assert "--gpus" not in result.json()["argv"]
    assert not any(c[0] == "nvidia-smi" for c in recorded_calls(setup["calls"]))


def test_container_failure_is_reported(setup, tmp_path):
    env = fake_tools(tmp_path / "bin4", setup["calls"], run_exit=7)
    result = run_cli("--bank", setup["bank"], "container", "run", "--skill", OI_SKILL, "--action", "train",
                     "-e", write_spec(setup), "--workspace", setup["ws"], "--skip-validation", env=env)
    assert_one_line_error(result, "exited with code 7", "container_run.log")
    assert result.code == 3


def test_unknown_action_lists_valid_ones(setup):
    assert_one_line_error(container_run(setup, "--dry-run", action="gen_trt_engine"), "gen_trt_engine", "evaluate")


def test_real_skill_spec_is_validated_before_docker(setup, bank_root, tmp_path):
    """The shipped train skill: a built spec passes; batch_size 1 is refused before Docker."""
    from tao_skill_bank.oi.spec import build_spec

    ws = setup["ws"]
    for split in ("train", "eval"):
        (ws / split / "images" / "golden").mkdir(parents=True)
        (ws / split / "images" / "boardA").mkdir()
        (ws / split / "dataset.csv").write_text("input_path,golden_path,object_name,label\n"
                                                "boardA,golden,R1,PASS\nboardA,golden,R2,PASS\nboardA,golden,R3,short\n")
    spec = build_spec(bank_root / "skills" / OI_SKILL, "train",
                      data={"train_data": str(ws / "train"), "eval_data": str(ws / "eval")},
                      overrides={"dataset.batch_size": 2}, parent_job=None, job_dir=ws / "jobs" / "t1")
    good = ws / "good.yaml"
    good.write_text(yaml.safe_dump(spec, sort_keys=False))
    base = ["--bank", bank_root, "container", "run", "--skill", OI_SKILL, "--action", "train",
            "--workspace", ws, "--dry-run", "--json", "-e"]
    ok = run_cli(*base, good, env=setup["env"])
    assert ok.code == 0, ok.stderr
    assert ok.json()["image"] == get_value(load_versions(bank_root), "images.tao_toolkit.pyt")
    bad = ws / "bad.yaml"
    bad.write_text(yaml.safe_dump({**spec, "dataset": {**spec["dataset"], "batch_size": 1}}, sort_keys=False))
    refused = run_cli(*base, bad, env=setup["env"])
    assert_one_line_error(refused, "dataset.batch_size", "--skip-validation")
    assert recorded_calls(setup["calls"]) == []


def test_spec_without_results_dir_is_refused_before_docker(setup):
    # `docker run --rm` would discard whatever the container wrote under its own default folder
    spec = {k: v for k, v in setup["spec"].items() if k != "results_dir"}
    path = setup["ws"] / "no_results.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = container_run(setup, spec_path=path)
    assert_one_line_error(result, "results_dir", "--job-dir")
    assert recorded_calls(setup["calls"]) == []


def test_action_results_dir_alone_is_logged_into_and_given_back(setup):
    spec = {k: v for k, v in setup["spec"].items() if k != "results_dir"}
    spec["train"] = {**spec["train"], "results_dir": str(setup["ws"] / "own_train")}
    path = setup["ws"] / "own.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = container_run(setup, "--json", spec_path=path)
    assert result.code == 0, result.stderr
    assert (setup["ws"] / "own_train" / "container_run.log").is_file()
    chown = [c for c in recorded_calls(setup["calls"]) if "chown" in c]
    assert len(chown) == 1 and chown[0][-1] == "/w/own_train"


def test_cloud_uris_in_the_spec_are_warned_about_before_a_local_run(setup):
    spec_path = write_spec(setup, dataset={"train_dataset": {"images_dir": "s3://factory/aoi/train/images",
                                                             "csv_path": "s3://factory/aoi/train/dataset.csv"}})
    result = container_run(setup, "--dry-run", "--json", spec_path=spec_path)
    assert result.code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2 and any("field 'dataset.train_dataset.images_dir'" in w for w in warnings)
    assert all("cloud URI" in w and "— fix: download the split" in w for w in warnings)
    assert result.json()["warnings"] == [w[len("warning: "):] for w in warnings]
    real = container_run(setup, spec_path=spec_path)  # the fake docker runs: warned before it starts
    assert "warning: " in real.stderr and recorded_calls(setup["calls"])


def test_local_paths_give_no_cloud_warning(setup):
    result = container_run(setup, "--dry-run")
    assert "warning:" not in result.stderr


@pytest.mark.parametrize("name", ["ws:2", "ws\nnext"])
def test_workspace_docker_cannot_mount_is_refused_before_docker(setup, tmp_path, name):
    ws = tmp_path / name
    (ws / "data").mkdir(parents=True)
    spec = {**setup["spec"], "results_dir": str(ws / "results")}
    spec_path = ws / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    result = run_cli("--bank", setup["bank"], "container", "run", "--skill", OI_SKILL, "--action", "train",
                     "-e", spec_path, "--workspace", ws, "--skip-validation", env=setup["env"])
    assert_one_line_error(result, "--workspace", "-v")
    assert recorded_calls(setup["calls"]) == [] and not (ws / "results").exists()


@pytest.mark.parametrize("value", ["${oc.env:AWS_SECRET_ACCESS_KEY}", "/ws/${results_dir}/x", r"\\${x}"])
def test_spec_interpolations_never_reach_the_container(setup, value):
    spec_path = write_spec(setup, train={"num_epochs": 2, "note": value})
    result = container_run(setup, spec_path=spec_path)
    assert_one_line_error(result, "train.note", "interpolation", r"\${")
    assert recorded_calls(setup["calls"]) == []


def test_escaped_interpolation_is_a_literal_and_passes(setup):
    spec_path = write_spec(setup, train={"num_epochs": 2, "note": r"cost \${5}"})
    assert container_run(setup, "--dry-run", spec_path=spec_path).code == 0

"""`tao-skills container run` for the deploy skill: the Deploy image from versions.yaml, the
`optical_inspection <action> -e SPEC` entrypoint and the per-action results folders, driven
through a fake `docker` first on PATH."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from support import REPO_ROOT, fake_tools, recorded_calls, run_cli

SKILL = "tao-deploy-optical-inspection"
SKILL_DIR = REPO_ROOT / "skills" / SKILL
RESULTS_SUBDIRS = {"gen_trt_engine": "gen_trt_engine", "evaluate": "trt_evaluate", "inference": "trt_inference"}
PINNED_DEPLOY_IMAGE = "nvcr.io/nvidia/tao/tao-toolkit:9.9.9-deploy"


def filled_spec(action: str, ws: Path) -> dict:
    """A runnable spec: the shipped template with every placeholder filled inside the workspace."""
    job = ws / "jobs" / action
    if action == "gen_trt_engine":
        return {"results_dir": str(job), "encryption_key": "tlt_encode",
                "dataset": {"image_width": 128, "image_height": 128},
                "gen_trt_engine": {"onnx_file": str(ws / "export" / "model.onnx"),
                                   "trt_engine": str(job / "model.engine"),
                                   "tensorrt": {"data_type": "fp16", "min_batch_size": 1,
                                                "opt_batch_size": 1, "max_batch_size": 1}}}
    spec = yaml.safe_load((SKILL_DIR / "references" / f"spec_template_deploy_{action}.yaml").read_text())
    spec["results_dir"] = str(job)
    spec["dataset"]["infer_dataset"] = {"images_dir": str(ws / "data" / "images"),
                                        "csv_path": str(ws / "data" / "dataset.csv")}
    spec[action]["trt_engine"] = str(ws / "jobs" / "gen_trt_engine" / "model.engine")
    return spec


def write_spec(action: str, ws: Path) -> Path:
    path = ws / "specs" / f"{action}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(filled_spec(action, ws), sort_keys=False))
    return path


@pytest.fixture
def bank(tmp_path) -> Path:
    """A bank holding only the deploy skill, with a deploy image that exists nowhere else, so the
    command can only have taken it from this versions.yaml."""
    root = tmp_path / "bank"
    shutil.copytree(SKILL_DIR, root / "skills" / SKILL, ignore=shutil.ignore_patterns("__pycache__"))
    versions = yaml.safe_load((REPO_ROOT / "versions.yaml").read_text())
    versions["images"]["tao_toolkit"]["deploy"] = PINNED_DEPLOY_IMAGE
    (root / "versions.yaml").write_text(yaml.safe_dump(versions))
    return root


@pytest.mark.parametrize("action", list(RESULTS_SUBDIRS))
def test_dry_run_uses_the_deploy_image_from_versions_yaml(action, bank, tmp_path):
    ws = tmp_path / "ws"
    spec = write_spec(action, ws)
    result = run_cli("--bank", bank, "container", "run", "--skill", SKILL, "--action", action,
                     "-e", spec, "--workspace", ws, "--dry-run", "--json")
    assert result.code == 0, result.stderr
    record = result.json()
    assert record["image"] == PINNED_DEPLOY_IMAGE
    argv = record["argv"]
    assert argv[:2] == ["docker", "run"] and "--user" not in argv
    assert argv[argv.index(PINNED_DEPLOY_IMAGE):] == [PINNED_DEPLOY_IMAGE, "optical_inspection", action,
                                                      "-e", str(spec.resolve())]
    assert record["output_dir"] == str(ws / "jobs" / action / RESULTS_SUBDIRS[action])
    assert not (ws / "jobs" / action).exists()  # a dry run writes nothing


def test_dry_run_in_the_real_bank_names_the_versions_yaml_deploy_image(tmp_path):
    from tao_skill_bank.versions import image_uri

    ws = tmp_path / "ws"
    spec = write_spec("inference", ws)
    result = run_cli("container", "run", "--skill", SKILL, "--action", "inference", "-e", spec,
                     "--workspace", ws, "--dry-run", "--json")
    assert result.code == 0, result.stderr
    expected = image_uri("images.tao_toolkit.deploy", REPO_ROOT)
    assert result.json()["image"] == expected
    assert expected.endswith("-deploy") and image_uri("images.tao_toolkit.pyt", REPO_ROOT) not in result.stdout


@pytest.mark.parametrize("action", list(RESULTS_SUBDIRS))
def test_run_writes_its_log_into_the_actions_results_folder(action, bank, tmp_path):
    ws = tmp_path / "ws"
    spec = write_spec(action, ws)
    calls = tmp_path / "calls.jsonl"
    env = fake_tools(tmp_path / "bin", calls)
    result = run_cli("--bank", bank, "container", "run", "--skill", SKILL, "--action", action,
                     "-e", spec, "--workspace", ws, "--json", env=env)
    assert result.code == 0, result.stderr
    out = ws / "jobs" / action / RESULTS_SUBDIRS[action]
    assert (out / "container_run.log").read_text().strip() == "fake container output"
    runs = [c for c in recorded_calls(calls) if c[:2] == ["docker", "run"] and "chown" not in c]
    assert len(runs) == 1 and runs[0][-4:] == ["optical_inspection", action, "-e", str(spec.resolve())]
    assert PINNED_DEPLOY_IMAGE in runs[0]


def test_a_second_inference_into_the_same_job_is_refused_before_docker(bank, tmp_path):
    ws = tmp_path / "ws"
    spec = write_spec("inference", ws)
    previous = ws / "jobs" / "inference" / "trt_inference"
    previous.mkdir(parents=True)
    (previous / "inference.csv").write_text("input_path,object_name,label,output_score\n")
    calls = tmp_path / "calls.jsonl"
    env = fake_tools(tmp_path / "bin", calls)
    result = run_cli("--bank", bank, "container", "run", "--skill", SKILL, "--action", "inference",
                     "-e", spec, "--workspace", ws, env=env)
    assert result.code != 0 and "Traceback" not in result.stderr
    assert "trt_inference" in result.stderr
    assert recorded_calls(calls) == []
    assert (previous / "inference.csv").read_text() == "input_path,object_name,label,output_score\n"


def test_template_placeholders_are_refused_before_docker(bank, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    spec = ws / "evaluate.yaml"
    shutil.copy(SKILL_DIR / "references" / "spec_template_deploy_evaluate.yaml", spec)
    result = run_cli("--bank", bank, "container", "run", "--skill", SKILL, "--action", "evaluate",
                     "-e", spec, "--workspace", ws, "--dry-run")
    assert result.code == 1
    assert "???" in result.stderr and "evaluate.trt_engine" in result.stderr


def test_built_spec_goes_straight_to_a_dry_run(tmp_path):
    """The documented flow: spec build (engine from the parent job) then container run --dry-run."""
    ws = tmp_path / "ws"
    (ws / "engine").mkdir(parents=True)
    (ws / "engine" / "model.engine").write_bytes(b"plan")
    (ws / "kpi" / "images" / "golden").mkdir(parents=True)
    (ws / "kpi" / "images" / "board_0").mkdir()
    (ws / "kpi" / "dataset.csv").write_text("input_path,golden_path,object_name,label\nboard_0,golden,C1,PASS\n")
    spec = ws / "jobs" / "trt_inference" / "spec.yaml"
    built = run_cli("spec", "build", "--skill", SKILL, "--action", "inference", "--infer-data", ws / "kpi",
                    "--parent-job", ws / "engine", "--job-dir", spec.parent, "-o", spec)
    assert built.code == 0, built.stderr
    result = run_cli("container", "run", "--skill", SKILL, "--action", "inference", "-e", spec,
                     "--workspace", ws, "--dry-run", "--json")
    assert result.code == 0, result.stderr
    record = result.json()
    assert record["output_dir"] == str(spec.parent / "trt_inference")
    assert record["argv"][-4:] == ["optical_inspection", "inference", "-e", str(spec)]


@pytest.mark.parametrize("action", ["evaluate", "inference"])
def test_trusted_checkpoint_is_refused_for_a_tensorrt_engine(action, bank, tmp_path):
    """TensorRT evaluate/inference load an engine, not a PyTorch checkpoint: the weights-only
    override would only widen trust for nothing."""
    ws = tmp_path / "ws"
    spec = write_spec(action, ws)
    result = run_cli("--bank", bank, "container", "run", "--skill", SKILL, "--action", action,
                     "-e", spec, "--workspace", ws, "--dry-run", "--trusted-checkpoint")
    assert result.code == 1 and "Traceback" not in result.stderr
    assert "--trusted-checkpoint" in result.stderr and "drop the flag" in result.stderr

"""The train skill folder as agents and installers see it: frontmatter, links, pasteable
commands (every flag exists; the build command runs as written), evals, skill_info vs schema."""

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from support import (REPO_ROOT, bash_blocks, documented_commands, fake_tools, recorded_calls, run_bash_block, run_cli,
                     unknown_flags)
from tao_skill_bank.oi.skillinfo import load_skill_info

SKILL_DIR = REPO_ROOT / "skills" / "tao-train-optical-inspection"
SKILL_MD = SKILL_DIR / "SKILL.md"
ALLOWED_KEYS = {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}


def _frontmatter_and_body():
    text = SKILL_MD.read_text()
    _, front, body = text.split("---\n", 2)
    return yaml.safe_load(front), body


def test_frontmatter_follows_the_spec():
    front, body = _frontmatter_and_body()
    assert set(front) <= ALLOWED_KEYS and front["name"] == SKILL_DIR.name
    desc = front["description"]
    assert len(desc) <= 1024 and "<" not in desc and ">" not in desc
    for trigger in ("train optical inspection", "AOI", "Siamese", "plain training", "ONNX"):
        assert trigger.lower() in desc.lower(), trigger
    assert all(isinstance(v, str) for v in front["metadata"].values())
    assert isinstance(front["allowed-tools"], str)
    assert len(body.splitlines()) < 500


def _markdown_files():
    return [SKILL_MD, *sorted((SKILL_DIR / "references").glob("*.md"))]


def test_relative_links_resolve_and_stay_one_level_deep():
    for path in _markdown_files():
        for target in re.findall(r"\]\(([^)#]+)\)", path.read_text()):
            if "://" in target:
                continue
            resolved = (path.parent / target).resolve()
            assert resolved.exists(), f"{path.name}: broken link {target}"
            if path == SKILL_MD:
                assert len(Path(target).parts) <= 2, target


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: p.name)
def test_every_documented_command_and_flag_exists(path):
    for command in documented_commands(path.read_text()):
        assert unknown_flags(command) == [], f"{path.name}: `{command}` uses unknown flags"


def test_skill_md_covers_the_whole_flow():
    _, body = _frontmatter_and_body()
    commands = " ".join(documented_commands(body))
    for needed in ("dataset check", "spec build", "spec validate", "automl route", "container run",
                   "checkpoint resolve"):
        assert f"tao-skills {needed}" in commands, needed
    assert "scripts/tao_skills.py" in body and "tao-deploy-optical-inspection" in body
    assert "nvcr.io" not in SKILL_MD.read_text()  # images only via `tao-skills versions get`


def test_the_documented_train_build_runs_as_written(tmp_path):
    _, body = _frontmatter_and_body()
    section = body.split("## 2.")[1].split("## 3.")[0]
    block = bash_blocks(section)[0]
    for name in ("train", "val"):
        _split(tmp_path / "data" / name)
    proc = run_bash_block(block, tmp_path / "shim", _doc_env(tmp_path), timeout=120)
    assert proc.returncode == 0, proc.stderr
    spec = yaml.safe_load((tmp_path / "jobs" / "train_001" / "spec.yaml").read_text())
    assert spec["dataset"]["train_dataset"]["images_dir"] == str(tmp_path / "data/train/images/images")
    assert spec["train"]["num_epochs"] == 30 and spec["results_dir"] == str(tmp_path / "jobs/train_001")


def _split(root: Path) -> None:
    images = root / "images" / "images"
    for folder in ("golden", "b1"):
        (images / folder).mkdir(parents=True)
        (images / folder / "C1_WhiteLight.jpg").write_bytes(b"x")
    # enough rows for the template's batch of 8, both classes (the train sampler needs defects)
    rows = "".join(f"b1,golden,C1,{'PASS' if i % 3 else 'bridge'}\n" for i in range(9))
    (root / "dataset.csv").write_text("input_path,golden_path,object_name,label\n" + rows)


def _doc_env(tmp_path: Path) -> dict:
    """The variables the skill's blocks expect the agent to have set."""
    return {"WS": tmp_path, "SKILL": SKILL_DIR.name}


def test_the_documented_evaluate_inference_export_run_as_written(tmp_path):
    """Section 6 pasted into bash: the best checkpoint feeds all three specs and the evaluate run
    (a fake docker) gets the trusted-checkpoint variable."""
    _, body = _frontmatter_and_body()
    block = bash_blocks(body.split("## 6.")[1])[0]
    for name in ("test", "infer"):
        _split(tmp_path / "data" / name)
    job = tmp_path / "jobs" / "train_001"
    for rel in ("train/model_epoch_000_step_00006.pth", "train/model_epoch_001_step_00012.pth",
                "train/model_best_val_acc.pth"):
        (job / rel).parent.mkdir(parents=True, exist_ok=True)
        (job / rel).write_bytes(b"x")
    calls = tmp_path / "calls.jsonl"
    env = {**_doc_env(tmp_path), "JOB": job, "PATH": str(tmp_path / "bin")}
    fake_tools(tmp_path / "bin", calls)
    proc = run_bash_block(block, tmp_path / "shim", env)
    assert proc.returncode == 0, proc.stderr
    best = str(job / "train" / "model_best_val_acc.pth")
    specs = {a: yaml.safe_load((tmp_path / "jobs" / f"{a}_001" / "spec.yaml").read_text())
             for a in ("evaluate", "inference", "export")}
    assert all(specs[a][a]["checkpoint"] == best for a in specs)
    assert specs["export"]["export"]["onnx_file"] == str(tmp_path / "jobs" / "export_001" / "model.onnx")
    runs = [c for c in recorded_calls(calls) if c[:2] == ["docker", "run"] and "chown" not in c]
    assert len(runs) == 1 and "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1" in runs[0]
    assert runs[0][-4:] == ["optical_inspection", "evaluate", "-e", str(tmp_path / "jobs" / "evaluate_001" / "spec.yaml")]


def test_evals_cover_the_required_requests():
    evals = json.loads((SKILL_DIR / "evals" / "evals.json").read_text())
    assert evals["skill_name"] == SKILL_DIR.name and len(evals["evals"]) >= 6
    assert len({e["id"] for e in evals["evals"]}) == len(evals["evals"])
    prompts = " ".join(e["prompt"].lower() for e in evals["evals"])
    for topic in ("train an optical inspection", "no hpo", "best checkpoint", "export", "inference", "tarball"):
        assert topic in prompts, topic
    for item in evals["evals"]:
        script = item.get("expected_script")
        if script:
            assert unknown_flags(script) == [], script


def test_skill_info_keys_exist_in_the_schemas():
    info = load_skill_info(SKILL_DIR)
    for name, act in info.actions.items():
        schema = json.loads((SKILL_DIR / act.schema).read_text())
        for key in [d.spec_key for d in act.data_sources] + [p.spec_key for p in act.spec_params]:
            node = schema
            for part in key.split("."):
                assert part in node.get("properties", {}), f"{name}: {key} not in {act.schema}"
                node = node["properties"][part]


def test_deploy_routing_reference_names_the_deploy_skill():
    text = (SKILL_DIR / "references" / "tao-deploy-optical-inspection.md").read_text()
    assert "tao-deploy-optical-inspection" in text and "gen_trt_engine" in text
    assert "dataset.infer_dataset" in text and (REPO_ROOT / "skills" / "tao-deploy-optical-inspection").is_dir()


def test_a_copied_skill_folder_builds_specs_by_path(tmp_path):
    copy = tmp_path / "tao-train-optical-inspection"
    shutil.copytree(SKILL_DIR, copy)
    out = tmp_path / "spec.yaml"
    result = run_cli("spec", "build", "--skill", copy, "--action", "inference", "--infer-data", "s3://b/infer",
                     "--set", "inference.checkpoint=/ws/m.pth", "--job-dir", tmp_path / "job", "-o", out, "--json")
    assert result.code == 0, result.stderr
    assert yaml.safe_load(out.read_text())["dataset"]["infer_dataset"]["csv_path"] == "s3://b/infer/dataset.csv"

"""The real AutoML runner (nvidia-tao-automl 7.2.0) reads our skill_info.yaml as we do.

Judge: `tao_automl.runner.SkillContext` / `validate_skill_runtime` in the isolated oracle venv, for
every packaged action; the runner's own data-source mapping and entrypoint builder on our
metadata must agree with what our loader says."""

from __future__ import annotations

import json

import pytest

from oi.automl_oracle import automl_oracle_python, run_oracle
from support import REPO_ROOT
from tao_skill_bank.oi.skillinfo import load_skill_info

TRAIN = REPO_ROOT / "skills" / "tao-train-optical-inspection"

_PROBE = r"""
import json, logging, sys
logging.disable(logging.CRITICAL)
from tao_automl.runner import AutoMLRunner, SkillContext, validate_skill_runtime
from tao_sdk.script_runner import build_entrypoint

skill_dir, train_uri, eval_uri = sys.argv[1:4]
out = {}
for action in json.loads(sys.argv[4]):
    ctx = SkillContext(skill_dir=skill_dir, action=action)
    specs = {}
    AutoMLRunner._apply_data_sources(skill_info=ctx.skill_info, specs=specs, action=action,
                                     train_dataset_uri=train_uri, eval_dataset_uri=eval_uri,
                                     data_format=ctx.skill_info.get("data_format"))
    cfg = ctx.action_cfg
    ep = build_entrypoint(command=cfg["command"], specs=ctx.default_specs, inputs=cfg.get("inputs"),
                          outputs=cfg.get("outputs"), config_format=cfg.get("config_format", "toml"),
                          upload_excludes=cfg.get("upload_excludes", []))
    out[action] = {"runtime": validate_skill_runtime(skill_dir, action), "image": ctx.container_image,
                   "network_arch": ctx.network_arch, "filled": specs, "n_default_keys": len(ctx.default_specs), "n_valid_keys": len(ctx.valid_spec_keys),
                   "config_format": cfg.get("config_format"),
                   "entrypoint_has_command": "--command '" + cfg["command"] + "'" in ep["command"],
                   "entrypoint_writes_yaml": ep["command"].rstrip().endswith("--config-format yaml")}
print(json.dumps(out, default=str))
"""


def _flat(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else key
        out.update(_flat(value, dotted) if isinstance(value, dict) else {dotted: value})
    return out


@pytest.fixture(scope="module")
def runner_view():
    python = automl_oracle_python()
    info = load_skill_info(TRAIN)
    return info, run_oracle(python, _PROBE, str(TRAIN), "s3://b/train", "s3://b/eval", json.dumps(list(info.actions)),
                            env={"TAO_VERSIONS_FILE": str(REPO_ROOT / "versions.yaml")})


def test_every_action_loads_and_passes_validate_skill_runtime(runner_view):
    from tao_skill_bank.versions import get_value, load_versions

    info, view = runner_view
    versions = load_versions(REPO_ROOT)
    assert set(view) == {"train", "evaluate", "inference", "export"}
    for action, seen in view.items():
        assert seen["network_arch"] == info.network == "optical_inspection"
        assert seen["runtime"]["network_arch"] == "optical_inspection" and seen["runtime"]["parameter_count"] > 50
        # the runner resolves the image through versions.yaml to the same string our container run uses
        assert seen["image"] == get_value(versions, info.action(action).image_key)
        assert seen["config_format"] == "yaml"     # absent, the runner would write TOML
        assert seen["entrypoint_has_command"] and seen["entrypoint_writes_yaml"]
        assert seen["n_default_keys"] > 0          # it found references/spec_template_<action>.yaml


def test_runner_fills_the_same_data_keys_our_loader_declares(runner_view):
    info, view = runner_view
    uris = {"train_data": "s3://b/train/", "eval_data": "s3://b/eval/"}
    for action, seen in view.items():
        ours = {ds.spec_key: uris[ds.source] + ds.file for ds in info.action(action).data_sources
                if ds.source in uris}
        assert _flat(seen["filled"]) == ours, action
    assert len(view["train"]["filled"]["dataset"]) == 3   # train, validation and test splits

"""Runs INSIDE the OI oracle venv (nvidia-tao-core + nvidia-tao-deploy): the real spec merge.

Reads JSON lines on stdin, one case each:
    {"id": "...", "config": "core" | "deploy", "spec_yaml": "<spec file text>", "hydra": false}
and writes one JSON line per case on stdout:
    {"id": "...", "ok": true|false, "error": "<ExceptionType: first line>", "merged": {...}|null}

The spec text is read as the containers read a spec file (OmegaConf's YAML loader, which reads
`5e-4` as a float) and merged into the container's ExperimentConfig:
`OmegaConf.merge(OmegaConf.structured(ExperimentConfig), spec)`. With "hydra": true the file is
composed through Hydra the way the containers' hydra_runner does (a ConfigStore schema with the
spec file's name), to show both routes agree. One process serves every case.
"""

import contextlib
import json
import os
import sys
import tempfile
import warnings

from omegaconf import OmegaConf

CONFIG_MODULES = {
    "core": "nvidia_tao_core.config.optical_inspection.default_config",
    "deploy": "nvidia_tao_deploy.config.optical_inspection.default_config",
}


_BASES = {}


def _experiment_config(which):
    import importlib

    return importlib.import_module(CONFIG_MODULES[which]).ExperimentConfig


def _structured(which):
    """OmegaConf.structured(ExperimentConfig), built once: merge() copies it, never changes it."""
    if which not in _BASES:
        _BASES[which] = OmegaConf.structured(_experiment_config(which))
    return _BASES[which]


def _first_line(exc):
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def merge(which, text):
    spec = OmegaConf.create(text) if text.strip() else OmegaConf.create({})
    return OmegaConf.merge(_structured(which), spec)


def compose(config_cls, text, workdir):
    from hydra import compose as hydra_compose, initialize_config_dir
    from hydra.core.config_store import ConfigStore
    from hydra.core.global_hydra import GlobalHydra

    with open(os.path.join(workdir, "experiment.yaml"), "w", encoding="utf-8") as handle:
        handle.write(text)
    ConfigStore.instance().store(name="experiment", node=config_cls)
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=workdir, version_base=None):
            cfg = hydra_compose(config_name="experiment")
    finally:
        GlobalHydra.instance().clear()
    # Hydra adds its own `hydra` node only in a job run; compose leaves the spec's keys.
    return cfg


def main():
    warnings.simplefilter("ignore")
    workdir = tempfile.mkdtemp(prefix="oi-merge-")
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        result = {"id": case["id"], "ok": False, "error": None, "merged": None}
        try:
            which = case.get("config", "core")
            with contextlib.redirect_stdout(sys.stderr):
                cfg = (compose(_experiment_config(which), case["spec_yaml"], workdir) if case.get("hydra")
                       else merge(which, case["spec_yaml"]))
            result["ok"] = True
            result["merged"] = OmegaConf.to_container(cfg, resolve=False)
        except Exception as exc:  # every refusal is data for the differential test
            result["error"] = _first_line(exc)
        out.write(json.dumps(result, default=str) + "\n")
        out.flush()


if __name__ == "__main__":
    main()

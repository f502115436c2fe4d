"""The plan JSON NVIDIA's AutoML runner executes (`python -m tao_automl.runner PLAN --platform P`).

`build_plan` checks, before anything is launched, everything the runner would otherwise trip
over later: the model skill is AutoML-enabled and packages the train schema + template; the
merged base spec (template + data + `--set`) validates against the packaged schema with our spec
rules; the algorithm, settings keys, platform and metric are ones the runner accepts; local data
is visible inside the container. Anything wrong → `ready: false` with `blocking_issues` (the
runner then prints them and exits 1), never a plan that fails after the first GPU hour.

Shape (what `tao_automl.runner.run_automl_plan` reads, plus our `tao_skill_bank` block it ignores):
    {ready, blocking_issues, platform, steps: [{name, params: {skill_dir, action, train_dataset_uri,
     eval_dataset_uri, base_checkpoint, image, spec_overrides, platform_kwargs, sdk_kwargs,
     workspace_id}}], automl_settings, automl_hyperparameters, custom_param_ranges,
     automl_workspace_path, tao_skill_bank: {skill, workspace, results_root, run_command}}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tao_skill_bank.errors import UserError

# Algorithms the runner's brains implement without an LLM endpoint (llm, hybrid and
# autoresearch need API keys and are left out on purpose).
ALGORITHMS = ("bayesian", "hyperband", "bohb", "asha", "dehb", "hyperband_es", "bfbo", "pbt")
MULTI_FIDELITY = ("hyperband", "bohb", "asha", "dehb", "hyperband_es")
# Algorithms whose promoted trials resume from a parent trial's checkpoint of the epoch it stopped at.
RESUMING = MULTI_FIDELITY + ("pbt",)
# The runner's --platform choices; virtualenv runs python_script actions only (no container).
PLATFORMS = ("docker", "slurm", "kubernetes", "lepton", "brev", "virtualenv")
CONTAINER_PLATFORMS = ("docker", "slurm", "kubernetes", "lepton", "brev")
RESULTS_MOUNT = "/results"
TRAIN = "train"
DEFAULT_TRIALS = 6
STEP_NAME = "automl_train"


RUNNER_PACKAGES = ("nvidia_tao_automl", "nvidia_tao_sdk")


def runner_requirements(versions: dict | None) -> list[str]:
    """pip requirements of NVIDIA's runner from versions.yaml `automl:` (unpinned when absent)."""
    pins = (versions or {}).get("automl") or {}
    return [f"{name.replace('_', '-')}=={pins[name]}" if pins.get(name) else name.replace("_", "-")
            for name in RUNNER_PACKAGES]


def _uri(value: str) -> bool:
    from tao_skill_bank.oi.specdoc import URI_PREFIXES

    return value.startswith(URI_PREFIXES)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def _dataset_uri(value: str | None) -> str:
    if not value:
        return ""
    return value if _uri(value) else str(Path(value).expanduser().resolve())


def automl_settings(*, algorithm: str, metric: str, max_trials: int | None, max_epochs: int | None) -> dict:
    """Only keys in the runner's KNOWN_AUTOML_SETTINGS (it refuses any other)."""
    direction = "minimize" if "loss" in metric.lower() else "maximize"
    settings: dict[str, Any] = {"algorithm": algorithm, "metric": metric, "direction": direction,
                                "automl_delete_intermediate_ckpt": True, "run_baseline": False}
    if algorithm in RESUMING:
        # The runner's default retention ("auto" -> "best" when the spec has train.checkpointer) keeps
        # only model_best_<E>.pth with replace_periodic; when the metric peaks before the last epoch
        # a promotion finds no checkpoint at its parent's stop epoch (the runner wants epoch N or
        # N-1), every promoted trial fails and the winner can be pruned (seen with the real 7.2.0
        # runner, tests/oi/test_automl_e2e.py). "terminal" keeps the stop-epoch checkpoint; the
        # template's best-k checkpointer still writes model_best_* next to it.
        settings["automl_checkpoint_retention_strategy"] = "terminal"
    if algorithm in MULTI_FIDELITY:
        if max_epochs is not None:
            settings["automl_max_epochs"] = max_epochs
        if max_trials is not None:
            settings["automl_max_recommendations"] = max_trials
    else:
        settings["automl_max_recommendations"] = max_trials if max_trials is not None else DEFAULT_TRIALS
    return settings


def build_plan(skill_dir: Path, *, train_data: str | None, eval_data: str | None, overrides: dict,
               workspace: Path, automl_dir: Path, algorithm: str = "bayesian", max_trials: int | None = None,
               max_epochs: int | None = None, platform: str = "docker", metric: str | None = None,
               base_checkpoint: str = "", bank_root: Path | None = None) -> dict:
    from tao_skill_bank.oi.automl import TRAIN_ACTION, unusable_files
    from tao_skill_bank.oi.skillinfo import load_skill_info
    from tao_skill_bank.oi.spec import build_spec_report
    from tao_skill_bank.oi.specdoc import SpecInvalid, get_dotted
    from tao_skill_bank.versions import get_value, load_versions

    issues: list[str] = []
    skill_dir = Path(skill_dir).resolve()
    workspace = Path(workspace).expanduser().resolve()
    automl_dir = Path(automl_dir).expanduser().resolve()
    info = load_skill_info(skill_dir)
    if TRAIN_ACTION not in info.actions:
        raise UserError(f"{info.skill} packages no train action", file=str(info.path), field="actions",
                        fix="AutoML tunes a train action: pass a train skill")
    act = info.action(TRAIN_ACTION)
    if not info.automl_enabled:
        issues.append(f"{info.skill}: automl_enabled is false in references/skill_info.yaml — train directly "
                      f"with the model skill")
    missing = unusable_files(skill_dir, [act.schema, act.template])
    if missing:
        issues.append(f"AutoML is enabled but not runnable: {', '.join(missing)} — regenerate with "
                      f"`tao-skills schemas regenerate --skill {info.skill}`, or train directly")
    if algorithm not in ALGORITHMS:
        issues.append(f"algorithm '{algorithm}' is not one of {', '.join(ALGORITHMS)}")
    if platform not in PLATFORMS:
        issues.append(f"platform '{platform}' is not one the runner knows ({', '.join(PLATFORMS)})")
    elif platform not in CONTAINER_PLATFORMS:
        issues.append(f"platform '{platform}' runs python_script actions only; {info.skill} {TRAIN_ACTION} runs "
                      f"in a container: use one of {', '.join(CONTAINER_PLATFORMS)}")
    for name, value in (("--max-trials", max_trials), ("--max-epochs", max_epochs)):
        if value is not None and value < 1:
            issues.append(f"{name} must be at least 1 (got {value})")
    metric = metric or info.monitoring_metric
    if not metric:
        issues.append(f"no metric to optimise: {info.skill} declares no monitoring_metric — pass --metric NAME")

    # Data: local splits are resolved exactly as `spec build` resolves them and go in spec_overrides
    # (the runner only downloads remote inputs); URIs are the runner's train/eval dataset URIs.
    data = {"train_data": train_data, "eval_data": eval_data}
    local = [(flag, value) for flag, value in (("--train-data", train_data), ("--eval-data", eval_data))
             if value and not _uri(value)]
    if platform == "docker":
        for flag, value in local:
            if not _inside(Path(value).expanduser(), workspace):
                issues.append(f"{flag} {value} is outside the workspace {workspace}: the container sees only the "
                              f"workspace (mounted at the same path) — move or link the data into it")
        if not _inside(automl_dir, workspace):
            issues.append(f"the AutoML folder {automl_dir} is outside the workspace {workspace}")
    elif local:
        issues.append(f"{', '.join(f for f, _ in local)}: local paths do not reach {platform} jobs — pass s3:// "
                      f"(or other remote) URIs")

    spec_overrides: dict[str, Any] = {}
    base_spec: dict = {}
    if info.automl_enabled and not missing:
        try:
            # The runner fills results_dir per trial (platform parameter); validate with a stand-in.
            build = build_spec_report(skill_dir, TRAIN_ACTION, data={k: v for k, v in data.items() if v},
                                      overrides={"results_dir": str(automl_dir / "results"), **overrides})
            base_spec = build.spec
            local_sources = {s for s, v in data.items() if v and not _uri(v)}
            for ds in act.data_sources:
                if ds.source in local_sources and ds.spec_key in build.data:
                    spec_overrides[ds.spec_key] = build.data[ds.spec_key]
        except SpecInvalid as exc:
            issues.extend(f"spec: {i.line()}" for i in exc.issues)
        except UserError as exc:
            issues.append(f"spec: {exc.message}" + (f" — {exc.fix}" if exc.fix else ""))
    spec_overrides.update(overrides)
    if base_spec:
        epochs = get_dotted(base_spec, "train.num_epochs", None)
        interval = get_dotted(base_spec, "train.validation_interval", None)
        if isinstance(epochs, int) and isinstance(interval, int) and interval > epochs:
            issues.append(f"train.validation_interval {interval} > train.num_epochs {epochs}: no trial would ever "
                          f"report {metric or 'its metric'} — lower it (--set train.validation_interval=1)")
        if algorithm in MULTI_FIDELITY and isinstance(interval, int) and interval > 1:
            issues.append(f"{algorithm} stops trials after as few as 1 epoch: set --set train.validation_interval=1 "
                          f"so every rung reports {metric or 'its metric'}")

    versions = load_versions(bank_root) if bank_root else None
    image = get_value(versions, act.image_key) if versions else ""
    results_root = automl_dir / "results"
    platform_kwargs: dict[str, Any] = {}
    if platform == "docker":
        platform_kwargs["mounts"] = [{"host_path": str(workspace), "container_path": str(workspace)},
                                     {"host_path": str(results_root), "container_path": RESULTS_MOUNT}]
    plan = {
        "ready": not issues,
        "blocking_issues": issues,
        "platform": platform,
        "steps": [{"name": STEP_NAME, "params": {
            "skill_dir": str(skill_dir), "action": TRAIN_ACTION,
            "train_dataset_uri": _dataset_uri(train_data), "eval_dataset_uri": _dataset_uri(eval_data),
            "base_checkpoint": base_checkpoint, "image": image, "spec_overrides": spec_overrides,
            "platform_kwargs": platform_kwargs, "sdk_kwargs": {}, "workspace_id": None}}],
        "automl_settings": automl_settings(algorithm=algorithm, metric=metric or "", max_trials=max_trials,
                                           max_epochs=max_epochs),
        "automl_hyperparameters": None,
        "custom_param_ranges": None,
        "automl_workspace_path": str(automl_dir),
        "tao_skill_bank": {"skill": info.skill, "workspace": str(workspace),
                           "results_root": str(results_root) if platform == "docker" else None},
    }
    return plan

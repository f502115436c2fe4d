"""Semantic spec rules: what the container refuses (or silently gets wrong) that a JSON Schema
cannot say. Each rule is pure: `(action, spec) -> list[SpecIssue]`.

`RULES` maps a skill name to its rules. The train skill's rules live here; other skills keep
theirs in their own module, listed in `LAZY_RULES` and imported on first use (a module not
written yet is skipped, so one missing file never breaks every command).
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

from tao_skill_bank.oi.specdoc import URI_PREFIXES, SpecIssue, get_dotted

TRAIN_SKILL = "tao-train-optical-inspection"
Rule = Callable[[str, dict], list[SpecIssue]]
_ABSENT = object()
# Actions that spread work over `<block>.num_gpus` GPUs listed in `<block>.gpu_ids`.
MULTI_GPU_BLOCKS = ("train", "evaluate", "inference")


def _lookup(spec: Any, dotted: str) -> Any:
    return get_dotted(spec, dotted, _ABSENT) if isinstance(spec, dict) else _ABSENT


def gpu_ids_match_num_gpus(action: str, spec: dict) -> list[SpecIssue]:
    """`<block>.gpu_ids` must list exactly `<block>.num_gpus` devices. Deliberately stricter than TAO:
    its launcher only warns and runs on range(max(num_gpus, len(gpu_ids))), GPUs nobody asked for
    (docs/spec-rules.md). Train batch 1 and the other runtime failures are oi/runtime_rules.py."""
    if action not in MULTI_GPU_BLOCKS:
        return []
    num_gpus = _lookup(spec, f"{action}.num_gpus")
    gpu_ids = _lookup(spec, f"{action}.gpu_ids")
    if not isinstance(num_gpus, int) or isinstance(num_gpus, bool) or not isinstance(gpu_ids, list):
        return []
    if len(gpu_ids) == num_gpus:
        return []
    return [SpecIssue(f"{action}.gpu_ids", f"{num_gpus} GPU id(s) ({action}.num_gpus)", repr(gpu_ids),
                      f"TAO's launcher would silently run on GPUs {list(range(max(num_gpus, len(gpu_ids))))} — "
                      f"make {action}.gpu_ids list {num_gpus} "
                      f"id(s), e.g. {list(range(num_gpus))}, or change {action}.num_gpus")]


def local_images_dir_is_a_folder(action: str, spec: dict) -> list[SpecIssue]:
    """A local `images_dir` must be the extracted folder; only the platform unpacks tarballs (URIs)."""
    dataset = _lookup(spec, "dataset")
    issues = []
    if not isinstance(dataset, dict):
        return issues
    for split, block in dataset.items():
        value = block.get("images_dir") if isinstance(block, dict) else None
        if isinstance(value, str) and value.endswith((".tar.gz", ".tgz", ".tar")) and not value.startswith(URI_PREFIXES):
            key = f"dataset.{split}.images_dir"
            issues.append(SpecIssue(key, "the extracted images folder", value,
                                    "a local container run reads folders, not tarballs — extract it and run "
                                    "`tao-skills dataset check SPLIT_DIR` for the images_dir to use"))
    return issues


RULES: dict[str, list[Rule]] = {
    TRAIN_SKILL: [gpu_ids_match_num_gpus, local_images_dir_is_a_folder],
}

# (skill, module, attribute holding the rule list): loaded into RULES on first use.
LAZY_RULES: list[tuple[str, str, str]] = [
    ("tao-deploy-optical-inspection", "tao_skill_bank.oi.deploy_rules", "DEPLOY_RULES"),
]
_loaded: set[str] = set()


def rules_for(skill: str) -> list[Rule]:
    for name, module_name, attribute in LAZY_RULES:
        if name in _loaded:
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        RULES.setdefault(name, []).extend(getattr(module, attribute))
        _loaded.add(name)
    return RULES.get(skill, [])


def check(skill: str, action: str, spec: dict) -> list[SpecIssue]:
    return [issue for rule in rules_for(skill) for issue in rule(action, spec)]

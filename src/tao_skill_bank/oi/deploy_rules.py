"""Semantic checks for the TensorRT (TAO Deploy) optical-inspection specs.

The JSON Schema catches types and bounds; these rules catch what the schema cannot express and
what the Deploy container would otherwise accept silently or fail on late:
- `tensorrt.data_type` must be ONE precision (the schema default "fp32,fp16" builds FP32);
- the engine's batch profile must be ordered (min <= opt <= max);
- evaluate / inference batch sizes must fit the engine's profile when the spec records it;
- an int8 build needs calibration images and a cache file;
- images must be square (the Deploy loader hands OpenCV (height, width) where it expects
  (width, height), so non-square inputs come out transposed and do not fit the engine).

Each rule is pure: `(action, spec) -> list[SpecIssue]`. They are registered for the deploy skill
in `tao_skill_bank.oi.rules.RULES`.
"""

from __future__ import annotations

from typing import Any, Callable

from tao_skill_bank.oi.specdoc import PLACEHOLDER, SpecIssue, get_dotted

DEPLOY_SKILL = "tao-deploy-optical-inspection"
VALID_DATA_TYPES = ("fp32", "fp16", "bf16", "int8")
PROFILE_KEYS = ("min_batch_size", "opt_batch_size", "max_batch_size")
PROFILE_PREFIX = "gen_trt_engine.tensorrt"
_ABSENT = object()


def _lookup(spec: dict, dotted: str) -> Any:
    """Value at a dotted key, or _ABSENT when any part of the path is missing."""
    return get_dotted(spec, dotted, _ABSENT)


def _is_set(value: Any) -> bool:
    return value is not _ABSENT and value is not None and value != PLACEHOLDER and value != ""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_data_type(action: str, spec: dict) -> list[SpecIssue]:
    key = f"{PROFILE_PREFIX}.data_type"
    value = _lookup(spec, key)
    if action != "gen_trt_engine" or value is _ABSENT:
        return []
    if isinstance(value, str) and value.strip().lower() in VALID_DATA_TYPES:
        return []
    why = ("TensorRT reads one precision; an option list such as 'fp32,fp16' matches none and "
           "the engine is silently built in FP32" if isinstance(value, str) and "," in value
           else "only fp16, bf16 and int8 change the engine precision; anything else builds FP32")
    return [SpecIssue(key, " | ".join(VALID_DATA_TYPES), repr(value),
                      f"{why} — set {key}=fp16 (the usual choice) or one of {', '.join(VALID_DATA_TYPES)}")]


def engine_profile(spec: dict) -> dict[str, int] | None:
    """The engine's (min, opt, max) batch profile when the spec records all three as integers."""
    present = recorded_bounds(spec)
    return present if len(present) == len(PROFILE_KEYS) else None


def recorded_bounds(spec: dict) -> dict[str, int]:
    """The profile bounds the spec records as integers, whichever of min/opt/max they are (a spec
    may set only some; the rules check what is there instead of skipping the whole profile)."""
    values = {name: _lookup(spec, f"{PROFILE_PREFIX}.{name}") for name in PROFILE_KEYS}
    return {name: value for name, value in values.items() if _is_int(value)}


def check_batch_profile(action: str, spec: dict) -> list[SpecIssue]:
    bounds = recorded_bounds(spec)
    ordered = [name for name in PROFILE_KEYS if name in bounds]
    for lower, upper in zip(ordered, ordered[1:]):
        if bounds[lower] > bounds[upper]:
            break
    else:
        return []
    if len(ordered) == len(PROFILE_KEYS):
        low, high = bounds["min_batch_size"], bounds["max_batch_size"]
        key = f"{PROFILE_PREFIX}.opt_batch_size" if low <= high else f"{PROFILE_PREFIX}.max_batch_size"
    else:
        key = f"{PROFILE_PREFIX}.{upper}"
    got = ", ".join(f"{name.split('_')[0]}={bounds[name]}" for name in ordered)
    return [SpecIssue(key, "min_batch_size <= opt_batch_size <= max_batch_size", got,
                      "TensorRT refuses an optimisation profile out of order — set "
                      f"{PROFILE_PREFIX}.min/opt/max_batch_size so that min <= opt <= max "
                      "(e.g. 1, 1, 1 for the usual batch-1 engine)")]


def check_batch_in_profile(action: str, spec: dict) -> list[SpecIssue]:
    if action not in ("evaluate", "inference"):
        return []
    key = f"{action}.batch_size"
    batch = _lookup(spec, key)
    bounds = recorded_bounds(spec)
    low, high = bounds.get("min_batch_size"), bounds.get("max_batch_size")
    if not _is_int(batch) or (low is None and high is None):
        return []
    if (low is None or low <= batch) and (high is None or batch <= high):
        return []
    if low is not None and high is not None:
        expected, accepts = f"{low} <= {key} <= {high} (the engine's batch profile)", f"from {low} to {high}"
    elif high is not None:
        expected, accepts = f"{key} <= {high} (the engine's max_batch_size)", f"up to {high}"
    else:
        expected, accepts = f"{key} >= {low} (the engine's min_batch_size)", f"from {low} up"
    return [SpecIssue(key, expected, str(batch),
                      f"the engine only accepts batches {accepts} — set {key} inside "
                      "that range, or rebuild the engine with a larger max_batch_size")]


def check_int8_calibration(action: str, spec: dict) -> list[SpecIssue]:
    data_type = _lookup(spec, f"{PROFILE_PREFIX}.data_type")
    if action != "gen_trt_engine" or not (isinstance(data_type, str) and data_type.strip().lower() == "int8"):
        return []
    issues = []
    dirs_key = f"{PROFILE_PREFIX}.calibration.cal_image_dir"
    dirs = _lookup(spec, dirs_key)
    if not (isinstance(dirs, list) and dirs and all(isinstance(d, str) and _is_set(d) for d in dirs)):
        issues.append(SpecIssue(dirs_key, "a non-empty list of calibration image folders",
                                repr(None if dirs is _ABSENT else dirs),
                                "an int8 engine is calibrated on real images — pass --calibration-data "
                                "SPLIT to `tao-skills spec build`, or use data_type fp16 (no data needed)"))
    cache_key = f"{PROFILE_PREFIX}.calibration.cal_cache_file"
    cache = _lookup(spec, cache_key)
    if not (isinstance(cache, str) and _is_set(cache)):
        issues.append(SpecIssue(cache_key, "a path for the calibration cache (e.g. <results_dir>/cal.bin)",
                                repr(None if cache is _ABSENT else cache),
                                "int8 writes its scales to this file — build the spec with --job-dir so it is "
                                f"filled, or --set {cache_key}=<job results dir>/cal.bin"))
    return issues


def check_square_images(action: str, spec: dict) -> list[SpecIssue]:
    width = _lookup(spec, "dataset.image_width")
    height = _lookup(spec, "dataset.image_height")
    if not (_is_int(width) and _is_int(height)) or width == height:
        return []
    return [SpecIssue("dataset.image_height", f"equal to dataset.image_width ({width})", str(height),
                      "the TensorRT loader passes (image_height, image_width) to OpenCV as (width, height), "
                      "so non-square images come out transposed and do not fit the engine — use a square "
                      "size (the train template's 128x128) and train, export and deploy with it")]


DEPLOY_RULES: list[Callable[[str, dict], list[SpecIssue]]] = [
    check_data_type,
    check_batch_profile,
    check_batch_in_profile,
    check_int8_calibration,
    check_square_images,
]

"""Spec values the platform fills from job folders (the `spec_params` table of skill_info.yaml).

| resolver | value |
|---|---|
| output_dir | the current job folder (`results_dir`) |
| key | `tlt_encode` unless the spec already holds a key |
| resume_model | the current job's own latest `model_epoch_*` checkpoint (absent = fresh start) |
| ptm_if_no_resume_model | kept when no resume checkpoint exists, emptied when one does |
| parent_model | the parent job's checkpoint (`.engine` for `*trt_engine` keys) |
| parent_onnx | the parent (export) job's `.onnx` file |
| create_onnx_file / create_engine_file / create_cal_cache | `<job>/model.onnx`, `<job>/model.engine`, `<job>/cal.bin` |

Values derived from the current job folder are always set when `job_dir` is given (the platform
owns them); values from a parent job fill only keys that are still unset (None, "", "???"), so
an explicit `--set` wins. Several candidate files in a parent job are an error, never a guess.
Pure except for listing folders.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tao_skill_bank.errors import EXIT_ENVIRONMENT, UserError

DEFAULT_KEY = "tlt_encode"
UNSET = (None, "", "???")
JOB_FILES = {"create_onnx_file": "model.onnx", "create_engine_file": "model.engine", "create_cal_cache": "cal.bin"}
RESOLVERS = ("output_dir", "key", "resume_model", "ptm_if_no_resume_model", "parent_model", "parent_onnx",
             *JOB_FILES)


def _files(folder: Path, suffix: str) -> list[Path]:
    return sorted(p for p in folder.rglob(f"*{suffix}") if p.is_file())


# What produces each file a parent job is searched for: the fix when the parent has none.
PRODUCED_BY = {".engine": "gen_trt_engine", ".onnx": "export"}


def _only(found: list[Path], what: str, folder: Path, spec_key: str) -> Path:
    if len(found) == 1:
        return found[0]
    shown = ", ".join(str(p.relative_to(folder)) for p in found[:8])
    problem = f"no {what} in the parent job" if not found else f"{len(found)} {what} files in the parent job ({shown})"
    producer = PRODUCED_BY.get(what)
    if producer and not found:
        fix = (f"run {producer} first (its job folder is the --parent-job of this one) "
               f"or --set {spec_key}=PATH")
    else:
        fix = (f"set it explicitly: --set {spec_key}=PATH (for checkpoints: "
               f"tao-skills checkpoint resolve {folder} --select best|latest|epoch=N)")
    raise UserError(problem, file=str(folder), field=spec_key, fix=fix)


def _parent_checkpoint(parent_job: Path, spec_key: str) -> Path:
    from tao_skill_bank.oi import automl_state
    from tao_skill_bank.oi.checkpoints import scan_checkpoint_files

    if automl_state.is_automl_workspace(parent_job):   # an AutoML run: the winning trial's checkpoint
        return Path(automl_state.best_checkpoint_record(parent_job)["checkpoint"])
    checkpoints, _ignored = scan_checkpoint_files(parent_job)
    paths = sorted({parent_job / c.file for c in checkpoints})
    if len(paths) > 1:
        # a single model_best_* is the job's designated model file
        bests = sorted({parent_job / c.file for c in checkpoints if c.kind == "best"})
        if len(bests) == 1:
            return bests[0]
    return _only(paths, "checkpoint (model_epoch_*.pth / model_best_*.pth)", parent_job, spec_key)


def _latest_own_checkpoint(job_dir: Path) -> Path | None:
    from tao_skill_bank.oi.checkpoints import Selection, scan_checkpoint_files, select_checkpoint

    if not job_dir.is_dir():
        return None
    checkpoints, _ = scan_checkpoint_files(job_dir)
    if not any(c.kind == "epoch" for c in checkpoints):
        return None
    return job_dir / select_checkpoint(checkpoints, Selection("latest"), results_dir=str(job_dir)).file


def resolve_value(resolver: str, spec_key: str, current: Any, *, parent_job: Path | None,
                  job_dir: Path | None, resume: Path | None) -> tuple[bool, Any]:
    """(changed, value) for one spec_params row."""
    if resolver == "output_dir":
        return (True, str(job_dir)) if job_dir else (False, current)
    if resolver == "key":
        return (True, DEFAULT_KEY) if current in UNSET else (False, current)
    if resolver == "resume_model":
        return (True, str(resume)) if resume else (False, current)
    if resolver == "ptm_if_no_resume_model":
        # Resuming restores the trained weights; loading a pretrained model on top would be wrong.
        return (True, "") if resume else (False, current)
    if resolver in JOB_FILES:
        return (True, str(job_dir / JOB_FILES[resolver])) if job_dir else (False, current)
    if resolver in ("parent_model", "parent_onnx"):
        if parent_job is None or current not in UNSET:
            return False, current
        if resolver == "parent_onnx":
            return True, str(_only(_files(parent_job, ".onnx"), ".onnx", parent_job, spec_key))
        if spec_key.endswith("trt_engine") or spec_key.endswith("engine_file"):
            return True, str(_only(_files(parent_job, ".engine"), ".engine", parent_job, spec_key))
        return True, str(_parent_checkpoint(parent_job, spec_key))
    raise UserError(f"unknown resolver '{resolver}'", file="references/skill_info.yaml", field=spec_key,
                    fix=f"use one of: {', '.join(RESOLVERS)}")


def apply_spec_params(spec: dict, skill_info, action: str, *, parent_job: Path | None,
                      job_dir: Path | None) -> dict:
    """A copy of `spec` with the action's platform-filled parameters applied."""
    parent = Path(parent_job).resolve() if parent_job else None
    job = Path(job_dir).resolve() if job_dir else None
    if parent is not None and not parent.is_dir():
        raise UserError("parent job folder not found", file=str(parent), field="--parent-job",
                        fix="pass the results folder of the train/export job this one builds on", exit_code=EXIT_ENVIRONMENT)
    from tao_skill_bank.oi.specdoc import get_dotted, set_dotted

    rows = skill_info.action(action).spec_params
    wants_resume = any(r.resolver in ("resume_model", "ptm_if_no_resume_model") for r in rows)
    resume = _latest_own_checkpoint(job) if (job is not None and wants_resume) else None
    result = copy.deepcopy(spec)
    for row in rows:
        key = row.spec_key
        changed, value = resolve_value(row.resolver, key, get_dotted(result, key), parent_job=parent, job_dir=job,
                                       resume=resume)
        if changed:
            set_dotted(result, key, value)
    return result

"""Read what NVIDIA's AutoML runner (nvidia-tao-automl 7.2.0) leaves on disk — without the runner.

The one place that knows the runner's layout; `automl status` and `checkpoint resolve --select
best` both read through it.

    <automl_workspace_path>/                 the plan's folder (`tao-skills automl plan` writes here)
      automl_plan.json                       our plan (the runner reads it; we read the settings back)
      automl_run.json                        written by `tao-skills automl run` (state, pid, exit code)
      results/<job_id>/...                   Docker `/results` bind: one folder per trial job
      run_<YYYYmmdd_HHMMSS>/                 one runner invocation
        .automl/controller/<exp>.json        [{id, specs, job_id, status, result, ...}] in launch order
        .automl/best_rec/<exp>.json          {"rec_number": N, "rec_data": {record}} — the controller's pick
        active_jobs.json                     jobs in flight (empty list when none)
        artifact_jobs.json                   {job_id: terminal status | "deleted"} (pruned trials)

Pure core: `trial_budget`, `pick_winner`, `run_state`. Adapter: `load_run`, `status_record`,
`best_checkpoint_record`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tao_skill_bank.errors import EXIT_ENVIRONMENT, UserError

STATE_DIR = ".automl"
PLAN_FILE = "automl_plan.json"
RUN_MARKER = "automl_run.json"
RUN_PREFIX = "run_"
SUCCESS = ("success", "done")
TERMINAL = ("success", "done", "failure", "error", "canceled")
# The controller's multi-fidelity algorithms: the winner is taken among the trials at the
# largest budget only (controller.get_best / _largest_budget_candidates).
MULTI_FIDELITY = frozenset({"hyperband", "h", "bohb", "asha", "dehb", "hyperband_es", "hes"})
BUDGET_KEYS = frozenset({"num_epochs", "epochs", "n_epochs", "max_iters", "epoch", "max_epochs"})
_MAX_JSON_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Trial:
    rec_id: int
    job_id: str | None
    status: str
    result: float | None
    budget: float | None
    specs: dict = field(default_factory=dict)
    failure_reason: str | None = None
    resume_from_job_id: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status in SUCCESS and self.result is not None


@dataclass
class AutomlRun:
    run_dir: Path
    experiment_id: str
    trials: list[Trial]
    best_rec: dict | None
    active_jobs: list
    artifact_jobs: dict
    plan: dict | None
    marker: dict | None
    record_metric: str = ""          # the metric name the controller stored on its records

    @property
    def settings(self) -> dict:
        settings = dict((self.plan or {}).get("automl_settings") or {})
        if not settings.get("metric") and self.record_metric:
            settings["metric"] = self.record_metric
        return settings

    @property
    def algorithm(self) -> str | None:
        value = self.settings.get("algorithm")
        return str(value).lower() if value else None

    @property
    def metric(self) -> str:
        return str(self.settings.get("metric") or "")

    @property
    def direction(self) -> str:
        return objective_direction(self.settings)


# ---------------------------------------------------------------- pure core

def objective_direction(settings: dict) -> str:
    """The controller's score direction: multi-objective → maximize; explicit `direction`; else the
    runner's implicit rule (a metric named *loss* is minimized, anything else maximized)."""
    if settings.get("objectives") or settings.get("multi_objective"):
        return "maximize"
    explicit = settings.get("direction")
    if explicit in ("minimize", "maximize"):
        return explicit
    return "minimize" if "loss" in str(settings.get("metric") or "loss").lower() else "maximize"


def trial_budget(record: dict) -> float | None:
    """The controller's budget of one recommendation: the largest of early_stop_epoch and any
    recommended spec key whose last part is an epoch/iteration count."""
    budgets = []
    if isinstance(record.get("early_stop_epoch"), (int, float)) and not isinstance(record.get("early_stop_epoch"), bool):
        budgets.append(float(record["early_stop_epoch"]))
    for key, value in (record.get("specs") or {}).items():
        if str(key).rsplit(".", 1)[-1] not in BUDGET_KEYS or isinstance(value, bool):
            continue
        try:
            budgets.append(float(value))
        except (TypeError, ValueError):
            continue
    return max(budgets) if budgets else None


def pick_winner(trials: list[Trial], algorithm: str | None, direction: str) -> Trial | None:
    """The runner's winner rule over finished trials (history order breaks ties: first wins)."""
    done = [t for t in trials if t.succeeded]
    if not done:
        return None
    if algorithm in MULTI_FIDELITY:
        budgeted = [t for t in done if t.budget is not None]
        if budgeted:
            top = max(t.budget for t in budgeted)
            done = [t for t in budgeted if t.budget == top]
    pick = min if direction == "minimize" else max
    return pick(done, key=lambda t: t.result)


def run_state(trials: list[Trial], active_jobs: list, marker: dict | None, *, pid_alive=None) -> str:
    """running | finished | failed | interrupted | idle (nothing in flight, no end recorded)."""
    in_flight = bool(active_jobs) or any(t.status in ("pending", "running") for t in trials)
    marker_state = (marker or {}).get("state")
    if marker_state == "running":
        alive = pid_alive(marker.get("pid")) if pid_alive else True
        if alive:
            return "running"
        return "interrupted"
    if in_flight:
        return "running"
    if marker_state in ("finished", "failed"):
        return marker_state
    return "idle"


# ---------------------------------------------------------------- adapters

def _read_json(path: Path, what: str) -> Any:
    from tao_skill_bank.safe_input import load_json_file

    if not path.exists():
        return None
    try:  # bounded: size, UTF-8, nesting depth, 64-bit integers
        return load_json_file(path, what=what, max_bytes=_MAX_JSON_BYTES)
    except UserError as err:
        raise UserError(f"{what} is not JSON the bank can read ({err.message})", file=str(path),
                        fix="the runner may be writing it right now: rerun in a moment; else the file is damaged") from None


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_automl_workspace(path: Path) -> bool:
    """A runner run folder (`.automl/` inside) or a plan folder holding run_* folders."""
    path = Path(path)
    if (path / STATE_DIR).is_dir():
        return True
    return path.is_dir() and any((p / STATE_DIR).is_dir() for p in path.glob(f"{RUN_PREFIX}*"))


def find_run_dir(path: Path) -> Path:
    """The one run folder `path` names; several runs in a plan folder → error listing them."""
    path = Path(path)
    if not path.is_dir():
        raise UserError("AutoML workspace not found", file=str(path),
                        fix="pass the plan's automl_workspace_path or one of its run_<timestamp> folders")
    if (path / STATE_DIR).is_dir():
        return path
    runs = sorted(p for p in path.glob(f"{RUN_PREFIX}*") if (p / STATE_DIR).is_dir())
    if not runs:
        raise UserError("no AutoML state here (no .automl/ folder, no run_<timestamp>/.automl/)", file=str(path),
                        fix="pass the folder the runner wrote (the plan's automl_workspace_path), or start the "
                            "run with `tao-skills automl run PLAN`")
    if len(runs) > 1:
        names = ", ".join(p.name for p in runs)
        raise UserError(f"{len(runs)} AutoML runs in this folder: {names}", file=str(path),
                        fix=f"pass one of them, e.g. {runs[-1]} (the newest)")
    return runs[0]


def _trial(record: dict) -> Trial:
    result = record.get("result")
    numeric = isinstance(result, (int, float)) and not isinstance(result, bool)
    rec_id = record.get("id")
    return Trial(rec_id=int(rec_id) if isinstance(rec_id, int) else -1, job_id=record.get("job_id") or None,
                 status=str(record.get("status") or "pending").lower(), result=float(result) if numeric else None,
                 budget=trial_budget(record), specs=dict(record.get("specs") or {}),
                 failure_reason=record.get("failure_reason"), resume_from_job_id=record.get("resume_from_job_id"))


def load_run(path: Path) -> AutomlRun:
    run_dir = find_run_dir(path)
    controller_dir = run_dir / STATE_DIR / "controller"
    experiments = sorted(p.stem for p in controller_dir.glob("*.json")) if controller_dir.is_dir() else []
    if len(experiments) > 1:
        raise UserError(f"{len(experiments)} experiments in one run: {', '.join(experiments)}",
                        file=str(controller_dir), fix="this is not a layout the runner writes; inspect the folder")
    experiment = experiments[0] if experiments else ""
    records = _read_json(controller_dir / f"{experiment}.json", "AutoML controller state") if experiment else []
    if not isinstance(records, list):
        raise UserError("AutoML controller state is not a list of recommendations",
                        file=str(controller_dir / f"{experiment}.json"), fix="inspect the file")
    best_rec = _read_json(run_dir / STATE_DIR / "best_rec" / f"{experiment}.json", "AutoML best_rec") if experiment else None
    active = _read_json(run_dir / "active_jobs.json", "active_jobs.json") or []
    artifacts = _read_json(run_dir / "artifact_jobs.json", "artifact_jobs.json") or {}
    plan = _read_json(run_dir.parent / PLAN_FILE, "AutoML plan")
    marker = _read_json(run_dir.parent / RUN_MARKER, "automl run marker")
    if isinstance(marker, dict):
        newest = sorted(p.name for p in run_dir.parent.glob(f"{RUN_PREFIX}*"))
        if newest and newest[-1] != run_dir.name:
            marker = None   # the marker belongs to a later run
    return AutomlRun(run_dir=run_dir, experiment_id=experiment,
                     trials=[_trial(r) for r in records if isinstance(r, dict)],
                     best_rec=best_rec if isinstance(best_rec, dict) else None,
                     active_jobs=active if isinstance(active, list) else list(active or []),
                     artifact_jobs=artifacts if isinstance(artifacts, dict) else {},
                     plan=plan if isinstance(plan, dict) else None,
                     marker=marker if isinstance(marker, dict) else None,
                     record_metric=next((str(r["metric"]) for r in records
                                         if isinstance(r, dict) and isinstance(r.get("metric"), str)), ""))


def results_root_of(run: AutomlRun, explicit: str | Path | None = None) -> Path | None:
    """Where trial job folders live: --results-root, else the plan's Docker `/results` bind."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    steps = (run.plan or {}).get("steps") or [{}]
    params = (steps[0] or {}).get("params") or {}
    for mount in (params.get("platform_kwargs") or {}).get("mounts") or []:
        if isinstance(mount, dict) and str(mount.get("container_path", "")).rstrip("/") == "/results" \
                and mount.get("host_path"):
            return Path(mount["host_path"]).expanduser()
    return None


def _controller_pick(run: AutomlRun) -> int | None:
    number = (run.best_rec or {}).get("rec_number")
    return number if isinstance(number, int) else None


def status_record(path: Path, *, results_root: str | Path | None = None) -> dict:
    """What `tao-skills automl status` prints: trials, state, best so far."""
    run = load_run(path)
    state = run_state(run.trials, run.active_jobs, run.marker, pid_alive=_pid_alive)
    winner = pick_winner(run.trials, run.algorithm, run.direction)
    root = results_root_of(run, results_root)
    total = run.settings.get("automl_max_recommendations")
    trials = []
    for t in run.trials:
        artifacts = run.artifact_jobs.get(t.job_id or "")
        folder = (root / t.job_id) if (root and t.job_id) else None
        trials.append({"rec_id": t.rec_id, "job_id": t.job_id, "status": t.status, "result": t.result,
                       "budget": t.budget, "pruned": artifacts == "deleted",
                       "job_dir": str(folder) if folder and folder.is_dir() else None,
                       "failure_reason": t.failure_reason, "specs": t.specs})
    counts = {s: sum(t.status == s for t in run.trials) for s in sorted({t.status for t in run.trials})}
    return {"run_dir": str(run.run_dir.resolve()), "experiment_id": run.experiment_id, "state": state,
            "algorithm": run.algorithm, "metric": run.metric or None, "direction": run.direction,
            "n_trials": len(run.trials), "planned_trials": total, "counts": counts,
            "in_flight": [j for j in run.active_jobs], "results_root": str(root) if root else None,
            "best": None if winner is None else {"rec_id": winner.rec_id, "job_id": winner.job_id,
                                                 "result": winner.result, "budget": winner.budget},
            "controller_best_rec": _controller_pick(run), "trials": trials}


def checkpoint_record(path: Path, select: str, *, results_root: str | Path | None = None) -> dict:
    """`checkpoint resolve AUTOML_WORKSPACE --select ...`: only `best` is defined across trials."""
    from tao_skill_bank.oi.checkpoints import parse_selection

    selection = parse_selection(select)
    if selection.kind != "best":
        raise UserError(f"an AutoML workspace holds one job folder per trial: --select {selection} would be a "
                        f"guess across trials", file=str(path), field="--select",
                        fix="use --select best for the winning trial, or pass one trial's job folder "
                            "(`tao-skills automl status WORKSPACE` lists them)")
    return best_checkpoint_record(path, results_root=results_root)


def best_checkpoint_record(path: Path, *, results_root: str | Path | None = None) -> dict:
    """The winning trial's checkpoint: best_rec → job_id → <results_root>/<job_id>/ → its model_best_*
    (or, when the trial kept no best file, its newest checkpoint — what the SDK's `best` lookup does)."""
    from tao_skill_bank.oi.checkpoints import Selection, scan_checkpoint_files, select_checkpoint

    run = load_run(path)
    where = str(run.run_dir)
    state = run_state(run.trials, run.active_jobs, run.marker, pid_alive=_pid_alive)
    if state == "running":
        flying = len(run.active_jobs) or sum(t.status in ("pending", "running") for t in run.trials)
        raise UserError(f"the AutoML run is still going ({flying} job(s) in flight); the best trial can still change",
                        file=where, field="--select",
                        fix="wait for it to finish (`tao-skills automl status` shows state), then rerun")
    winner = pick_winner(run.trials, run.algorithm, run.direction)
    if winner is None:
        failed = [t.rec_id for t in run.trials if t.status in ("failure", "error")]
        raise UserError(f"no successful trial yet ({len(run.trials)} trial(s), failed: {failed or 'none'})",
                        file=where, field="--select", fix="check `tao-skills automl status` and the failed jobs' logs")
    controller_pick = _controller_pick(run)
    if controller_pick is not None and controller_pick != winner.rec_id:
        raise UserError(f"best_rec names trial {controller_pick} but the controller records rank trial "
                        f"{winner.rec_id} first (algorithm {run.algorithm or 'unknown'}, {run.direction})",
                        file=str(run.run_dir / STATE_DIR / "best_rec"), field="--select",
                        fix="the run may still be writing state; rerun when it has finished, or pass the trial's "
                            "job folder to `checkpoint resolve` yourself")
    if not winner.job_id:
        raise UserError(f"winning trial {winner.rec_id} has no job id", file=where, field="--select",
                        fix="inspect .automl/controller/*.json")
    root = results_root_of(run, results_root)
    if root is None:
        raise UserError(f"trial {winner.rec_id} (job {winner.job_id}) won, but where its job folder lives is unknown "
                        f"(no Docker /results mount in {PLAN_FILE})", file=where, field="--results-root",
                        fix="pass --results-root DIR (the folder holding one <job_id>/ folder per trial)",
                        exit_code=EXIT_ENVIRONMENT)
    job_dir = root / winner.job_id
    if not job_dir.is_dir():
        pruned = run.artifact_jobs.get(winner.job_id) == "deleted"
        why = "the runner pruned its artifacts (artifact_jobs.json: deleted)" if pruned else f"{job_dir} does not exist"
        raise UserError(f"winning trial {winner.rec_id} (job {winner.job_id}) has no files: {why}", file=str(job_dir),
                        field="--select", fix="nothing to hand on from this trial: retrain it (its specs are in "
                                              "`automl status --json`), or pass the right --results-root",
                        exit_code=EXIT_ENVIRONMENT)
    checkpoints, _ignored = scan_checkpoint_files(job_dir)
    bests = [c for c in checkpoints if c.kind == "best"]
    selection = Selection("best") if bests else Selection("latest")
    try:
        chosen = select_checkpoint(checkpoints, selection, results_dir=str(job_dir))
    except UserError as exc:
        raise UserError(f"winning trial {winner.rec_id} (job {winner.job_id}): {exc.message}", file=exc.file,
                        field=exc.field, fix=exc.fix, exit_code=exc.exit_code) from None
    name = chosen.path.rsplit("/", 1)[-1]
    how = ("its model_best_* file" if chosen.kind == "best"
           else "its newest checkpoint (the trial kept no model_best_* file)")
    rule = "largest budget first, then " if run.algorithm in MULTI_FIDELITY else ""
    return {"checkpoint": str((job_dir / chosen.file).resolve()), "select": "best", "kind": chosen.kind,
            "epoch": chosen.epoch, "step": chosen.step, "child": winner.job_id, "via_symlink": None,
            "decided_by": "automl best_rec", "n_found": len(checkpoints),
            "automl": {"run_dir": str(run.run_dir.resolve()), "rec_id": winner.rec_id, "job_id": winner.job_id,
                       "result": winner.result, "budget": winner.budget, "metric": run.metric or None,
                       "algorithm": run.algorithm, "state": state},
            "why": (f"{name}: trial {winner.rec_id} won ({rule}{'lowest' if run.direction == 'minimize' else 'highest'} "
                    f"{run.metric or 'result'} = {winner.result}; matches .automl/best_rec), {how}")}

"""`tao-skills gaps run`: the one command that produces a whole gap analysis results folder.

Order matters: every input is found and checked (CSV, train YAML, knobs, and that image paths
resolve) before the results folder is created, so a bad input leaves nothing behind. Then: a new
`EXP/rca_results/<YYYY-MM-DD_HHMMSS>/` (an existing name gets `_2`, `_3`, ... — never reused),
the spec, the engine, the score plot, and the sanity summary whose last line is
`results_dir: <abs path>`.
"""

from __future__ import annotations

import logging
import os
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from tao_skill_bank.errors import EXIT_ENVIRONMENT, UserError
from tao_skill_bank.gaps import lifecycle
from tao_skill_bank.gaps.contract import SCORE_PLOT, SPEC, THRESHOLD, holds_results

log = logging.getLogger(__name__)

TIMESTAMP_FORMAT = "%Y-%m-%d_%H%M%S"
PATH_SAMPLE_ROWS = 50
MAX_SUFFIX = 1000


@dataclass
class RunRequest:
    exp_dir: str
    dataset_root: str
    inference_dir: str | None = None
    train_config: str | None = None
    min_recall: float | None = None
    top_k: int | None = None
    threshold: float | None = None
    engine: str = "auto"
    out: str | None = None
    workspace: str | None = None
    dry_run: bool = False


# ---- finding the inputs -------------------------------------------------------------------------

def find_inference_dir(exp_dir: Path, explicit: str | None) -> Path:
    """--inference-dir, else EXP/inference/latest/, else the one EXP/inference/<name>/ with a CSV."""
    if explicit:
        folder = Path(explicit).expanduser()
        if folder.is_file() and folder.name == "inference.csv":
            folder = folder.parent  # forgive passing the CSV itself
        if not (folder / "inference.csv").is_file():
            raise UserError("no inference.csv in this folder", file=str(folder), field="--inference-dir",
                            fix="pass the folder that holds inference.csv, e.g. EXP/inference/latest")
        return folder.resolve()
    root = exp_dir / "inference"
    if (root / "latest" / "inference.csv").is_file():
        return (root / "latest").resolve()
    candidates = sorted(p.parent for p in root.glob("*/inference.csv")) if root.is_dir() else []
    if (root / "inference.csv").is_file():
        candidates.insert(0, root)
    if len(candidates) == 1:
        return candidates[0].resolve()
    if not candidates:
        raise UserError("no inference.csv under EXP/inference/latest/ or EXP/inference/<name>/",
                        file=str(exp_dir), field="--inference-dir",
                        fix="run VCN inference first, or pass --inference-dir DIR holding inference.csv")
    listed = ", ".join(str(c) for c in candidates)
    raise UserError(f"several inference runs: {listed}", file=str(root), field="--inference-dir",
                    fix="pick one with --inference-dir DIR")


def find_train_config(exp_dir: Path, explicit: str | None) -> Path:
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise UserError("train config not found", file=str(path), field="--train-config",
                            fix="pass the VCN train YAML used for this experiment", exit_code=EXIT_ENVIRONMENT)
        return path.resolve()
    for name in ("train.yaml", "train.yml"):
        if (exp_dir / name).is_file():
            return (exp_dir / name).resolve()
    candidates = sorted(str(p) for p in (*exp_dir.glob("*.yaml"), *exp_dir.glob("*.yml"), *exp_dir.glob("specs/*.yaml")))
    listed = f"candidates: {', '.join(candidates[:8])}" if candidates else "no YAML files in EXP"
    raise UserError(f"no EXP/train.yaml ({listed})", file=str(exp_dir), field="--train-config",
                    fix="pass --train-config FILE (the VCN train YAML with dataset.classify.input_map)")


# ---- image path preflight (pure, with an injectable `exists`) -----------------------------------

@dataclass
class PathCheck:
    sampled_rows: int
    resolved_rows: int
    missing_examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"sampled_rows": self.sampled_rows, "resolved_rows": self.resolved_rows,
                "missing_examples": self.missing_examples}


def sample_indices(n: int, limit: int = PATH_SAMPLE_ROWS) -> list[int]:
    """Evenly spread row indices (first and last included) so one bad folder cannot hide."""
    if n <= limit:
        return list(range(n))
    step = (n - 1) / (limit - 1)
    return [round(i * step) for i in range(limit)]


def sample_rows(rows: list[tuple[str, str]], limit: int = PATH_SAMPLE_ROWS) -> list[tuple[str, str]]:
    return [rows[i] for i in sample_indices(len(rows), limit)]


def image_path(root: Path, input_path: str, object_name: str, lighting: str, image_ext: str) -> Path:
    return root / input_path / f"{object_name}_{lighting}{image_ext}"


def check_image_paths(rows: list[tuple[str, str]], root: Path, lightings: list[str], image_ext: str,
                      exists: Callable[[Path], bool] = Path.is_file) -> PathCheck:
    """A row resolves when every lighting's image exists under root."""
    check = PathCheck(sampled_rows=len(rows), resolved_rows=0)
    for input_path, object_name in rows:
        missing = [image_path(root, input_path, object_name, l, image_ext) for l in lightings]
        missing = [p for p in missing if not exists(p)]
        if not missing:
            check.resolved_rows += 1
        elif len(check.missing_examples) < 3:
            check.missing_examples.append(str(missing[0]))
    return check


def diagnose_paths(rows: list[tuple[str, str]], root: Path, lightings: list[str], image_ext: str,
                   extra_roots: list[Path]) -> tuple[str, str]:
    """(what is wrong, the fix) when no sampled row resolves: another extension, another root,
    other lighting names, or images simply absent."""
    probe = rows[: min(5, len(rows))]
    found_ext: set[str] = set()
    found_lightings: set[str] = set()
    for input_path, object_name in probe:
        folder = root / input_path
        if not folder.is_dir():
            continue
        for candidate in folder.glob(f"{object_name}_*"):
            suffix = candidate.name[len(object_name) + 1:]
            lighting, dot, ext = suffix.rpartition(".")
            if lighting in lightings and dot:
                found_ext.add(f".{ext}")
            elif dot:
                found_lightings.add(lighting)
    if found_ext:
        ext = sorted(found_ext)[0]
        return (f"images exist with extension {ext}, but the train config says image_ext {image_ext!r}",
                f"set dataset.classify.image_ext: {ext} in a copy of the train YAML and pass --train-config COPY")
    if found_lightings:
        return (f"image names use lightings {sorted(found_lightings)[:6]}, not the input_map {lightings}",
                "pass --train-config with the input_map the images were captured with")
    for other in extra_roots:
        for ext in dict.fromkeys([image_ext, ".png", ".jpg", ".jpeg", ".bmp"]):
            if check_image_paths(probe, other, lightings, ext).resolved_rows:
                fix = f"pass --dataset-root {shlex.quote(str(other))}"
                if ext != image_ext:
                    fix += f" and set dataset.classify.image_ext: {ext} (copy of the train YAML via --train-config)"
                return (f"the images are under {other}, not {root}", fix)
    return (f"no image found for input_path/object_name under {root}",
            "pass --dataset-root as the folder that input_path is relative to "
            "(images are ROOT/<input_path>/<object_name>_<lighting><image_ext>)")


def candidate_roots(root: Path, exp_dir: Path) -> list[Path]:
    """Plausible dataset roots near the one given and near the experiment (bounded listing)."""
    seen: list[Path] = []

    def add(path: Path) -> None:
        if path.is_dir() and path not in seen and path != root:
            seen.append(path)

    for base in (root, exp_dir):
        for parent in list(base.parents)[:2]:
            add(parent)
        add(base)
        if base.is_dir():
            for child in sorted(base.iterdir())[:50]:
                add(child)
    return seen


def preflight_paths(table, root: Path, exp_dir: Path, lightings: list[str], image_ext: str) -> PathCheck:
    """`table`: inference.csv as a pyarrow Table; only the sampled rows are ever turned into text."""
    from tao_skill_bank.gaps.inputs import texts_at

    picked = sample_indices(table.num_rows)
    rows = list(zip(texts_at(table.column("input_path"), picked), texts_at(table.column("object_name"), picked)))
    check = check_image_paths(rows, root, lightings, image_ext)
    if check.resolved_rows == 0:
        problem, fix = diagnose_paths(rows, root, lightings, image_ext, candidate_roots(root, exp_dir))
        raise UserError(f"none of {check.sampled_rows} sampled rows resolve to images "
                        f"(e.g. {check.missing_examples[0]}): {problem}", field="--dataset-root", fix=fix)
    if check.resolved_rows < check.sampled_rows:
        log.warning("%d of %d sampled rows have missing images (e.g. %s); the analysis runs, the spot "
                    "check reports any missing image", check.sampled_rows - check.resolved_rows,
                    check.sampled_rows, check.missing_examples[0])
    return check


# ---- the results folder -------------------------------------------------------------------------

def timestamped_name(now: datetime) -> str:
    return now.strftime(TIMESTAMP_FORMAT)


def new_results_dir(parent: Path, now: datetime, create: bool = True) -> Path:
    """parent/<timestamp>, or <timestamp>_2, _3, ... if taken (atomic mkdir, never reused)."""
    base = timestamped_name(now)
    if create:
        parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, MAX_SUFFIX + 1):
        candidate = parent / (base if n == 1 else f"{base}_{n}")
        if not create:
            if not candidate.exists():
                return candidate
            continue
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise UserError(f"{MAX_SUFFIX} results folders named {base}* already exist", file=str(parent),
                    fix="clean up old runs or pass --out DIR")


def custom_results_dir(out: Path, create: bool = True) -> Path:
    out = Path(os.path.abspath(out.expanduser()))
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError("--out exists and is not empty; refusing to mix with a previous run", file=str(out),
                        field="--out", fix="pass a new or empty folder (the tool creates it)")
    if create:
        out.mkdir(parents=True, exist_ok=True)
    return out


# ---- the run ------------------------------------------------------------------------------------

# `gaps run` flag for each container key it sets, so errors name what the agent typed
KNOB_FLAGS = {"min_recall": "--min-recall", "top_k_per_label": "--top-k", "threshold": "--threshold"}


def build_config(req: RunRequest, inference_dir: Path, train_config: Path, dataset_root: Path, results_dir: Path):
    from tao_skill_bank.gaps.config import load_config

    if req.threshold is not None and not req.threshold >= 0:
        # the container reads any threshold < 0 as "sweep": a negative pin would silently sweep
        raise UserError(f"{req.threshold} is not >= 0; the container treats a negative threshold as "
                        "'sweep', so it cannot be pinned", file="command line", field="--threshold",
                        fix="pass a threshold >= 0 to pin it, or omit --threshold to sweep")
    overrides = [f"inference_results_dir={inference_dir}", f"train_config={train_config}",
                 f"kpi_media_path={dataset_root}", f"results_dir={results_dir}"]
    for key, value in (("min_recall", req.min_recall), ("top_k_per_label", req.top_k), ("threshold", req.threshold)):
        if value is not None:
            overrides.append(f"{key}={value}")
    try:
        return load_config(None, overrides)
    except UserError as err:
        flag = KNOB_FLAGS.get(err.field or "")
        if flag is None:
            raise
        raise UserError(err.message, file=err.file, field=flag,
                        fix=(err.fix or "").replace(f"{err.field}=", f"{flag} ")) from None


def run(req: RunRequest, bank: str | None = None, now: datetime | None = None) -> dict:
    from tao_skill_bank.gaps.artifacts import load_inputs
    from tao_skill_bank.gaps.backends import run_gap_analysis
    from tao_skill_bank.gaps.config import write_spec

    exp_dir = Path(req.exp_dir).expanduser().resolve()
    if not exp_dir.is_dir():
        raise UserError("experiment folder not found", file=str(exp_dir), field="--exp-dir",
                        fix="pass the VCN experiment folder (holds inference/ and train.yaml)", exit_code=EXIT_ENVIRONMENT)
    dataset_root = Path(req.dataset_root).expanduser().resolve()
    if not dataset_root.is_dir():
        raise UserError("dataset root not found", file=str(dataset_root), field="--dataset-root",
                        fix="pass the image folder that input_path in inference.csv is relative to", exit_code=EXIT_ENVIRONMENT)
    inference_dir = find_inference_dir(exp_dir, req.inference_dir)
    train_config = find_train_config(exp_dir, req.train_config)
    planned = custom_results_dir(Path(req.out), create=False) if req.out else \
        new_results_dir(exp_dir / "rca_results", now or datetime.now(), create=False)
    config = build_config(req, inference_dir, train_config, dataset_root, planned)  # validates the knobs
    inputs = load_inputs(config)  # inference.csv and the train YAML, read once for the whole run
    train = inputs.train
    path_check = preflight_paths(inputs.inference.table, dataset_root, exp_dir, list(train.lightings),
                                 train.image_ext)
    if req.dry_run:
        outcome = run_gap_analysis(config, engine=req.engine, workspace=_workspace(req), dry_run=True,
                                   bank=Path(bank) if bank else None, inputs=inputs)
        # `would_write`, never `results_dir`: nothing is created, and agents capture `results_dir:` lines.
        return {"dry_run": True, "would_write": str(planned), "engine": outcome.engine, "why": outcome.reason,
                "command": outcome.command, "spec": config.as_dict(), "path_check": path_check.as_dict(),
                "exit_code": outcome.exit_code}

    made = lifecycle.missing_folders(planned.parent)  # a refused run removes the parents it made, too
    results_dir = custom_results_dir(Path(req.out)) if req.out else \
        new_results_dir(exp_dir / "rca_results", now or datetime.now())
    held = lifecycle.claim(results_dir, allowed=(), field="--out" if req.out else "results_dir")
    config.results_dir = str(results_dir)
    try:
        write_spec(config, results_dir / SPEC)
        outcome = run_gap_analysis(config, engine=req.engine, workspace=_workspace(req), dry_run=False,
                                   bank=Path(bank) if bank else None, claim=False, complete=False, inputs=inputs)
        result = outcome.result
        plot = _draw_plot(inputs.inference, result.threshold if result is not None else None, results_dir)
    except BaseException:
        lifecycle.release(held)
        _drop_if_only_spec(results_dir)
        lifecycle.remove_empty(made)
        raise
    lifecycle.mark_complete(results_dir, outcome.engine)  # last: only now may anything read the folder
    facts = _summary(config, outcome, results_dir)
    facts.update({"engine": outcome.engine, "why": outcome.reason, "exit_code": outcome.exit_code,
                  "command": outcome.command,
                  "score_column": facts.get("score_column") or inputs.inference.score_column,
                  "path_check": path_check.as_dict(), "score_plot": plot, "spec": str(results_dir / SPEC)})
    if outcome.exit_code != 0 and not outcome.unreachable:
        facts["notes"].append(f"engine exited {outcome.exit_code}; see run_record.json and the log above, fix the "
                              f"cause and rerun `tao-skills gaps run` (a new folder is created)")
    return facts


def _workspace(req: RunRequest) -> Path | None:
    return Path(req.workspace).expanduser().resolve() if req.workspace else None


def _drop_if_only_spec(results_dir: Path) -> None:
    """A run that failed before the engine wrote anything leaves no empty folder behind."""
    try:
        if [p.name for p in results_dir.iterdir()] == [SPEC]:
            (results_dir / SPEC).unlink()
            results_dir.rmdir()
    except OSError:
        pass


def _summary(config, outcome, results_dir: Path) -> dict:
    """The sanity facts: from the analysis in memory for what this process wrote (the local
    engine), from the folder for what a container wrote."""
    from tao_skill_bank.gaps.contract import PARQUET
    from tao_skill_bank.gaps.results import ResultsFolder
    from tao_skill_bank.gaps.summary import load_summary, summarize

    result = outcome.result
    if outcome.engine == "local" and result is not None and result.analysis is not None:
        analysis = result.analysis
        folder = ResultsFolder(
            path=results_dir.resolve(), metrics=analysis.metrics,
            threshold_text=str(float(analysis.threshold)) if THRESHOLD in result.written else None,
            breakdown=analysis.breakdown, unreachable=analysis.unreachable_text, spec=config.as_dict(),
            run_record={"engine": outcome.engine}, has_parquet=PARQUET in result.written)
        return summarize(folder, analysis.gaps if folder.has_parquet else None)
    if holds_results(results_dir):
        return load_summary(results_dir)
    return {"results_dir": str(results_dir), "status": "failed", "notes": [], "next": []}


def _draw_plot(inference, threshold: float | None, results_dir: Path) -> str | None:
    """score_distribution.png from the full CSV (every row, NumPy); the threshold line when there is one."""
    from tao_skill_bank.gaps.artifacts import Labels
    from tao_skill_bank.gaps.inputs import float_values
    from tao_skill_bank.gaps.plots import draw_label_scores

    labels = Labels.of(inference.table.column("label"))
    try:
        # The title names the CSV's own score column (output_score for a TAO Deploy CSV).
        draw_label_scores(float_values(inference.table.column("siamese_score")), labels.ids, labels.names,
                          threshold, results_dir / SCORE_PLOT, title=f"{inference.score_column} by label")
    except OSError as exc:  # a plot must never cost the analysis
        log.warning("score plot not written: %s", exc)
        return None
    return str(results_dir / SCORE_PLOT)


def run_text(facts: dict) -> str:
    from tao_skill_bank.gaps.summary import summary_text

    if facts.get("dry_run"):
        command = facts.get("command")
        lines = [f"dry run: engine {facts['engine']} ({facts['why']})",
                 f"image paths: {facts['path_check']['resolved_rows']}/{facts['path_check']['sampled_rows']} sampled rows resolve",
                 "command: " + (shlex.join(command) if command else "(local engine, in-process)"),
                 "nothing written",
                 f"would_write: {facts['would_write']}"]
        return "\n".join(lines)
    head = [f"engine: {facts['engine']} ({facts['why']})"]
    pc = facts["path_check"]
    head.append(f"image paths: {pc['resolved_rows']}/{pc['sampled_rows']} sampled rows resolve")
    if facts.get("score_plot"):
        head.append(f"score plot: {facts['score_plot']}")
    body = summary_text({**facts, "engine": None})
    return "\n".join(head) + "\n" + body

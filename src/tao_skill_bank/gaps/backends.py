"""Gap-analysis engines: `local` (this package, no GPU) and `docker` (the data-services image).

Both leave the same documented artifact set: the docker engine runs the container exactly as the
contract says (-v W:W -w W, -e spec inside W, top_k_per_label always, --gpus all --ipc=host,
never --user, ownership restored) and then completes the artifacts from inference.csv with the
local code. Inputs are validated, and every path checked against the workspace, before Docker
starts. The engine used, and why, goes to run_record.json and metrics.json.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import json
import logging
import os
import platform
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path

from tao_skill_bank.errors import EXIT_ENVIRONMENT, UserError
from tao_skill_bank.gaps import ENGINES, lifecycle
from tao_skill_bank.gaps.config import GapConfig
from tao_skill_bank.gaps.contract import BRIDGE_DIR, RUN_RECORD, SPEC
from tao_skill_bank.gaps.inputs import SCORE_COLUMNS, inference_csv_path

log = logging.getLogger(__name__)

IMAGE_KEY = "images.tao_toolkit.data_services"
CHOWN_IMAGE_KEY = "images.helpers.chown"
SPEC_NAME = SPEC  # the name tests and callers use
EXIT_UNREACHABLE = 4  # documented: no threshold meets min_recall; unreachable_kpi.txt written


@dataclass
class EngineOutcome:
    engine: str
    reason: str
    exit_code: int
    results_dir: Path
    command: list[str] | None
    unreachable: bool
    result: object | None = None          # artifacts.GapResult when something ran
    image: str | None = None
    spec_path: Path | None = None
    dry_run: bool = False

    def as_dict(self) -> dict:
        data = {"engine": self.engine, "reason": self.reason, "exit_code": self.exit_code,
                "results_dir": str(self.results_dir), "command": self.command, "unreachable": self.unreachable,
                "image": self.image, "spec": str(self.spec_path) if self.spec_path else None,
                "dry_run": self.dry_run}
        if self.result is not None:
            data.update({k: v for k, v in self.result.summary().items() if k not in data})
        return data


def choose_engine(requested: str = "auto", image: str | None = None) -> tuple[str, str]:
    """(engine, why). auto = docker when daemon, GPU and image are all present, else local."""
    if requested == "local":
        return "local", "requested with --engine local"
    if requested == "docker":
        return "docker", "requested with --engine docker"
    if requested != "auto":
        raise UserError(f"unknown engine '{requested}'", field="--engine", fix=f"use one of: {', '.join(ENGINES)}")
    if image is None:
        return "local", "auto: no data-services image known (versions.yaml not found), so local"
    from tao_skill_bank.container import docker_engine_ready

    ready, detail = docker_engine_ready(image)
    if ready:
        return "docker", f"auto: {detail}"
    return "local", f"auto: {detail}; the local engine gives the container's answers without Docker or a GPU"


def run_gap_analysis(config: GapConfig, *, engine: str = "auto", workspace: Path | None = None,
                     dry_run: bool = False, bank: Path | None = None, claim: bool = True,
                     complete: bool = True, inputs=None) -> EngineOutcome:
    """Run the chosen engine into config.results_dir. `claim`: take the folder atomically first
    (`gaps run` has taken it already); `complete`: write gap_complete.json last (`gaps run` does
    that itself after the plot). `inputs` (artifacts.GapInputs): inference.csv and the train YAML
    when the caller has read them already (`gaps run`); otherwise they are read once, here."""
    image = _image(IMAGE_KEY, bank, required=engine == "docker")
    chosen, why = choose_engine(engine, image)
    deploy_column = None
    if chosen == "docker":
        deploy_column = deploy_score_column(config) if inputs is None else \
            (inputs.inference.score_column if inputs.inference.score_column != SCORE_COLUMNS[0] else None)
    if deploy_column:
        why += (f"; inference.csv is a TAO Deploy CSV ({deploy_column}), so the container reads a copy in "
                f"{BRIDGE_DIR}/ whose header says siamese_score (the container knows no other name)")
    log.info("engine: %s (%s)", chosen, why)
    results_dir = Path(config.results_dir)
    if dry_run:
        return (_run_local(config, why, results_dir, True, inputs) if chosen == "local" else
                _run_docker(config, why, results_dir, image, workspace, True, bank, deploy_column, inputs))
    with lifecycle.claimed(results_dir) if claim else contextlib.nullcontext():
        if chosen == "local":
            outcome = _run_local(config, why, results_dir, False, inputs)
        else:
            outcome = _run_docker(config, why, results_dir, image, workspace, False, bank, deploy_column, inputs)
        if complete:
            lifecycle.mark_complete(outcome.results_dir, outcome.engine)
    return outcome


def deploy_score_column(config: GapConfig) -> str | None:
    """The score column of a TAO Deploy inference.csv (no siamese_score), else None. A missing or
    bad CSV is None here: the engine's own validation reports it."""
    from tao_skill_bank.gaps.inputs import read_header

    csv_path = inference_csv_path(config.inference_results_dir)
    if not csv_path.is_file():
        return None
    header = read_header(csv_path)
    if SCORE_COLUMNS[0] in header:
        return None
    return next((c for c in SCORE_COLUMNS[1:] if c in header), None)


def bridge_deploy_csv(source: Path, target: Path, score_column: str) -> Path:
    """Copy a TAO Deploy inference.csv for the data-services container, renaming only the score
    column's header to siamese_score; every data byte after the header line is copied unchanged."""
    import io
    import shutil

    from tao_skill_bank.fsutil import atomic_write_with

    def write(tmp: Path) -> None:
        with open(source, "rb") as src, open(tmp, "wb") as dst:
            first = src.readline()
            ending = b"\r\n" if first.endswith(b"\r\n") else b"\n"
            header = next(csv.reader([first.decode("utf-8-sig").rstrip("\r\n")]))
            renamed = [SCORE_COLUMNS[0] if name == score_column else name for name in header]
            line = io.StringIO()
            csv.writer(line, lineterminator=ending.decode()).writerow(renamed)
            dst.write(line.getvalue().encode("utf-8"))
            shutil.copyfileobj(src, dst, 1 << 22)

    return atomic_write_with(target, write)


def _image(key: str, bank: Path | None, required: bool) -> str | None:
    from tao_skill_bank.versions import image_uri

    try:
        return image_uri(key, Path(bank) if bank else None)
    except UserError:
        if required:
            raise
        return None


def _run_local(config: GapConfig, why: str, results_dir: Path, dry_run: bool, inputs=None) -> EngineOutcome:
    from tao_skill_bank.gaps import artifacts

    if dry_run:  # validate everything, write nothing
        artifacts.refuse_existing_results(results_dir)
        analysis = artifacts.compute(config, "local", inputs=inputs)
        return EngineOutcome("local", why, 0, results_dir, None, analysis.unreachable, dry_run=True)
    recorder = RunRecorder(config)
    result = artifacts.analyze(config, "local", inputs=inputs)
    outcome = EngineOutcome("local", why, EXIT_UNREACHABLE if result.unreachable else 0, results_dir, None,
                            result.unreachable, result=result)
    recorder.write(outcome)
    return outcome


def default_workspace(config: GapConfig) -> Path:
    """The deepest folder holding every path the container reads or writes."""
    paths = [os.path.abspath(p) for p in _container_paths(config).values()]
    common = Path(os.path.commonpath(paths))
    return common.parent if common.is_file() else common


def _container_paths(config: GapConfig) -> dict[str, str]:
    paths = {"inference_results_dir": config.inference_results_dir, "train_config": config.train_config,
             "results_dir": config.results_dir}
    if config.kpi_media_path:
        paths["kpi_media_path"] = config.kpi_media_path
    return paths


def docker_config(config: GapConfig) -> GapConfig:
    """The config the container sees: absolute paths, identical inside thanks to -v W:W."""
    return replace(config, **{k: os.path.abspath(v) for k, v in _container_paths(config).items()})


def container_overrides(config: GapConfig) -> list[str]:
    """key=value overrides passed after -e; top_k_per_label always (older images need it)."""
    from tao_skill_bank.container import hydra_string

    paths = [("inference_results_dir", config.inference_results_dir), ("train_config", config.train_config),
             ("results_dir", config.results_dir)]
    if config.kpi_media_path:
        paths.append(("kpi_media_path", config.kpi_media_path))
    items = [(key, hydra_string(str(value))) for key, value in paths]  # `${` never reaches interpolation
    items += [("min_recall", repr(float(config.min_recall))), ("top_k_per_label", str(config.top_k_per_label))]
    if not config.swept:
        items.append(("threshold", repr(float(config.threshold))))
    return [f"{key}={value}" for key, value in items]


def docker_command(config: GapConfig, image: str, workspace: Path, spec_path: Path) -> list[str]:
    from tao_skill_bank.container import DockerRun

    args = ["gap_analysis", "vcn_aoi", "-e", str(spec_path), *container_overrides(config)]
    return DockerRun(image=image, entrypoint_args=args, workspace=workspace, gpus=True).argv()


def _run_docker(config: GapConfig, why: str, results_dir: Path, image: str | None, workspace: Path | None,
                dry_run: bool, bank: Path | None, deploy_column: str | None = None, inputs=None) -> EngineOutcome:
    from tao_skill_bank import container
    from tao_skill_bank.gaps import artifacts
    from tao_skill_bank.gaps.config import spec_text, write_spec

    if image is None:  # auto never picks docker without an image; guard for direct callers
        raise UserError("no data-services image", field=IMAGE_KEY, fix="pass --bank PATH", exit_code=EXIT_ENVIRONMENT)
    config = docker_config(config)
    results_dir = Path(config.results_dir)
    workspace = Path(os.path.abspath(workspace)) if workspace else default_workspace(config)
    container.require_mountable(workspace)
    if workspace == Path(workspace.anchor):
        raise UserError(f"the paths share no folder but {workspace}; refusing to mount the filesystem root",
                        field="workspace", fix="pass --workspace DIR holding every path, or move the files under one folder")
    spec_path = results_dir / SPEC_NAME
    container.require_inside_workspace([*((k, Path(v)) for k, v in _container_paths(config).items()),
                                        ("spec", spec_path)], workspace)
    artifacts.refuse_existing_results(results_dir)
    prepared = artifacts.compute(config, "docker", inputs=inputs)  # bad input fails here, before Docker starts
    # The spec keeps the real input; a Deploy CSV reaches the container as a renamed-header copy,
    # passed as an override (overrides win over the spec).
    container_view = config
    if deploy_column:
        container_view = replace(config, inference_results_dir=str(results_dir / BRIDGE_DIR))
    command = docker_command(container_view, image, workspace, spec_path)
    if dry_run:
        return EngineOutcome("docker", why, 0, results_dir, command, prepared.unreachable, image=image,
                             spec_path=spec_path, dry_run=True)
    container.require_preflight(container.preflight(image))
    results_dir.mkdir(parents=True, exist_ok=True)
    if spec_path.exists():
        if spec_path.read_text(encoding="utf-8") != spec_text(config):
            raise UserError("exists with other values than this run's", file=str(spec_path), field="spec",
                            fix="pass a new results_dir (or delete the stale spec yourself)")
    else:
        write_spec(config, spec_path)
    if deploy_column:
        bridge_deploy_csv(inference_csv_path(config.inference_results_dir),
                          inference_csv_path(container_view.inference_results_dir), deploy_column)
    recorder = RunRecorder(config, image=image, command=command)
    log.info("running: %s", shlex.join(command))
    code = container.run(command)
    _restore_ownership(workspace, results_dir, bank)
    if code != 0 and not prepared.unreachable:
        raise UserError(f"the data-services container exited with {code} (its log is above on stderr)",
                        field="docker", fix="read the container's last error lines; rerun with --engine local "
                        "to get the same answers without Docker", exit_code=EXIT_ENVIRONMENT)
    result = artifacts.complete_artifacts(config, "docker", prepared=prepared)
    log.info("completed after the container: %s", ", ".join(result.written) or "nothing missing")
    outcome = EngineOutcome("docker", why, EXIT_UNREACHABLE if result.unreachable else 0, results_dir, command,
                            result.unreachable, result=result, image=image, spec_path=spec_path)
    recorder.write(outcome)
    return outcome


def _restore_ownership(workspace: Path, results_dir: Path, bank: Path | None) -> None:
    from tao_skill_bank import container

    helper = _image(CHOWN_IMAGE_KEY, bank, required=False)
    if helper is None or not hasattr(os, "getuid"):
        return
    if container.restore_ownership(helper, workspace, results_dir) != 0:
        log.warning("could not give %s back to uid %d; run: sudo chown -R %d:%d %s", results_dir, os.getuid(),
                    os.getuid(), os.getgid(), results_dir)


def tool_versions() -> dict[str, str]:
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for dist in ("tao-skill-bank", "numpy", "pandas", "pyarrow"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return versions


@dataclass
class RunRecorder:
    """Times the run, then merges the record into results_dir/run_record.json. The input hash
    is the one taken while inference.csv was parsed (the same bytes, read once)."""

    config: GapConfig
    image: str | None = None
    command: list[str] | None = None
    started: str = field(default_factory=lambda: _now())

    def write(self, outcome: EngineOutcome) -> None:
        from tao_skill_bank import fsutil

        path = outcome.results_dir / RUN_RECORD
        record = {}
        if path.is_file():  # `gaps run` may have started the record; add to it
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                record = {}
        inference = outcome.result.analysis.inference
        record.update({
            "engine": outcome.engine, "engine_reason": outcome.reason, "image": self.image,
            "command": self.command, "command_line": shlex.join(self.command) if self.command else None,
            "tool_versions": tool_versions(), "config": self.config.as_dict(),
            "inference_csv": {"path": str(Path(inference.path).resolve()), "sha256": inference.sha256},
            "train_config": str(Path(self.config.train_config).resolve()),
            "started_at": self.started, "finished_at": _now(), "exit_code": outcome.exit_code,
            "unreachable": outcome.unreachable,
        })
        fsutil.atomic_write_json(path, record)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")

"""`tao-skills gaps complete OUT`: finish a results folder a data-services container wrote by hand.

`gaps run` and `gap_analysis vcn_aoi` mark their folders complete themselves. A container run by
hand (`docker run ... gap_analysis vcn_aoi ...`) leaves its own files and no marker, so every
consumer refuses the folder until this command has checked it: the container's parquet must be
readable with the contract's columns and hold the rows the same inputs give (a container killed
mid-write fails here), then the files the container does not write (metrics.json, threshold.txt
when pinned, unreachable_kpi.txt) are added with the same code as after `--engine docker`, the
run record is written, and gap_complete.json last.
"""

from __future__ import annotations

import os
from pathlib import Path

from tao_skill_bank.errors import UserError
from tao_skill_bank.gaps.contract import BREAKDOWN, PARQUET, PARQUET_COLUMNS, SPEC, completion_problem

ENGINE = "docker"
REASON = "container run by hand; artifacts completed by `tao-skills gaps complete`"


def complete_container_output(out: str | os.PathLike, spec: str | os.PathLike | None = None,
                              overrides: list[str] | None = None) -> dict:
    from tao_skill_bank.gaps import artifacts, lifecycle
    from tao_skill_bank.gaps.backends import EXIT_UNREACHABLE, EngineOutcome, RunRecorder
    from tao_skill_bank.gaps.config import load_config

    folder = Path(os.path.abspath(Path(out).expanduser()))
    if not folder.is_dir():
        raise UserError("results folder not found", file=str(folder), field="OUT",
                        fix="pass the results_dir the container wrote into")
    if completion_problem(folder) is None:
        raise UserError("already complete (gap_complete.json present)", file=str(folder), field="OUT",
                        fix=f"go on with `tao-skills gaps summary {folder}`")
    if spec is None and (folder / SPEC).is_file():
        spec = folder / SPEC
    config = load_config(spec, [*(overrides or []), f"results_dir={folder}"])
    with lifecycle.claimed(folder, allowed=None):
        analysis = artifacts.compute(config, ENGINE)
        if not analysis.unreachable:
            _check_container_parquet(folder, analysis.gaps.num_rows)
        recorder = RunRecorder(config)
        result = artifacts.complete_artifacts(config, ENGINE, prepared=analysis)  # one compute
        outcome = EngineOutcome(ENGINE, REASON, EXIT_UNREACHABLE if result.unreachable else 0, folder, None,
                                result.unreachable, result=result)
        recorder.write(outcome)
        lifecycle.mark_complete(folder, ENGINE)
    return {**outcome.as_dict(), "complete": True}


def _check_container_parquet(folder: Path, expected_rows: int) -> None:
    import pyarrow.parquet as pq

    path = folder / PARQUET
    fix = f"the container did not finish: delete {folder} and rerun the gap analysis"
    if not path.is_file() or not (folder / BREAKDOWN).is_file():
        missing = [n for n in (PARQUET, BREAKDOWN) if not (folder / n).is_file()]
        raise UserError(f"the container's {', '.join(missing)} missing", file=str(folder), field="OUT", fix=fix)
    try:
        meta = pq.read_metadata(path)
        columns = meta.schema.to_arrow_schema().names
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise UserError(f"unreadable parquet ({type(exc).__name__})", file=str(path), field=PARQUET, fix=fix)
    if columns != list(PARQUET_COLUMNS):
        raise UserError(f"columns {columns}, expected {list(PARQUET_COLUMNS)}", file=str(path), field=PARQUET,
                        fix=fix)
    if meta.num_rows != expected_rows:
        raise UserError(f"{meta.num_rows} rows, but these inputs give {expected_rows}", file=str(path),
                        field=PARQUET, fix=f"{fix} (or pass the spec and keys the container ran with)")

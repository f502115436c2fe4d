"""The one reader of a gap-analysis results folder (summary, spotcheck and report share it).

`read_results` loads whatever artifacts exist — a bare container output has no metrics.json,
and a pinned threshold in the container writes no threshold.txt — and refuses a folder that
holds no results. File names and columns come from `gaps.contract`.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tao_skill_bank.errors import EXIT_ENVIRONMENT, UserError
from tao_skill_bank.gaps.contract import (BREAKDOWN, CLAIM, ENGINE_ARTIFACTS, METRICS, PARQUET, PARQUET_COLUMNS,
                                          RUN_RECORD, SPEC, THRESHOLD, UNREACHABLE, completion_problem,
                                          holds_results, holds_run_files, incomplete_fix)


@dataclass
class ResultsFolder:
    """What a gap analysis results folder holds; None for an artifact that is absent."""

    path: Path
    metrics: dict | None
    threshold_text: str | None
    breakdown: str | None
    unreachable: str | None
    spec: dict | None
    run_record: dict | None
    has_parquet: bool

    @property
    def is_unreachable(self) -> bool:
        return self.unreachable is not None

    @property
    def threshold(self) -> float | None:
        if self.threshold_text is not None:
            return float(self.threshold_text)
        if self.metrics and self.metrics.get("threshold") is not None:
            return float(self.metrics["threshold"])
        return None

    def lightings(self) -> tuple[list[str], str] | None:
        """(input_map order, image_ext) from metrics.json, else from the train config the spec names."""
        if self.metrics and self.metrics.get("lightings"):
            return list(self.metrics["lightings"]), str(self.metrics.get("image_ext", ""))
        train = (self.spec or {}).get("train_config")
        if train and Path(train).is_file():
            from tao_skill_bank.gaps.inputs import read_train_config

            info = read_train_config(train)
            return list(info.lightings), info.image_ext
        return None


MAX_TEXT_BYTES = 16 * 1024 * 1024  # threshold.txt, the breakdown, the unreachable note: a few kB


def read_text(path: Path) -> str | None:
    from tao_skill_bank.safe_input import read_text as bounded_read

    return bounded_read(path, max_bytes=MAX_TEXT_BYTES, what=path.name) if path.is_file() else None


def read_results(out: str | Path) -> ResultsFolder:
    path = Path(out).expanduser().resolve()
    if not path.is_dir():
        raise UserError("results folder not found", file=str(path),
                        fix="pass the folder printed as `results_dir:` by `tao-skills gaps run`",
                        exit_code=EXIT_ENVIRONMENT)
    problem = completion_problem(path)
    if problem and (holds_run_files(path) or (path / CLAIM).exists()):
        raise UserError(f"incomplete results folder: {problem}", file=str(path),
                        fix=incomplete_fix(path))
    if problem or not holds_results(path):
        raise UserError(f"not a gap analysis results folder (none of {', '.join(ENGINE_ARTIFACTS)})",
                        file=str(path), fix="pass <exp>/rca_results/<timestamp>/ of a finished run, "
                                            "or run `tao-skills gaps run` first")
    metrics = load_metrics(path) if (path / METRICS).is_file() else None
    threshold_text = read_text(path / THRESHOLD)
    if threshold_text is not None:
        threshold_text = threshold_text.strip()
        try:
            float(threshold_text)
        except ValueError:
            raise UserError(f"not a number: {threshold_text[:40]!r}", file=str(path / THRESHOLD),
                            fix="rerun the gap analysis; threshold.txt holds one float")
    return ResultsFolder(
        path=path,
        metrics=metrics,
        threshold_text=threshold_text,
        breakdown=read_text(path / BREAKDOWN),
        unreachable=read_text(path / UNREACHABLE),
        spec=read_yaml(path / SPEC),
        run_record=read_json(path / RUN_RECORD),
        has_parquet=(path / PARQUET).is_file(),
    )


def read_yaml(path: Path) -> dict | None:
    if not path.is_file():
        return None
    from tao_skill_bank.safe_input import load_yaml_file

    try:
        data = load_yaml_file(path, what="spec")
    except UserError as err:
        raise UserError(err.message, file=str(path), fix="restore the spec written by `tao-skills gaps run`") from None
    return data if isinstance(data, dict) else None


def read_json(path: Path) -> Any:
    if not path.is_file():
        return None
    from tao_skill_bank.safe_input import load_json_file

    try:
        return load_json_file(path, what=path.name)
    except UserError as err:
        raise UserError(err.message, file=str(path),
                        fix="repair the JSON (or delete the file and regenerate it)") from None


def load_parquet(folder: ResultsFolder):
    """kpi_gaps.parquet as a DataFrame with exactly the contract's columns."""
    import pandas as pd

    path = folder.path / PARQUET
    if not path.is_file():
        fix = ("the KPI is unreachable, so there is no parquet: write the abridged report "
               f"(tao-skills gaps report {shlex.quote(str(folder.path))})") if folder.is_unreachable \
            else "rerun `tao-skills gaps run`; the engine writes kpi_gaps.parquet"
        raise UserError("kpi_gaps.parquet is missing", file=str(path), fix=fix)
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise UserError(f"unreadable parquet ({type(exc).__name__})", file=str(path),
                        fix="rerun `tao-skills gaps run` into a new folder")
    missing = [c for c in PARQUET_COLUMNS if c not in df.columns]
    if missing:
        raise UserError(f"missing columns {missing} (has {list(df.columns)})", file=str(path),
                        field=missing[0], fix="pass a kpi_gaps.parquet written by the gap analysis")
    return df


def load_metrics(results_dir: str | Path) -> dict:
    path = Path(results_dir) / METRICS
    if not path.is_file():
        hint = "the KPI was unreachable: read unreachable_kpi.txt" if (Path(results_dir) / UNREACHABLE).is_file() \
            else "run `tao-skills gap_analysis vcn_aoi ...` into this folder first"
        raise UserError("metrics.json not found", file=str(path), field=METRICS, fix=hint, exit_code=EXIT_ENVIRONMENT)
    from tao_skill_bank.safe_input import load_json_file

    try:
        return load_json_file(path, what=METRICS)
    except UserError as err:
        raise UserError(err.message, file=str(path), field=METRICS,
                        fix="rerun the gap analysis into a new results_dir") from None

"""The gap-analysis results folder contract, in one place (standard library only).

Every producer (engine, artifact completion, `gaps run`, spotcheck, report, plots, the packaging
hook) and every consumer (summary, spotcheck, report, the report check, the run check) names the
files, columns, sections and verdicts through this module, so the contract documented in
docs/ARCHITECTURE.md is spelled once. The RCA hooks import it, so it must stay free of
pandas/pyarrow/yaml and cheap to import.
"""

from __future__ import annotations

from pathlib import Path

# ---- file names inside <EXP>/rca_results/<YYYY-MM-DD_HHMMSS>/ -------------------------------
SPEC = "vcn_aoi_spec.yaml"                      # the container-key spec used (no ???)
PARQUET = "kpi_gaps.parquet"                    # top-K weakest samples x lightings
THRESHOLD = "threshold.txt"                     # str(float) of the decision threshold
BREAKDOWN = "weak_samples_breakdown.txt"        # the container's text format
METRICS = "metrics.json"                        # schemas/gap_metrics.schema.json
UNREACHABLE = "unreachable_kpi.txt"             # only when no threshold meets min_recall
RUN_RECORD = "run_record.json"                  # engine, why, command, versions, input hashes
SCORE_PLOT = "score_distribution.png"           # per-label histograms with the threshold
IMAGES_DIR = "rca_images"                       # spot-check thumbnails
CONTACT_SHEET = "spotcheck_contact_sheet.png"   # the 10 thumbnails with captions
SPOTCHECK = "spotcheck.json"                    # 10 samples with the agent's verdicts
DRAFT_REPORT = "RCA_Report.draft.md"            # rendered by `gaps report`
REPORT = "RCA_Report.md"                        # the agent's final report (triggers the hook)
PACKAGE_DIR = "rca_config"                      # written by the packaging hook
BRIDGE_DIR = "container_input"                  # a TAO Deploy CSV, header renamed, for the container
COMPLETE = "gap_complete.json"                  # written last: the run finished (see below)
CLAIM = ".gap_claim"                            # held by the run writing the folder

# What the engine (local or container + artifact completion) writes: a folder holding none of
# these is not a gap-analysis results folder.
ENGINE_ARTIFACTS = (PARQUET, THRESHOLD, BREAKDOWN, METRICS, UNREACHABLE)


def present_artifacts(folder: Path) -> list[str]:
    """The engine artifacts `folder` holds, in contract order."""
    try:
        return [name for name in ENGINE_ARTIFACTS if (folder / name).exists()]
    except OSError:
        return []


def holds_results(folder: Path) -> bool:
    """Whether `folder` holds gap-analysis results (summary, spotcheck, report, `gaps run`)."""
    return bool(present_artifacts(folder))


def holds_run_files(folder: Path) -> bool:
    """Whether `folder` belongs to a gap-analysis run, results or not (the packaging hook also
    packages a run that stopped after writing its spec or run record)."""
    try:
        return holds_results(folder) or any((folder / name).is_file() for name in (SPEC, RUN_RECORD))
    except OSError:
        return False


# A finished run writes COMPLETE last, listing the files (and sizes) it wrote; every consumer
# (summary, spotcheck, report, package, check, the hooks) refuses a folder without it, so a run
# that failed, was killed or hit a full disk never looks finished.
COMPLETE_SCHEMA_VERSION = 1
COMPLETED_FILES = (*ENGINE_ARTIFACTS, SPEC, RUN_RECORD, SCORE_PLOT)
MAX_COMPLETE_BYTES = 64 * 1024


def completion_record(folder: Path, engine: str, completed_at: str) -> dict:
    """The content of COMPLETE for `folder` as it is now (pure but for reading file sizes)."""
    files = {}
    for name in COMPLETED_FILES:
        path = folder / name
        if path.is_file():
            files[name] = path.stat().st_size
    return {"schema_version": COMPLETE_SCHEMA_VERSION, "engine": engine, "completed_at": completed_at,
            "files": files}


def completion_problem(folder: Path) -> str | None:
    """None when `folder` holds a finished run, else why not (one clause, names no fix)."""
    import json

    import os
    import stat

    missing = (f"no {COMPLETE}: the run that wrote it failed, was killed or ran out of disk "
               "before it finished (or a container was run by hand)")
    try:  # judged on the opened descriptor: a marker swapped for a FIFO cannot hang the reader
        fd = os.open(folder / COMPLETE, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
                     | getattr(os, "O_NOFOLLOW", 0))
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return missing
    except OSError:
        return f"{COMPLETE} is unreadable"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return missing
        if info.st_size > MAX_COMPLETE_BYTES:
            return f"{COMPLETE} is larger than {MAX_COMPLETE_BYTES} bytes"
        record = json.loads(os.read(fd, MAX_COMPLETE_BYTES + 1).decode("utf-8"))
    except (OSError, ValueError):
        return f"{COMPLETE} is unreadable"
    finally:
        os.close(fd)
    files = record.get("files") if isinstance(record, dict) else None
    if not isinstance(files, dict) or not any(name in files for name in ENGINE_ARTIFACTS):
        return f"{COMPLETE} lists no result file"
    return None


def incomplete_fix(folder: Path) -> str:
    """What to do about a folder without COMPLETE (one wording for every consumer)."""
    return (f"delete {folder} and rerun `tao-skills gaps run` (it makes a new folder); for a container "
            f"run by hand, finish it with `tao-skills gaps complete {folder}`")


# What a report needs in the folder, for the full and the abridged (KPI unreachable) variant.
FULL_REPORT_ARTIFACTS = (PARQUET, THRESHOLD, METRICS, BREAKDOWN, SPEC, IMAGES_DIR + "/")
ABRIDGED_REPORT_ARTIFACTS = (UNREACHABLE, SPEC)

# ---- kpi_gaps.parquet and metrics.json -------------------------------------------------------
PARQUET_COLUMNS = ("filepath", "label", "siamese_score", "weakness")
METRICS_SCHEMA_VERSION = 1

# ---- labels: the PASS rule -------------------------------------------------------------------
PASS = "PASS"
NO_PASS = "NO_PASS"


def normalise_label(raw: object) -> str:
    """The reference's label key: PASS is `str(label).strip().upper() == 'PASS'`, all else NO_PASS."""
    return str(raw).strip().upper()


def is_pass(raw: object) -> bool:
    return normalise_label(raw) == PASS


# ---- spot check and report -------------------------------------------------------------------
VERDICTS = ("mislabeled", "edge case", "data quality", "systematic")

SECTIONS = ("## 1. Verdict", "## 2. Threshold Selection", "## 3. Weakness Distribution",
            "## 4. Top-K Weakest Samples", "## 5. Visual Spot Check", "## 6. Per-Label Breakdown",
            "## 7. Recommended Actions")
ABRIDGED_SECTIONS = ("## 1. Verdict", "## 2. Threshold Selection", "## 3. KPI Unreachable",
                     "## 4. Recommended Actions")

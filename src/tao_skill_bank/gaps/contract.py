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

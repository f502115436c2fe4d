"""Read what a gap-analysis results folder says about its own run (run_record.json, the spec,
threshold.txt). Writers are other modules; this side reads tolerantly: a field may be missing,
nested, or named a little differently, and every path it names is untrusted."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tao_skill_bank.errors import UserError
from tao_skill_bank.fsutil import Refused, read_untrusted
from tao_skill_bank.gaps import contract
from tao_skill_bank.rca_hooks import miniyaml
from tao_skill_bank.safe_input import load_json_text

SPEC_NAME = contract.SPEC
RUN_RECORD_NAME = contract.RUN_RECORD
CSV_KEYS = ("input_csv", "inference_csv", "input_csv_path", "inference_csv_path", "csv_path")
CSV_SHA_KEYS = ("input_csv_sha256", "inference_csv_sha256", "csv_sha256")
TRAIN_CONFIG_KEYS = ("train_config", "train_config_path")
MAX_JSON_BYTES = 5 * 1024 * 1024


@dataclass
class RunInputs:
    csv_path: Path | None = None
    csv_sha256_recorded: str | None = None
    train_config: Path | None = None


def read_small_text(path: Path, limit: int = MAX_JSON_BYTES) -> str | None:
    """Text of a regular file no larger than `limit`, else None (missing, special, unreadable);
    a FIFO or device is never opened (`fsutil.read_untrusted`)."""
    try:
        return read_untrusted(path, cap=limit, follow=True, max_links=None).decode("utf-8", errors="replace")
    except Refused:
        return None


def load_run_record(results_dir: Path) -> dict:
    text = read_small_text(results_dir / RUN_RECORD_NAME)
    try:
        data = load_json_text(text, source=RUN_RECORD_NAME) if text else {}
    except UserError:  # malformed, too deep, huge ints: read as no record
        return {}
    return data if isinstance(data, dict) else {}


def load_spec(results_dir: Path) -> dict:
    text = read_small_text(results_dir / SPEC_NAME)
    return miniyaml.read_mapping(text) if text else {}


def find_value(data, keys: tuple[str, ...], depth: int = 0):
    """First value under any of `keys`, searching nested dicts breadth-first."""
    if not isinstance(data, dict) or depth > 4:
        return None
    for key in keys:
        if key in data and data[key] not in (None, ""):
            return data[key]
    for value in data.values():
        found = find_value(value, keys, depth + 1)
        if found is not None:
            return found
    return None


def _as_path(value, base: Path) -> Path | None:
    if isinstance(value, dict):
        value = value.get("path")
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        return None
    path = Path(os.path.expanduser(value.strip()))
    return path if path.is_absolute() else base / path


def run_inputs(results_dir: Path, base: Path | None = None) -> RunInputs:
    """Input CSV (+ recorded sha256) and train config, from run_record.json, else the spec."""
    base = base or Path.cwd()
    record = load_run_record(results_dir)
    spec = load_spec(results_dir)
    inputs = RunInputs()
    csv_value = find_value(record, CSV_KEYS)
    inputs.csv_path = _as_path(csv_value, base)
    sha = find_value(record, CSV_SHA_KEYS)
    if sha is None and isinstance(csv_value, dict):
        sha = csv_value.get("sha256")
    inputs.csv_sha256_recorded = sha if isinstance(sha, str) else None
    if inputs.csv_path is None:
        inference_dir = _as_path(find_value(record, ("inference_results_dir",)) or spec.get("inference_results_dir"), base)
        inputs.csv_path = inference_dir / "inference.csv" if inference_dir else None
    inputs.train_config = _as_path(find_value(record, TRAIN_CONFIG_KEYS) or spec.get("train_config"), base)
    return inputs


def read_threshold(results_dir: Path) -> float | None:
    text = read_small_text(results_dir / contract.THRESHOLD, limit=1024)
    try:
        return float(text.strip()) if text else None
    except ValueError:
        return None

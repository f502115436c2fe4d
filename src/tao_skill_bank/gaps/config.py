"""Gap-analysis inputs: the container's config keys, the VCN train YAML and inference.csv.

`GapConfig` mirrors the data-services `gap_analysis vcn_aoi` keys and defaults exactly, so the
same spec + `key=value` line works with the local engine and with the container. Every check
here raises a one-line `UserError` naming the file, the field and the fix.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import logging
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tao_skill_bank.errors import UserError

log = logging.getLogger(__name__)

MISSING = "???"
INFERENCE_CSV = "inference.csv"
SCORE_COLUMNS = ("siamese_score", "output_score")  # VCN train-image inference, TAO Deploy (TensorRT)
ID_COLUMNS = ("input_path", "object_name", "label")
REQUIRED_KEYS = ("inference_results_dir", "train_config", "results_dir")
# Where to look in the VCN train YAML.
INPUT_MAP_FIELD = "dataset.classify.input_map"
IMAGE_EXT_FIELD = "dataset.classify.image_ext"
_SHOWN_ROWS = 5


@dataclass
class GapConfig:
    """Exactly the container's keys and defaults (`threshold < 0` means sweep)."""

    inference_results_dir: str
    train_config: str
    results_dir: str
    kpi_media_path: str = ""
    threshold: float = -1.0
    min_recall: float = 1.0
    top_k_per_label: int = 50

    @property
    def swept(self) -> bool:
        return self.threshold < 0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TrainInfo:
    lightings: list[str]   # input_map order (YAML key order for a dict)
    image_ext: str


_FIELDS = {f.name: f for f in dataclasses.fields(GapConfig)}
_KEY_ORDER = ("inference_results_dir", "train_config", "kpi_media_path", "threshold", "min_recall",
              "top_k_per_label", "results_dir")  # the container's spec order


def load_config(spec_path: str | os.PathLike | None, overrides: list[str]) -> GapConfig:
    """Spec YAML (optional) merged with `key=value` overrides (overrides win), validated."""
    values: dict[str, tuple[Any, str]] = {}  # key -> (raw value, where it came from)
    if spec_path is not None:
        for key, value in _read_spec(Path(spec_path)).items():
            values[key] = (value, str(spec_path))
    for item in overrides:
        key, value = _split_override(item)
        values[key] = (value, "command line")
    for key, (_, source) in values.items():
        if key not in _FIELDS:
            nearest = difflib.get_close_matches(key, list(_FIELDS), n=1)
            hint = f"did you mean '{nearest[0]}'? " if nearest else ""
            raise UserError("unknown key (the container would refuse it too)", file=source, field=key,
                            fix=f"{hint}valid keys: {', '.join(_KEY_ORDER)}")
    kwargs = {key: _coerce(key, raw, source) for key, (raw, source) in values.items()}
    for key in REQUIRED_KEYS:
        if key not in kwargs:
            raise UserError("required key missing", file=str(spec_path) if spec_path else "command line",
                            field=key, fix=f"add {key}=<path> to the command line or the spec")
    config = GapConfig(**kwargs)
    _check_ranges(config, {key: source for key, (_, source) in values.items()})
    return config


def _load_yaml(path: Path, field: str, what: str, fix_missing: str) -> Any:
    import yaml

    if not path.is_file():
        raise UserError(f"{what} not found", file=str(path), field=field, fix=fix_missing)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UserError(f"not valid YAML ({str(exc).splitlines()[0]})", file=str(path), field=field,
                        fix="repair the YAML syntax")


def _read_spec(path: Path) -> dict[str, Any]:
    data = _load_yaml(path, "-e", "spec file", "pass the path of an existing vcn_aoi spec YAML")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError("spec must be a mapping of key: value", file=str(path),
                        fix=f"use the keys {', '.join(_KEY_ORDER)}")
    return {str(k): v for k, v in data.items()}


def _split_override(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    key = key.strip().lstrip("+")  # Hydra's +key= / ++key= mean the same here
    if not sep or not key:
        raise UserError(f"'{item}' is not key=value", file="command line", field=item,
                        fix="write overrides as key=value, e.g. min_recall=0.99")
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return key, value


def _coerce(key: str, raw: Any, source: str) -> Any:
    kind = _FIELDS[key].type
    if isinstance(raw, str) and raw.strip() == MISSING:
        raise UserError("value is the unresolved placeholder ???", file=source, field=key,
                        fix=f"give {key} a real value")
    if kind == "str":
        if raw is None or isinstance(raw, (dict, list, bool)):
            raise UserError(f"expected a path string, got {raw!r}", file=source, field=key,
                            fix=f"write {key}=<path>")
        return str(raw)
    if kind == "float":
        number = _number(raw)
        if number is None or not math.isfinite(number):
            raise UserError(f"expected a finite number, got {raw!r}", file=source, field=key,
                            fix=f"write {key}=<number>, e.g. {key}={_FIELDS[key].default}")
        return number
    # int: a YAML integer or digits; 2.5, 50.0 and true are refused as the container refuses them
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"\s*[+-]?\d+\s*", raw):
        return int(raw)
    raise UserError(f"expected an integer, got {raw!r}", file=source, field=key,
                    fix=f"write {key}=<integer>, e.g. {key}=50")


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, (int, float)):
        return float(raw)
    try:
        return float(str(raw).strip())
    except ValueError:
        return None


def _check_ranges(config: GapConfig, sources: dict[str, str]) -> None:
    if not 0.0 <= config.min_recall <= 1.0:
        raise UserError(f"min_recall={config.min_recall} is outside [0, 1]",
                        file=sources.get("min_recall"), field="min_recall",
                        fix="use a recall between 0 and 1, e.g. min_recall=1.0 (no missed defects)")
    if config.top_k_per_label < 1:
        raise UserError(f"top_k_per_label={config.top_k_per_label} must be at least 1",
                        file=sources.get("top_k_per_label"), field="top_k_per_label",
                        fix="use a positive per-label budget, e.g. top_k_per_label=50")
    for key in REQUIRED_KEYS:
        if not getattr(config, key).strip():
            raise UserError("empty path", file=sources.get(key), field=key, fix=f"give {key} a path")


def spec_text(config: GapConfig) -> str:
    """The `-e` spec: every key filled in, container key order, no ??? sentinel."""
    import yaml

    ordered = {key: getattr(config, key) for key in _KEY_ORDER}
    return yaml.safe_dump(ordered, sort_keys=False, default_flow_style=False)


def write_spec(config: GapConfig, path: str | os.PathLike) -> Path:
    from tao_skill_bank.fsutil import atomic_write_text

    return atomic_write_text(path, spec_text(config))


def read_train_config(path: str | os.PathLike) -> TrainInfo:
    """Lightings (dict keys in YAML order, or list items) and image extension of a VCN train YAML."""
    path = Path(path)
    data = _load_yaml(path, "train_config", "train config",
                      "pass train_config=<the VCN train YAML used for this experiment>")
    dataset = data.get("dataset") if isinstance(data, dict) else None
    classify = dataset.get("classify") if isinstance(dataset, dict) else None
    classify = classify if isinstance(classify, dict) else {}
    input_map = classify.get("input_map")
    if isinstance(input_map, dict):
        lightings = [str(k) for k in input_map]
    elif isinstance(input_map, list):
        lightings = [str(v) for v in input_map]
    else:
        lightings = []
    if not lightings:
        raise UserError("missing or empty (needs the lighting names)", file=str(path), field=INPUT_MAP_FIELD,
                        fix="add e.g. `input_map: {LowAngleLight: 0, SolderLight: 1}` under dataset.classify")
    image_ext = classify.get("image_ext")
    if not isinstance(image_ext, str) or not image_ext:
        raise UserError("missing (needs the image file extension)", file=str(path), field=IMAGE_EXT_FIELD,
                        fix="add e.g. `image_ext: .jpg` under dataset.classify")
    if not image_ext.startswith("."):
        log.warning("%s: %s=%r has no leading dot; file names are built as <object>_<lighting>%s exactly "
                    "as the container does", path, IMAGE_EXT_FIELD, image_ext, image_ext)
    return TrainInfo(lightings=lightings, image_ext=image_ext)


def inference_csv_path(results_dir: str | os.PathLike) -> Path:
    return Path(results_dir) / INFERENCE_CSV


def read_header(csv_path: Path) -> list[str]:
    with open(csv_path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        return next(csv.reader(handle), [])


def choose_score_column(header: list[str], csv_path: Path) -> str:
    missing = [c for c in ID_COLUMNS if c not in header]
    score = next((c for c in SCORE_COLUMNS if c in header), None)
    if score is None:
        missing.append("siamese_score (or output_score)")
    if missing:
        raise UserError(f"missing columns: {', '.join(missing)} (found: {', '.join(header) or 'none'})",
                        file=str(csv_path), field=", ".join(missing),
                        fix="point inference_results_dir at the folder of a VCN classify inference.csv")
    return score


def read_inference_csv(results_dir: str | os.PathLike):
    """inference.csv -> (DataFrame, score_column).

    The frame has columns input_path, object_name, label (text, read as written: an id like
    `0007` stays `0007`) and siamese_score (float64) — a Deploy `output_score` column is renamed.
    Scores must be finite numbers; labels, input paths and object names must not be missing.
    """
    return _frame(read_inference_table(results_dir))


@dataclass
class InferenceTable:
    """Arrow-backed columns of inference.csv, the form the engine works on."""

    path: Path
    score_column: str
    table: Any  # pyarrow.Table: input_path, object_name, label (dictionary), siamese_score

    def __len__(self) -> int:
        return self.table.num_rows


def read_inference_table(results_dir: str | os.PathLike) -> InferenceTable:
    import numpy as np
    import pyarrow as pa
    from pyarrow import csv as pacsv

    folder = Path(results_dir)
    csv_path = inference_csv_path(folder)
    if not folder.is_dir():
        raise UserError("folder not found", file=str(folder), field="inference_results_dir",
                        fix="pass the folder that holds inference.csv (not the CSV itself)")
    if not csv_path.is_file():
        raise UserError("inference.csv not found in this folder", file=str(csv_path),
                        field="inference_results_dir",
                        fix="pass the inference output folder, e.g. <exp>/inference/latest/")
    header = read_header(csv_path)
    if not header:
        raise UserError("empty CSV (no header, no rows)", file=str(csv_path), field="inference.csv",
                        fix="rerun VCN inference; the file must hold a header and one row per sample")
    score_column = choose_score_column(header, csv_path)
    if score_column != "siamese_score":
        log.info("%s: using '%s' as the score column (TAO Deploy / TensorRT CSV); results name it "
                 "siamese_score as the container does", csv_path, score_column)
    columns = [*ID_COLUMNS, score_column]
    text_type = pa.string()
    convert = pacsv.ConvertOptions(
        include_columns=columns,
        column_types={"input_path": pa.dictionary(pa.int32(), text_type), "object_name": text_type,
                      "label": pa.dictionary(pa.int32(), text_type), score_column: pa.float64()},
        strings_can_be_null=False)
    try:
        table = pacsv.read_csv(csv_path, read_options=pacsv.ReadOptions(block_size=1 << 24),
                               convert_options=convert)
    except pa.ArrowInvalid as exc:
        if "conversion error to double" in str(exc) or "to double" in str(exc):
            _raise_bad_scores_slow(csv_path, score_column)
        raise UserError(f"cannot parse CSV ({str(exc).splitlines()[0][:200]})", file=str(csv_path),
                        field="inference.csv", fix="repair the CSV (one header, same column count per row)")
    table = table.rename_columns([c if c != score_column else "siamese_score" for c in table.column_names])
    table = table.select([*ID_COLUMNS, "siamese_score"])
    if table.num_rows == 0:
        raise UserError("no data rows (header only)", file=str(csv_path), field="inference.csv",
                        fix="rerun VCN inference; the CSV must hold one row per sample")
    bad = ~np.isfinite(float_values(table.column("siamese_score")))  # nulls arrive as NaN
    if bad.any():
        _raise_bad_rows(csv_path, score_column, np.flatnonzero(bad), "empty, NaN or infinite")
    codes, labels = dictionary_codes(table.column("label"))
    missing = [code for code, text in enumerate(labels) if text in PANDAS_NA_TEXT]
    if missing:  # the reference's handling of these depends on its pandas version: refuse them
        _raise_bad_rows(csv_path, "label", np.flatnonzero(np.isin(codes, missing)),
                        "missing (empty, NA, None, null, ...)",
                        fix="give every row its ground-truth label: PASS or the defect name")
    for column in ("input_path", "object_name"):
        empty = np.flatnonzero(empty_text(table.column(column)))
        if len(empty):
            _raise_bad_rows(csv_path, column, empty, "empty", fix=f"fill in {column} for every row")
    return InferenceTable(csv_path, score_column, table)


def _raise_bad_scores_slow(csv_path: Path, score_column: str) -> None:
    """Error path only: find which rows hold text that is not a number."""
    import pandas as pd

    raw = pd.read_csv(csv_path, usecols=[score_column], dtype=str, keep_default_na=False)[score_column]
    parsed = pd.to_numeric(raw, errors="coerce")
    blank = raw.str.strip().isin(["", "nan", "NaN", "NA", "null", "NULL", "N/A", "n/a"])
    bad = (parsed.isna() & ~blank).to_numpy().nonzero()[0]
    _raise_bad_rows(csv_path, score_column, bad, "not a number")


def _raise_bad_rows(csv_path: Path, column: str, rows, what: str, fix: str | None = None) -> None:
    lines = ", ".join(str(int(r) + 2) for r in rows[:_SHOWN_ROWS])  # +1 header, +1 one-based
    more = "" if len(rows) <= _SHOWN_ROWS else ", ..."
    raise UserError(f"{len(rows)} row(s) with {what} values (CSV lines {lines}{more})", file=str(csv_path),
                    field=column, fix=fix or "rerun inference or drop those rows; every score must be a finite number")


def _frame(inference: InferenceTable):
    import numpy as np
    import pandas as pd

    table = inference.table
    codes, raw_labels = label_codes(table.column("label"))
    path_codes, paths = dictionary_codes(table.column("input_path"))
    frame = pd.DataFrame({
        "input_path": np.asarray(paths, dtype=object)[path_codes],
        "object_name": table.column("object_name").to_pandas(),
        "label": np.asarray(raw_labels, dtype=object)[codes],
        "siamese_score": float_values(table.column("siamese_score")),
    })
    return frame, inference.score_column


# Arrow -> numpy through the buffers: pyarrow's own to_numpy()/pa.array() import pandas, which
# costs half a second of start-up on every run of a command that never needs it.

def _chunks(column) -> list:
    return [c for c in getattr(column, "chunks", [column]) if len(c)]


def _valid_mask(chunk):
    import numpy as np

    bits = np.frombuffer(chunk.buffers()[0], dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little")[chunk.offset:chunk.offset + len(chunk)].astype(bool)


def _primitive(chunk, dtype, fill):
    import numpy as np

    values = np.frombuffer(chunk.buffers()[1], dtype=dtype)[chunk.offset:chunk.offset + len(chunk)]
    if chunk.null_count:
        values = np.where(_valid_mask(chunk), values, fill)
    return values


def float_values(column):
    """float64 numpy array of an Arrow float64 column, nulls as NaN."""
    import numpy as np

    parts = [_primitive(c, np.float64, np.nan) for c in _chunks(column)]
    return np.concatenate(parts) if parts else np.zeros(0)


def _dictionary_chunks(column) -> list:
    import pyarrow as pa

    chunked = column if isinstance(column, pa.ChunkedArray) else pa.chunked_array([column])
    return _chunks(chunked.unify_dictionaries())


def dictionary_codes(column):
    """Dictionary-encoded text column -> (int64 codes, text per code)."""
    import numpy as np

    chunks = _dictionary_chunks(column)
    if not chunks:
        return np.zeros(0, dtype=np.int64), []
    codes = np.concatenate([_primitive(c.indices, np.int32, 0) for c in chunks]).astype(np.int64)
    return codes, [str(v) for v in chunks[0].dictionary.to_pylist()]


def empty_text(column):
    """Boolean numpy mask of empty values in a string or dictionary column."""
    import numpy as np

    codes, texts = dictionary_codes(column) if hasattr(column.type, "value_type") else (None, None)
    if codes is not None:
        return np.asarray([t == "" for t in texts], dtype=bool)[codes] if texts else np.zeros(0, dtype=bool)
    parts = []
    for chunk in _chunks(column):
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)[chunk.offset:chunk.offset + len(chunk) + 1]
        parts.append(np.diff(offsets) == 0)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


# Cells pandas reads as NaN (missing); refused as labels.
PANDAS_NA_TEXT = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                            "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})


def label_codes(column):
    """Label column -> (int64 codes, raw label text per code)."""
    return dictionary_codes(column)

"""Gap-analysis inputs: the VCN train YAML and inference.csv, read and checked.

`read_inference_table` parses inference.csv once with pyarrow (no pandas) and refuses rows the
container would mishandle; `read_train_config` takes the lightings and the image extension from
the train YAML. Every check raises a one-line `UserError` naming the file, the field and the fix.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tao_skill_bank.errors import EXIT_ENVIRONMENT, UserError

log = logging.getLogger(__name__)

INFERENCE_CSV = "inference.csv"
SCORE_COLUMNS = ("siamese_score", "output_score")  # VCN train-image inference, TAO Deploy (TensorRT)
ID_COLUMNS = ("input_path", "object_name", "label")
# Where to look in the VCN train YAML.
INPUT_MAP_FIELD = "dataset.classify.input_map"
IMAGE_EXT_FIELD = "dataset.classify.image_ext"
_SHOWN_ROWS = 5
_HEADER_PREFIX = 1 << 20   # bytes read to find the header (more only if its line is longer)
_CSV_BLOCK = 1 << 24


@dataclass(frozen=True)
class TrainInfo:
    lightings: list[str]   # input_map order (YAML key order for a dict)
    image_ext: str


def load_yaml(path: Path, field: str, what: str, fix_missing: str) -> Any:
    """A user YAML (spec, train config), bounded: size, UTF-8, nesting, aliases, int64 (`safe_input`)."""
    from tao_skill_bank.safe_input import load_yaml_file

    if not path.is_file():
        raise UserError(f"{what} not found", file=str(path), field=field, fix=fix_missing, exit_code=EXIT_ENVIRONMENT)
    return load_yaml_file(path, what=what, field=field, fix_missing=fix_missing)


def read_train_config(path: str | os.PathLike) -> TrainInfo:
    """Lightings (dict keys in YAML order, or list items) and image extension of a VCN train YAML."""
    path = Path(path)
    data = load_yaml(path, "train_config", "train config",
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
    with open(csv_path, "rb") as handle:
        return parse_header(handle.read(_HEADER_PREFIX))


def parse_header(prefix: bytes) -> list[str]:
    """The first CSV record of `prefix` (the file's first bytes; a BOM is dropped)."""
    import io

    text = prefix.decode("utf-8-sig", errors="replace")
    return next(csv.reader(io.StringIO(text, newline="")), [])


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


@dataclass
class InferenceTable:
    """Arrow-backed columns of inference.csv, the form the engine works on."""

    path: Path
    score_column: str
    table: Any  # pyarrow.Table: input_path, object_name, label (dictionary), siamese_score
    sha256: str = ""  # of the bytes parsed (the run record's input hash)

    def __len__(self) -> int:
        return self.table.num_rows


def read_inference_table(results_dir: str | os.PathLike) -> InferenceTable:
    """Parse inference.csv once (pyarrow) and validate it. The file is opened once: the header,
    the parse and the sha256 for the run record all come from the same bytes."""
    import hashlib

    import numpy as np
    import pyarrow as pa
    from pyarrow import csv as pacsv

    folder = Path(results_dir)
    csv_path = inference_csv_path(folder)
    if not folder.is_dir():
        raise UserError("folder not found", file=str(folder), field="inference_results_dir",
                        fix="pass the folder that holds inference.csv (not the CSV itself)", exit_code=EXIT_ENVIRONMENT)
    if not csv_path.is_file():
        raise UserError("inference.csv not found in this folder", file=str(csv_path),
                        field="inference_results_dir",
                        fix="pass the inference output folder, e.g. <exp>/inference/latest/", exit_code=EXIT_ENVIRONMENT)
    digest = hashlib.sha256()
    with open(csv_path, "rb", buffering=0) as handle:
        prefix = handle.read(_HEADER_PREFIX)
        while b"\n" not in prefix and (more := handle.read(_HEADER_PREFIX)):
            prefix += more  # a header line longer than the prefix
        _refuse_other_encodings(prefix, csv_path)
        header = parse_header(prefix)
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
        stream = pa.PythonFile(_HashingReader(prefix, handle, digest), mode="r")
        try:
            table = pacsv.read_csv(stream, read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK),
                                   convert_options=convert)
        except pa.ArrowInvalid as exc:
            if "conversion error to double" in str(exc) or "to double" in str(exc):
                _raise_bad_scores_slow(csv_path, score_column)
            if "invalid UTF8" in str(exc):
                raise UserError(f"not UTF-8 text ({str(exc).splitlines()[0][:120]})", file=str(csv_path),
                                field="inference.csv", fix="save the CSV as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)")
            if "Empty CSV file" in str(exc):  # a header line and nothing after it
                raise UserError("no data rows (header only)", file=str(csv_path), field="inference.csv",
                                fix="rerun VCN inference; the CSV must hold one row per sample") from None
            raise UserError(f"cannot parse CSV ({str(exc).splitlines()[0][:200]}){_ragged_row_reason(str(exc))}",
                            file=str(csv_path), field="inference.csv",
                            fix="repair the CSV (one header, same column count per row)") from None
    table = table.rename_columns([c if c != score_column else "siamese_score" for c in table.column_names])
    table = table.select([*ID_COLUMNS, "siamese_score"])
    if table.num_rows == 0:
        raise UserError("no data rows (header only)", file=str(csv_path), field="inference.csv",
                        fix="rerun VCN inference; the CSV must hold one row per sample")
    bad = ~np.isfinite(float_values(table.column("siamese_score")))  # nulls arrive as NaN
    if bad.any():
        _raise_bad_rows(csv_path, score_column, np.flatnonzero(bad),
                        "empty, NaN or infinite", why=NON_FINITE_REASON)
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
    for column in ID_COLUMNS:
        _refuse_oversized(table.column(column), csv_path, column)
        _refuse_numeric_rewrite(table.column(column), csv_path, column)
    return InferenceTable(csv_path, score_column, table, digest.hexdigest())


class _HashingReader(io.RawIOBase):
    """The file as pyarrow reads it, block by block: first the prefix already read for the
    header, then the rest; every byte handed out also goes into the digest (hashlib releases
    the GIL on large blocks, so hashing overlaps pyarrow's parsing threads)."""

    def __init__(self, prefix: bytes, handle, digest):
        self._prefix = memoryview(prefix)
        self._handle = handle
        self._digest = digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._prefix.nbytes:
            n = min(len(view), self._prefix.nbytes)
            view[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
        else:
            n = self._handle.readinto(view) or 0
        if n:
            self._digest.update(view[:n])
        return n


MAX_FIELD_BYTES = 4096  # PATH_MAX: an input path, object name or label longer than that names no file


def _refuse_oversized(column, csv_path: Path, name: str) -> None:
    """Refuse a text field longer than MAX_FIELD_BYTES (a 20 MB label would reach every parquet row,
    report table and summary line). Checks the dictionary of dictionary columns only: cheap."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    for chunk in _dictionary_chunks(column) if pa.types.is_dictionary(column.type) else _chunks(column):
        values = chunk.dictionary if pa.types.is_dictionary(chunk.type) else chunk
        if len(values) and pc.max(pc.binary_length(values)).as_py() > MAX_FIELD_BYTES:
            lengths = pc.binary_length(column.cast(pa.string()) if pa.types.is_dictionary(column.type) else column)
            rows = np.flatnonzero(np.asarray(pc.greater(lengths, MAX_FIELD_BYTES).fill_null(False)))
            _raise_bad_rows(csv_path, name, rows, f"over-long (> {MAX_FIELD_BYTES:,} bytes)",
                            fix=f"repair the CSV: {name} holds a path, a file name or a label")


# Why a score the container would take is refused (it reads NaN and infinities without complaint).
NON_FINITE_REASON = ("the container would not refuse them, but a NaN score is never above a threshold (the row "
                     "silently counts as predicted PASS, with a NaN weakness) and an infinite one is no model output")


def _raise_bad_scores_slow(csv_path: Path, score_column: str) -> None:
    """Error path only: find which rows hold text that is not a number."""
    import pandas as pd

    raw = pd.read_csv(csv_path, usecols=[score_column], dtype=str, keep_default_na=False)[score_column]
    parsed = pd.to_numeric(raw, errors="coerce")
    blank = raw.str.strip().isin(["", "nan", "NaN", "NA", "null", "NULL", "N/A", "n/a"])
    bad = (parsed.isna() & ~blank).to_numpy().nonzero()[0]
    lenient = [v for v in raw.iloc[bad[:_SHOWN_ROWS]] if _python_float(v) is not None]
    why = (f"the container's float() would read {lenient[0]!r} as {_python_float(lenient[0])!r}, but "
           "inference writes plain decimal numbers: such a cell is not a model score") if lenient else None
    _raise_bad_rows(csv_path, score_column, bad, "not a number", why=why)


def _python_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _raise_bad_rows(csv_path: Path, column: str, rows, what: str, fix: str | None = None, why: str | None = None) -> None:
    lines = ", ".join(str(int(r) + 2) for r in rows[:_SHOWN_ROWS])  # +1 header, +1 one-based
    more = "" if len(rows) <= _SHOWN_ROWS else ", ..."
    reason = f"; {why}" if why else ""
    raise UserError(f"{len(rows)} row(s) with {what} values (CSV lines {lines}{more}){reason}", file=str(csv_path),
                    field=column, fix=fix or "rerun inference or drop those rows; every score must be a finite number")


def _ragged_row_reason(message: str) -> str:
    """Why a row with too few fields is refused: pandas (the container) pads it silently."""
    import re

    counts = re.search(r"Expected (\d+) columns, got (\d+)", message)
    if counts and int(counts.group(2)) < int(counts.group(1)):
        return "; the container would silently read the missing fields as empty (a NaN score)"
    return ""


_UTF16_32_BOMS = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32", b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}


def _refuse_other_encodings(prefix: bytes, csv_path: Path) -> None:
    """A UTF-16/32 file (Excel's 'Unicode text') or one with NUL bytes in its header line."""
    encoding = next((name for bom, name in _UTF16_32_BOMS.items() if prefix.startswith(bom)), None)
    first_line = prefix.split(b"\n", 1)[0]
    if encoding is None and first_line.count(b"\x00") > len(first_line) // 4:
        encoding = "UTF-16 or UTF-32 (no byte-order mark)"
    if encoding:
        raise UserError(f"{encoding} text, not UTF-8", file=str(csv_path), field="inference.csv",
                        fix="save the CSV as UTF-8 (e.g. `iconv -f UTF-16 -t UTF-8`)")


# Text pandas (the container's reader) parses as a number or a boolean when a whole column is
# made of it: it then writes the value back as str(number), '00012' -> '12', '1.50' -> '1.5'.
# ASCII classes only: the same in Python's re and in pyarrow's RE2 (pandas reads ASCII digits only).
_INT_TEXT = r"^[ \t]*[+-]?[0-9]+[ \t]*$"
_FLOAT_TEXT = (r"^[ \t]*[+-]?([0-9]+\.?[0-9]*([eE][+-]?[0-9]+)?|\.[0-9]+([eE][+-]?[0-9]+)?|[iI]nf(inity)?|INF|nan|NaN)"
               r"[ \t]*$")
_BOOL_TEXT = r"^(?i:true|false)$"


def pandas_text(values: list[str]) -> list[str] | None:
    """The text the container's pandas makes of a column holding exactly `values`: its NA
    spellings become 'nan'; a column of only integers, floats or booleans (NA aside) is parsed and
    written back as str() of the numbers (integers as floats when an NA is among them). None when
    an integer beyond 64 bits is in it: pandas then falls back to converters that read even '1_000'."""
    import re

    present = [v for v in values if v not in PANDAS_NA_TEXT]
    missing = len(present) < len(values)

    def spell(parse) -> list[str]:
        return ["nan" if v in PANDAS_NA_TEXT else parse(v) for v in values]
    if any(re.match(_INT_TEXT, v) and not -2**63 <= int(v) < 2**63 for v in present):
        return None
    if present and all(re.match(_FLOAT_TEXT, v) for v in present):
        if all(re.match(_INT_TEXT, v) for v in present):  # int64, or float when an NA is among them
            return spell(lambda v: str(float(int(v))) if missing else str(int(v)))
        return spell(lambda v: str(float(v)))
    if present and all(re.match(_BOOL_TEXT, v) for v in present):
        return spell(lambda v: str(v.lower() == "true"))
    return spell(str)


# The text pandas writes back unchanged: a canonical int64, True/False.
_CANONICAL = {_INT_TEXT: r"^(0|-?[1-9][0-9]*)$", _BOOL_TEXT: r"^(True|False)$"}


def _refuse_numeric_rewrite(column, csv_path: Path, name: str) -> None:
    """Refuse a column the container would read as numbers and write back changed (its file paths
    would name files that do not exist, its labels would be renamed)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type):  # its distinct values are the dictionary
        chunks = _dictionary_chunks(column)
        values = chunks[0].dictionary if chunks else pa.array([], pa.string())
    else:
        values = column
    kind = None
    long_values = pc.filter(values, pc.greater_equal(pc.binary_length(values), _int32_scalar(19)))  # most are short
    unusual = (pc.any(pc.is_in(values, value_set=_string_array(sorted(PANDAS_NA_TEXT)))).as_py()
               or pc.any(pc.match_substring_regex(long_values, r"^[ \t]*[+-]?[0-9]{19,}[ \t]*$")).as_py() is True)
    for sample in () if unusual else (values.slice(0, 1024), values):  # the first rows settle the usual case
        kind = next((p for p in (_INT_TEXT, _FLOAT_TEXT, _BOOL_TEXT)
                     if pc.all(pc.match_substring_regex(sample, p)).as_py()), None)
        if kind is None:
            return  # some value is text and none is an NA spelling: pandas keeps the column as it is
    canonical = _CANONICAL.get(kind)
    if canonical is not None:  # vectorised: only the values not already in canonical form
        suspects = pc.filter(values, pc.invert(pc.match_substring_regex(values, canonical)))
        if len(suspects) == 0:
            return
        values = suspects if kind == _BOOL_TEXT else values  # ints: pandas' choice depends on every value
    distinct = [str(v) for v in pc.unique(values).to_pylist()]
    rewritten = pandas_text(distinct)
    if rewritten is None:
        raise UserError("holds an integer beyond 64 bits: the container's pandas may then read the column as "
                        "numbers and write it back changed", file=str(csv_path), field=name,
                        fix=f"spell {name} so pandas keeps it as text (e.g. with a letter prefix), in the CSV and the dataset")
    changed = [(old, new) for old, new in zip(distinct, rewritten) if old != new]
    if not changed:
        return
    old, new = changed[0]
    what = "with missing values (NA spellings)" if old in PANDAS_NA_TEXT else "as numbers (every value is one)"
    effect = "its label names would differ from the CSV's" if name == "label" else \
        "its file paths would name files that do not exist"
    raise UserError(f"the container's pandas reads this column {what} and writes {len(changed)} distinct value(s) "
                    f"back changed ({old!r} becomes {new!r}): {effect}", file=str(csv_path), field=name,
                    fix=f"spell {name} so pandas keeps it as text (e.g. with a letter prefix), in the CSV and the dataset")


# Arrow -> numpy through the buffers: pyarrow's own to_numpy()/pa.array() import pandas, which
# costs half a second of start-up on every run of a command that never needs it.

def _string_array(texts: list[str]):
    """A pyarrow string array built from its buffers (pa.array() would import pandas)."""
    import pyarrow as pa

    data = [t.encode() for t in texts]
    offsets, end = [0], 0
    for item in data:
        end += len(item)
        offsets.append(end)
    return pa.Array.from_buffers(pa.string(), len(data), [None, pa.py_buffer(_int32_bytes(offsets)),
                                                          pa.py_buffer(b"".join(data))])


def _int32_scalar(value: int):
    """A pyarrow int32 scalar, taken from a one-element array built from its buffer (pa.scalar() would
    import pandas)."""
    import pyarrow as pa

    return pa.Array.from_buffers(pa.int32(), 1, [None, pa.py_buffer(_int32_bytes([value]))])[0]


def _int32_bytes(values: list[int]) -> bytes:
    import struct

    return struct.pack(f"<{len(values)}i", *values)


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


def texts_at(column, rows) -> list[str]:
    """Text of `rows` (numpy indices) of a string or dictionary column: only those rows are
    taken and decoded, whatever the column's length (no pandas)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    indices = np.ascontiguousarray(rows, dtype=np.int64)
    taken = pc.take(column, pa.Array.from_buffers(pa.int64(), len(indices), [None, pa.py_buffer(indices)]))
    if pa.types.is_dictionary(taken.type):
        taken = taken.cast(taken.type.value_type)
    return [str(v) for v in taken.to_pylist()]


def _empty_strings(chunk):
    """Boolean mask of empty values of a plain string array (from its offsets)."""
    import numpy as np

    offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)[chunk.offset:chunk.offset + len(chunk) + 1]
    return np.diff(offsets) == 0


def empty_text(column):
    """Boolean numpy mask of empty values in a string or dictionary column (vectorised; a
    dictionary's entries are tested once, then spread by the codes)."""
    import numpy as np

    parts = []
    for chunk in _chunks(column):
        if hasattr(chunk.type, "value_type"):
            dictionary = chunk.dictionary
            empty = _empty_strings(dictionary) if len(dictionary) else np.zeros(0, dtype=bool)
            parts.append(empty[_primitive(chunk.indices, np.int32, 0)])
        else:
            parts.append(_empty_strings(chunk))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


# Cells pandas reads as NaN (missing); refused as labels.
PANDAS_NA_TEXT = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                            "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})


def label_codes(column):
    """Label column -> (int64 codes, raw label text per code)."""
    return dictionary_codes(column)

"""Check an extracted optical-inspection split the way TAO's own loaders will read it.

A split is `images.tar.gz` (extracted) + `dataset.csv` with columns input_path, golden_path,
object_name, label. Both TAO loaders (the PyTorch data module and TAO Deploy's dataloader) read
the CSV with pandas and open, for every row and every `dataset.input_map` key `light`,

    os.path.join(images_dir, input_path, object_name) + "_" + light + image_ext   (and golden_path)

with no `_light` suffix when `input_map` is null/empty. Values are used as written (no strip), the
label test is `label != 'PASS'` (case-sensitive), the PyTorch loader reads `object_name` as text
(`dtype={'object_name': str}`) while Deploy reads the CSV plain (all-digit names become numbers and
the path join raises TypeError), and only the PyTorch loader converts images to RGB (Deploy needs
3-band images). `check_split` reproduces exactly that, per loader, and adds the run-time rules of
the action (train needs PASS and defect rows and at least a batch of rows).

Verdicts come in two kinds:
- loader failures (`DatasetReport.failing_rows[loader]`, `loads[loader]`): what the real loader
  does with this split — checked differentially against TAO Deploy's dataloader;
- policy refusals, stricter than TAO on purpose, each naming the failure it prevents: paths that
  escape images_dir (absolute or `..`: the container only mounts the workspace, so such files are
  not there at run time) and labels such as `pass`/` PASS` (TAO trains them silently as defects).

Pure core: `missing_columns`, `choose_images_dir`, `join_paths`, `image_paths`, `infer_lightings`,
`count_labels`, `split_rules`. Adapters: `read_loader_frame`, `count_split`, `find_images_dir`,
`check_split` (one os.scandir per image folder, vectorised path checks, image headers sampled).
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from tao_skill_bank.errors import EXIT_ENVIRONMENT, UserError
from tao_skill_bank.findings import ERROR, WARNING, Finding

REQUIRED_COLUMNS = ("input_path", "golden_path", "object_name", "label")
PATH_COLUMNS = ("input_path", "golden_path", "object_name")
CSV_NAME = "dataset.csv"
TARBALL_NAME = "images.tar.gz"
GOLDEN_DIR = "golden"      # the usual golden folder name; any name given by the golden_path column works
SEARCH_DEPTH = 3           # split/, split/images/, split/images/images/ and one more
MISSING_SHOWN = 5
ROWS_SHOWN = 10
_INFER_SAMPLE_ROWS = 50
PASS_LABEL = "PASS"        # TAO's test is `label != 'PASS'`: exact and case-sensitive
URI_SCHEMES = ("s3://", "gs://", "az://", "azure://", "http://", "https://", "ngc://")

LOADERS = ("pytorch", "deploy")
# train = the train split of a train job; validation = its eval split; evaluate / inference.
ACTIONS = ("train", "validation", "evaluate", "inference")
DEPLOY_ACTIONS = ("evaluate", "inference")
LABELLED_ACTIONS = ("train", "validation", "evaluate")       # actions whose metrics read the label
TEMPLATE_BATCH_SIZE = 8    # dataset.batch_size of the train template (a test keeps them equal)
IMAGE_SAMPLE = 256         # image headers opened per check (0 = every image)
# PIL modes whose numpy array has 3 bands: the only ones TAO Deploy's loader can stack (it does not
# .convert("RGB"); grayscale, palette, RGBA, CMYK, 16-bit all fail there).
DEPLOY_MODES = ("RGB", "YCbCr", "LAB", "HSV")



@dataclass(frozen=True)
class SplitCounts:
    """Rows and classes of a split as TAO's loaders count them (pandas rows, exact `PASS`)."""
    csv_path: str
    rows: int
    pass_rows: int          # label == 'PASS' exactly
    defect_rows: int        # everything else, including empty labels and 'pass' / ' PASS'
    near_pass_rows: int     # labels that read as PASS to a human ('pass', 'Pass', ' PASS') but are defects to TAO

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DatasetFinding(Finding):
    """A finding about a split: which loader it concerns and the data rows (0-based, header
    excluded, as TAO indexes them) — the first ROWS_SHOWN of `count`."""
    loader: str = "both"    # pytorch | deploy | both | policy (stricter than TAO on purpose)
    rows: tuple = ()
    count: int = 0

    def as_dict(self) -> dict:
        return {**asdict(self), "rows": list(self.rows)}


def _finding(severity: str, rule: str, message: str, fix: str, loader: str = "both", rows: tuple = (),
             count: int = 0) -> DatasetFinding:
    return DatasetFinding(None, rule, message, fix, severity, None, loader, tuple(rows), count)


@dataclass
class DatasetReport:
    split_dir: str
    images_dir: str
    csv_path: str
    spec_values: dict
    action: str | None
    loader: str
    rows: int
    labels: dict                     # exact label values (as TAO compares them) -> rows
    pass_rows: int
    defect_rows: int
    near_pass_rows: int
    lightings: list                  # [] = input_map null: one image per row, no `_light` suffix
    lightings_source: str            # --lightings | --no-input-map | spec | inferred
    image_ext: str
    image_ext_source: str            # --image-ext | spec | inferred
    batch_size: int | None
    batch_size_source: str
    num_gpus: int
    expected_files: int
    missing_files: int
    missing_by_kind: dict
    missing_examples: list
    images_checked: int
    image_modes: dict
    loads: dict                      # loader -> the loader gets past its start (rows, columns, batch)
    failing_rows: dict               # loader -> data rows the loader fails on (capped in as_dict)
    findings: list = field(default_factory=list)

    @property
    def errors(self) -> list[DatasetFinding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[DatasetFinding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def problems(self) -> list[str]:
        return [f.message for f in self.errors]

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        data = asdict(self)
        data["findings"] = [f.as_dict() for f in self.findings]
        data["failing_rows"] = {k: v[:1000] for k, v in self.failing_rows.items()}
        data["n_failing_rows"] = {k: len(v) for k, v in self.failing_rows.items()}
        return {"ok": self.ok, "errors": [f.one_line() for f in self.errors],
                "warnings": [f.one_line() for f in self.warnings], "problems": self.problems, **data}


# ---------------------------------------------------------------- pure core

def missing_columns(header) -> list[str]:
    """Required columns absent from the header, compared exactly as pandas/TAO index them."""
    present = {str(h) for h in header}
    return [c for c in REQUIRED_COLUMNS if c not in present]


def _is_text(series):
    return series.map(lambda v: isinstance(v, str)).astype(bool)


def count_labels(labels) -> tuple[int, int, int]:
    """(pass, defect, near-pass) counts of a label column exactly as TAO tests it (`!= 'PASS'`).

    `labels` is a pandas Series as the loader parsed it (NaN for empty cells)."""
    text = _is_text(labels)
    exact = labels.eq(PASS_LABEL).fillna(False).astype(bool) & text
    texts = labels.where(text, "").astype(str)
    near = (~exact) & texts.str.strip().str.upper().eq(PASS_LABEL)
    n_pass = int(exact.sum())
    return n_pass, int(len(labels) - n_pass), int(near.sum())


def _top_folder(relative) -> str | None:
    if not isinstance(relative, str) or relative.startswith("/"):
        return None
    parts = [p for p in relative.split("/") if p not in ("", ".")]
    return parts[0] if parts and parts[0] != ".." else None


def referenced_folders(frame) -> set[str]:
    """First path component of every relative input_path / golden_path (what images_dir must hold)."""
    names: set[str] = set()
    for column in ("input_path", "golden_path"):
        if column in frame.columns:
            names |= {top for top in map(_top_folder, frame[column].dropna().unique()) if top}
    return names


def choose_images_dir(candidates: dict[str, set[str]], wanted: set[str], split_dir: str) -> str:
    """Pick the one candidate folder whose entries cover every folder the CSV names.

    `candidates` maps a folder to its entry names."""
    covering = [path for path, entries in candidates.items() if wanted <= entries]
    if len(covering) == 1:
        return covering[0]
    if len(covering) > 1:
        raise UserError(f"several folders hold every folder {CSV_NAME} names ({', '.join(sorted(wanted))}): "
                        f"{', '.join(sorted(covering))}", file=split_dir,
                        fix="remove the stale copy, or pass --images-dir (and set dataset.*.images_dir) by hand")
    if not any(wanted & entries for entries in candidates.values()):
        raise UserError(f"no folder within {SEARCH_DEPTH} levels holds the folders {CSV_NAME} names "
                        f"({', '.join(sorted(wanted)[:5])})", file=split_dir,
                        fix=f"extract {TARBALL_NAME} into the split folder (mkdir -p {split_dir}/images && "
                            f"tar -xzf {split_dir}/{TARBALL_NAME} -C {split_dir}/images)")
    best = sorted(candidates.items(), key=lambda kv: (-len(wanted & kv[1]), kv[0]))[:3]
    detail = "; ".join(f"{path} lacks {', '.join(sorted(wanted - entries)[:3])}"
                       f"{' ...' if len(wanted - entries) > 3 else ''}" for path, entries in best)
    raise UserError(f"no folder holds every folder {CSV_NAME} names ({detail})",
                    file=split_dir, fix="check that the tarball extracted completely and that the CSV belongs to it")


def join_paths(base, part):
    """Vectorised os.path.join (POSIX) of a str or text Series `base` and a text Series `part`:
    an absolute `part` replaces `base`, as os.path.join does."""
    import numpy as np

    part = part.astype(object)
    if isinstance(base, str):
        joined = (base if base == "" or base.endswith("/") else base + "/") + part
    else:
        base = base.astype(object)
        glue = np.where(base.str.endswith("/").astype(bool) | base.eq("").astype(bool), "", "/")
        joined = base + glue + part
    absolute = part.str.startswith("/").astype(bool)
    return joined.where(~absolute, part)


def image_paths(frame, images_dir: str, lightings: list[str], image_ext: str):
    """Every image a loader opens: one row per (data row, kind, lighting).

    Columns: row, kind (input|golden), lighting, path (None where a path component is not text:
    TAO's os.path.join raises TypeError there), text (path is a str), escapes (the path leaves
    images_dir: an absolute part or `..`)."""
    import numpy as np
    import pandas as pd

    lights = list(lightings) or [None]
    base = pd.concat([pd.DataFrame({"row": frame.index, "kind": kind, "folder": frame[column].astype(object),
                                    "name": frame["object_name"].astype(object)})
                      for kind, column in (("input", "input_path"), ("golden", "golden_path"))], ignore_index=True)
    # joins and the escape test per (row, kind); the lighting suffix cannot change either
    ok = _is_text(base["folder"]) & _is_text(base["name"])
    stem = pd.Series(None, index=base.index, dtype=object)
    if ok.any():
        stem[ok] = join_paths(join_paths(images_dir, base.loc[ok, "folder"]), base.loc[ok, "name"])
    prefix = images_dir.rstrip("/") + "/"
    text_stems = stem.where(ok, "").astype(object)
    inside = ok & text_stems.str.startswith(prefix).astype(bool)
    maybe_up = inside & text_stems.str.contains(r"(?:^|/)\.\.(?:/|$)", regex=True).astype(bool)
    if maybe_up.any():   # normalise only the few paths with `..` components
        inside.loc[maybe_up] = text_stems[maybe_up].map(posixpath.normpath).str.startswith(prefix)
    base["text"], base["escapes"] = ok, ok & ~inside
    table = base.loc[base.index.repeat(len(lights))].reset_index(drop=True)
    table["lighting"] = np.tile(np.array(lights, dtype=object), len(base))
    suffixes = np.tile(np.array([(f"_{l}" if l not in (None, "") else "") + image_ext for l in lights],
                                dtype=object), len(base))
    stems = stem.to_numpy().repeat(len(lights))
    text = table["text"].to_numpy()
    paths = np.full(len(table), None, dtype=object)
    paths[text] = stems[text] + suffixes[text]
    table["path"] = pd.Series(paths, index=table.index, dtype=object)
    return table.drop(columns=["folder", "name"])


def infer_lightings(frame, listing: dict[str, list[str]]) -> tuple[list[str] | None, str | None]:
    """(lightings, extension) seen next to the first rows' objects; ([], ext) = one image per row
    (input_map null); (None, None) = nothing recognisable.

    `listing` maps an input folder (as written in the CSV) to its file names. A lighting counts
    when it appears for at least half of the sampled rows (guards against object names that
    prefix other objects)."""
    from collections import Counter

    per_row: list[set[tuple[str, str]]] = []
    singles = Counter()
    for folder, name in frame[["input_path", "object_name"]].head(_INFER_SAMPLE_ROWS).itertuples(index=False):
        if not isinstance(folder, str) or not isinstance(name, str):
            continue
        found = set()
        for file_name in listing.get(folder, []):
            stem, ext = os.path.splitext(file_name)
            if not ext:
                continue
            if stem.startswith(f"{name}_") and len(stem) > len(name) + 1:
                found.add((stem[len(name) + 1:], ext))
            elif stem == name:
                singles[ext] += 1
        per_row.append(found)
    if not per_row:
        return None, None
    counts = Counter(pair for found in per_row for pair in found)
    threshold = max(1, (len(per_row) + 1) // 2)
    common = [pair for pair, n in counts.items() if n >= threshold]
    if common:
        ext = Counter(e for _, e in common).most_common(1)[0][0]
        return sorted(l for l, e in common if e == ext), ext
    if singles and singles.most_common(1)[0][1] >= threshold:
        return [], singles.most_common(1)[0][0]
    return None, None


def split_rules(*, action: str | None, loader: str, rows: int, n_pass: int, n_defect: int, n_near: int,
                n_empty_labels: int, batch_size: int | None, batch_source: str, num_gpus: int,
                has_label: bool) -> list[DatasetFinding]:
    """Whole-split run-time rules of the action (pure)."""
    found = []
    if rows == 0:
        found.append(_finding(ERROR, "no_rows", "the CSV has a header but no data rows: the PyTorch loader "
                                    "stops with 'Dataset size (0) is smaller than the total batch size', Deploy "
                                    "with 'There should atleast be 1 batch'", "use the split's full dataset.csv",
                                    "both"))
        return found
    labelled = action in LABELLED_ACTIONS or (action is None and has_label)
    if n_near and has_label:
        severity = ERROR if action in LABELLED_ACTIONS else WARNING
        found.append(_finding(severity, "label_not_exact_pass",
                                    f"{_rows(n_near)} have a label that reads as PASS but is not exactly 'PASS' "
                                    f"(e.g. 'pass', 'Pass', ' PASS'): TAO tests label != 'PASS' case-sensitively "
                                    f"and {'trains' if action == 'train' else 'scores'} them as defects",
                                    "write the label exactly PASS (upper case, no spaces) — or, if these rows really "
                                    "are defects, give them a defect label such as NO_PASS", "policy", count=n_near))
    if n_empty_labels and labelled:
        found.append(_finding(WARNING, "empty_label", f"{_rows(n_empty_labels)} have an empty label: TAO counts "
                                    "them as defects", "fill in PASS or the defect class", "both",
                                    count=n_empty_labels))
    if loader != "pytorch" or action is None:
        return found
    if action == "train":
        if batch_size == 1:
            found.append(_finding(ERROR, "train_batch_size_1", "dataset.batch_size 1: the train dataloader "
                                        "asserts on it", "use dataset.batch_size 8 (2 for a smoke run)", "pytorch"))
        if n_defect == 0:
            found.append(_finding(ERROR, "train_no_defect_rows", "the train split has no defect rows (label "
                                        "other than 'PASS'): the weighted sampler divides by their count "
                                        "(ZeroDivisionError at start)", "add defect rows to the train split",
                                        "pytorch"))
        if n_pass == 0:
            found.append(_finding(ERROR, "train_no_pass_rows", "the train split has no exact 'PASS' rows: the "
                                        "weighted sampler gives every row weight 0 and cannot draw a batch",
                                        "add PASS rows (label exactly PASS) to the train split", "pytorch"))
    if batch_size is not None and rows < batch_size * num_gpus:
        total = batch_size * num_gpus
        found.append(_finding(ERROR, "rows_below_batch", f"{_rows(rows)} < total batch size {total} "
                                    f"(dataset.batch_size {batch_size} from {batch_source} x {num_gpus} GPU(s)): "
                                    f"the PyTorch {action} stops with 'Dataset size ({rows}) is smaller than the "
                                    f"total batch size ({total})'",
                                    f"--set dataset.batch_size={max(2 if action == 'train' else 1, rows // num_gpus)} "
                                    "or use a larger split", "pytorch"))
    return found


# ---------------------------------------------------------------- adapters

def read_loader_frame(csv_path: str | os.PathLike, loader: str = "pytorch"):
    """dataset.csv parsed exactly as the loader parses it (pandas, no strip).

    The PyTorch data module reads `pd.read_csv(path, dtype={'object_name': str})`; TAO Deploy reads
    plain `pd.read_csv(path)`, so all-digit object names become numbers there."""
    import pandas as pd

    path = str(csv_path)
    kwargs = {"dtype": {"object_name": str}} if loader == "pytorch" else {}
    try:
        return pd.read_csv(path, **kwargs)
    except pd.errors.EmptyDataError:
        raise UserError("empty CSV (no header, no rows)", file=path,
                        fix=f"use the split's full {CSV_NAME} with the header {','.join(REQUIRED_COLUMNS)}")
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        detail = " ".join(str(exc).split())[:200]
        raise UserError(f"the loader cannot parse this CSV ({type(exc).__name__}: {detail})", file=path,
                        fix="write a plain comma-separated UTF-8 CSV with one row per line")
    except OSError as exc:
        raise UserError(f"cannot read the CSV ({exc.strerror or type(exc).__name__})", file=path,
                        fix="check the path and its permissions", exit_code=2)


def count_split(csv_path: str | os.PathLike | None) -> SplitCounts | None:
    """Rows and PASS/defect counts of a local split CSV, as TAO's PyTorch loader counts them.

    Returns None when there is nothing local to count (empty value, a cloud URI, or no such file),
    so a spec rule can skip the split. Raises UserError (one line, naming the file) when the file
    exists but the loader could not read it or it has no `label` column."""
    if csv_path is None or not str(csv_path).strip() or str(csv_path).startswith(URI_SCHEMES):
        return None
    path = Path(csv_path).expanduser()
    if not path.is_file():
        return None
    frame = read_loader_frame(path, "pytorch")
    if "label" not in frame.columns:
        raise UserError(f"no 'label' column (found: {', '.join(map(str, frame.columns)) or 'none'})",
                        file=str(path), field="label",
                        fix=f"the CSV needs the header {','.join(REQUIRED_COLUMNS)} (exact names)")
    n_pass, n_defect, n_near = count_labels(frame["label"])
    return SplitCounts(str(path), int(len(frame)), n_pass, n_defect, n_near)


def _covering_candidates(split_dir: Path, wanted: set[str]) -> dict[str, set[str]]:
    """Folders (up to SEARCH_DEPTH below split_dir) with their subfolder names; a folder that covers
    `wanted` is a candidate and is not descended into (its subfolders are data)."""
    found: dict[str, set[str]] = {}
    frontier = [split_dir]
    for _ in range(SEARCH_DEPTH + 1):
        next_frontier = []
        for folder in frontier:
            try:
                entries = [e for e in os.scandir(folder) if e.is_dir()]
            except OSError:
                continue
            names = {e.name for e in entries}
            found[str(folder)] = names
            if wanted and wanted <= names:
                continue
            next_frontier.extend(Path(e.path) for e in entries if not e.name.startswith("."))
        frontier = next_frontier
    return found


def _existing_split(split_dir: str | os.PathLike) -> Path:
    if "://" in str(split_dir):
        raise UserError("a cloud split cannot be checked from here (only extracted local folders)",
                        file=str(split_dir), field="SPLIT_DIR",
                        fix="pass the URI straight to `tao-skills spec build` (the platform unpacks it), or "
                            f"download it, extract {TARBALL_NAME} and check that folder")
    split = Path(split_dir)
    if not split.is_dir():
        raise UserError("split folder not found", file=str(split),
                        fix=f"pass the folder holding {CSV_NAME} and the extracted {TARBALL_NAME}", exit_code=EXIT_ENVIRONMENT)
    return split


def _images_dir_for(split: Path, frame) -> Path:
    wanted = referenced_folders(frame) if frame is not None else set()
    if not wanted:
        if frame is not None and len(frame) == 0:   # header only: nothing to find; the no_rows finding says so
            return split / "images" if (split / "images").is_dir() else split
        wanted = {GOLDEN_DIR}
    return Path(choose_images_dir(_covering_candidates(split, wanted), wanted, str(split)))


def find_images_dir(split_dir: str | os.PathLike) -> Path:
    """The folder to use as dataset.*.images_dir for an extracted split (handles images/images):
    the one that holds every folder the CSV's input_path and golden_path name."""
    split = _existing_split(split_dir)
    csv_path = split / CSV_NAME
    frame = read_loader_frame(csv_path) if csv_path.is_file() else None
    return _images_dir_for(split, frame)


class _Listings:
    """One os.scandir per folder: the regular files (symlinks followed) of every folder asked."""

    def __init__(self):
        self._cache: dict[str, set[str]] = {}

    def files(self, folder: str) -> set[str]:
        if folder not in self._cache:
            try:
                with os.scandir(folder or "/") as entries:
                    self._cache[folder] = {e.name for e in entries if _is_regular(e)}
            except (OSError, ValueError):
                self._cache[folder] = set()
        return self._cache[folder]

    def exist(self, paths):
        """Boolean Series: each path (a text Series) is a regular file, as TAO's open would find it.
        Set membership over the unique paths' folders: one listing per folder, no stat per file."""
        import pandas as pd

        unique = pd.unique(paths.to_numpy())
        folders = {path.rpartition("/")[0] for path in unique}
        existing = {f"{folder}/{name}" for folder in folders for name in self.files(folder)}
        # object dtype: pandas' arrow-string isin converts every value to a pyarrow scalar
        return pd.Series(paths.to_numpy(dtype=object), index=paths.index, dtype=object).isin(existing)


def _is_regular(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def lightings_from_spec(spec_path: Path) -> tuple[list[str] | None, str | None, dict]:
    """(dataset.input_map keys in YAML order — [] when null/empty, None when absent,
    dataset.image_ext, other dataset values) of an OI spec or VCN train config."""
    from tao_skill_bank.oi.specdoc import load_yaml_file

    data = load_yaml_file(spec_path, "spec / train config")
    dataset = data.get("dataset") if isinstance(data.get("dataset"), dict) else {}
    train = data.get("train") if isinstance(data.get("train"), dict) else {}
    extra = {"batch_size": dataset.get("batch_size"), "num_gpus": train.get("num_gpus")}
    for block, prefix in ((dataset, "dataset"), (dataset.get("classify") or {}, "dataset.classify")):
        if isinstance(block, dict) and "input_map" in block:
            input_map = block["input_map"]
            if input_map is None or input_map == {}:
                lightings = []
            elif isinstance(input_map, dict):
                lightings = [str(k) for k in input_map]
            else:
                raise UserError(f"input_map must be a mapping {{lighting: index}} or null, got "
                                f"{type(input_map).__name__}", file=str(spec_path), field=f"{prefix}.input_map",
                                fix="write it as e.g. {LowAngleLight: 0, SolderLight: 1}, or null for one image per row")
            ext = block.get("image_ext", dataset.get("image_ext"))
            return lightings, (str(ext) if ext is not None else None), extra
    return None, (str(dataset["image_ext"]) if dataset.get("image_ext") is not None else None), extra


def _int_or_none(value, field_name: str, source: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserError(f"{field_name} must be an integer, got {value!r}", file=source, field=field_name,
                        fix=f"set {field_name} to a whole number")
    return value


def _column_hint(header: list[str], column: str) -> str:
    near = [h for h in header if str(h).strip().lower() == column and str(h) != column]
    return f" (found {near[0]!r}: names must match exactly, no spaces or capitals)" if near else ""


def check_split(split_dir: str | os.PathLike, *, lightings: list[str] | None = None, image_ext: str | None = None,
                spec_path: Path | None = None, action: str | None = None, loader: str = "pytorch",
                batch_size: int | None = None, num_gpus: int | None = None, images_dir: str | None = None,
                image_sample: int = IMAGE_SAMPLE) -> DatasetReport:
    """Check one split as `loader` will read it for `action`. `lightings=[]` means input_map null.

    Raises UserError when the split, its CSV or its images folder cannot be found or the CSV cannot
    be parsed at all (the loader would not start either); everything else is a finding."""
    if loader not in LOADERS:
        raise UserError(f"unknown loader '{loader}'", field="--loader", fix=f"use one of: {', '.join(LOADERS)}")
    if action is not None and action not in ACTIONS:
        raise UserError(f"unknown action '{action}'", field="--action", fix=f"use one of: {', '.join(ACTIONS)}")
    if loader == "deploy" and action not in (None, *DEPLOY_ACTIONS):
        raise UserError(f"TAO Deploy has no '{action}' that reads a dataset", field="--action",
                        fix=f"use --action {' or '.join(DEPLOY_ACTIONS)} with --loader deploy")
    split = _existing_split(split_dir)
    csv_path = split / CSV_NAME
    if not csv_path.is_file():
        raise UserError(f"{CSV_NAME} not found", file=str(csv_path),
                        fix=f"pass the split folder that holds {CSV_NAME} next to the extracted {TARBALL_NAME}", exit_code=EXIT_ENVIRONMENT)
    frames = {name: read_loader_frame(csv_path, name) for name in LOADERS}
    frame = frames["pytorch"]
    header = [str(c) for c in frame.columns]
    lacking = [c for c in PATH_COLUMNS if c not in header]
    if lacking:   # both loaders fail on every row (KeyError): nothing else can be checked
        raise UserError(f"no column {', '.join(repr(c) for c in lacking)}{_column_hint(header, lacking[0])} "
                        f"(found: {', '.join(map(repr, header)) or 'none'}): TAO's loaders fail on every row",
                        file=str(csv_path), field=lacking[0],
                        fix=f"the CSV header must be {','.join(REQUIRED_COLUMNS)} (exact names, any order)")
    if images_dir:
        root = Path(images_dir)
        if not root.is_dir():
            raise UserError("images folder not found", file=str(root), field="--images-dir",
                            fix="pass the extracted folder that holds the folders the CSV names", exit_code=EXIT_ENVIRONMENT)
    else:
        root = _images_dir_for(split, frame)
    root_text = str(root)

    # lightings / extension / batch: flags, then the spec, then what the files show
    sources = {"lightings": "--lightings" if lightings is not None else "", "ext": "--image-ext" if image_ext else ""}
    spec_extra: dict = {}
    if spec_path is not None:
        spec_lightings, spec_ext, spec_extra = lightings_from_spec(spec_path)
        if lightings is None and spec_lightings is not None:
            lightings, sources["lightings"] = spec_lightings, "spec"
        if not image_ext and spec_ext is not None:
            image_ext, sources["ext"] = spec_ext, "spec"
    listings = _Listings()
    has_paths = all(c in frame.columns for c in ("input_path", "object_name"))
    if (lightings is None or not image_ext) and has_paths:
        folders = {f for f in frame["input_path"].head(_INFER_SAMPLE_ROWS) if isinstance(f, str)}
        listing = {f: sorted(listings.files(join_paths(root_text, _series([f]))[0])) for f in folders}
        seen_lightings, seen_ext = infer_lightings(frame, listing)
        if lightings is None and seen_lightings is not None:
            lightings, sources["lightings"] = seen_lightings, "inferred"
        if not image_ext and seen_ext:
            image_ext, sources["ext"] = seen_ext, "inferred"
    if lightings is None or not image_ext:
        raise UserError("cannot infer the lightings / image extension from the files next to the first rows",
                        file=root_text, field="--lightings",
                        fix="pass --lightings A,B (or --no-input-map) and --image-ext .png, or --spec with "
                            "dataset.input_map and dataset.image_ext")
    batch_source = "--batch-size"
    if batch_size is None and spec_extra.get("batch_size") is not None:
        batch_size, batch_source = _int_or_none(spec_extra["batch_size"], "dataset.batch_size", str(spec_path)), "spec"
    if batch_size is None and action is not None and loader == "pytorch":
        batch_size, batch_source = TEMPLATE_BATCH_SIZE, "the train template"
    if num_gpus is None:
        num_gpus = _int_or_none(spec_extra.get("num_gpus"), "train.num_gpus", str(spec_path)) or 1

    findings: list[DatasetFinding] = []
    needed = {name: [c for c in (REQUIRED_COLUMNS if (name == "pytorch" or action != "inference") else PATH_COLUMNS)
                     if c not in frame.columns] for name in LOADERS}
    failing: dict[str, list[int]] = {}
    loads: dict[str, bool] = {}
    for name in LOADERS:
        if needed[name]:
            severity = ERROR if name == loader else WARNING
            findings.append(_finding(
                severity, "missing_column", f"no column {', '.join(repr(c) for c in needed[name])}"
                f"{_column_hint(header, needed[name][0])} (found: {', '.join(map(repr, header)) or 'none'}): the "
                f"{name} loader fails on every row (KeyError)", f"the CSV header must be {','.join(REQUIRED_COLUMNS)}",
                name, tuple(range(min(len(frame), ROWS_SHOWN))), len(frame)))
    if "label" in frame.columns:
        n_pass, n_defect, n_near = count_labels(frame["label"])
        n_empty = int(frame["label"].isna().sum())
        shown = frame["label"].astype(object).map(lambda v: "" if v != v else str(v))
        labels = {str(k): int(v) for k, v in sorted(shown.value_counts().items())}
    else:
        n_pass = n_defect = n_near = n_empty = 0
        labels = {}

    table = None
    expected = missing_n = 0
    by_kind = {"input": 0, "golden": 0}
    examples: list[str] = []
    modes: dict[str, int] = {}
    checked = 0
    if all(c in frame.columns for c in PATH_COLUMNS) and len(frame):
        def with_existence(table_):
            table_["exists"] = False
            if table_["text"].any():
                table_.loc[table_["text"], "exists"] = listings.exist(table_.loc[table_["text"], "path"]).to_numpy()
            return table_

        tables = {"pytorch": with_existence(image_paths(frames["pytorch"], root_text, lightings, image_ext))}
        same = frames["deploy"][list(PATH_COLUMNS)].astype(object).equals(
            frames["pytorch"][list(PATH_COLUMNS)].astype(object))
        tables["deploy"] = (tables["pytorch"].copy() if same else
                            with_existence(image_paths(frames["deploy"], root_text, lightings, image_ext)))
        table = tables["pytorch"]
        findings += _path_findings(tables, frames, loader, root_text, image_ext, listings)
        present = table[table["exists"]]
        missing = table[table["text"] & ~table["exists"]]
        unique_missing = missing.sort_values("row", kind="stable").drop_duplicates("path")
        missing_n = len(unique_missing)
        expected = int(table["path"].dropna().nunique())
        by_kind = {k: int((unique_missing["kind"] == k).sum()) for k in ("input", "golden")}
        examples = unique_missing["path"].head(MISSING_SHOWN).tolist()
        image_failures, modes, checked = _image_headers(present, image_sample)
        findings += _image_findings(image_failures, tables, loader)
        for name in LOADERS:
            failing[name] = _failing_rows(tables[name], image_failures, name)
    for name in LOADERS:
        failing.setdefault(name, [])
        if needed[name]:
            failing[name] = list(range(len(frame)))
        loads[name] = len(frame) > 0 and not (name == "pytorch" and needed[name])
    findings += split_rules(action=action, loader=loader, rows=len(frame), n_pass=n_pass, n_defect=n_defect,
                            n_near=n_near, n_empty_labels=n_empty, batch_size=batch_size, batch_source=batch_source,
                            num_gpus=num_gpus, has_label="label" in frame.columns)
    if loader == "pytorch" and any(f.rule in ("rows_below_batch", "train_batch_size_1", "train_no_defect_rows",
                                              "train_no_pass_rows") for f in findings):
        loads["pytorch"] = False
    lights_source = "--no-input-map" if sources["lightings"] == "--lightings" and not lightings else sources["lightings"]
    return DatasetReport(
        split_dir=str(split), images_dir=root_text, csv_path=str(csv_path),
        spec_values={"images_dir": root_text, "csv_path": str(csv_path)}, action=action, loader=loader,
        rows=int(len(frame)), labels=labels, pass_rows=n_pass, defect_rows=n_defect, near_pass_rows=n_near,
        lightings=list(lightings), lightings_source=lights_source, image_ext=image_ext,
        image_ext_source=sources["ext"], batch_size=batch_size,
        batch_size_source=batch_source if batch_size is not None else "none (pass --action or --batch-size)",
        num_gpus=num_gpus, expected_files=expected, missing_files=missing_n, missing_by_kind=by_kind,
        missing_examples=examples, images_checked=checked, image_modes=modes, loads=loads,
        failing_rows=failing, findings=[replace(f, file=str(csv_path)) for f in _ordered(findings)])


def _series(values):
    import pandas as pd

    return pd.Series(list(values), dtype=object)


def _ordered(findings: list[DatasetFinding]) -> list[DatasetFinding]:
    return sorted(findings, key=lambda f: (f.severity != ERROR, f.rule))


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _rows_text(rows) -> str:
    shown = ", ".join(str(r) for r in list(rows)[:ROWS_SHOWN])
    return shown + (" ..." if len(rows) > ROWS_SHOWN else "")


def _path_findings(tables: dict, frames: dict, loader: str, images_dir: str, image_ext: str,
                   listings: _Listings) -> list[DatasetFinding]:
    """Per-row path problems: components that are not text, escaping paths, missing files."""
    found = []
    for name, table in tables.items():
        severity = ERROR if name == loader else WARNING
        bad = sorted(table.loc[~table["text"], "row"].unique().tolist())
        if bad:
            frame = frames[name]
            sample = frame.loc[bad[0], list(PATH_COLUMNS)]
            kinds = ", ".join(f"{c}={v!r} ({type(v).__name__})" for c, v in sample.items() if not isinstance(v, str))
            digits = name == "deploy" and any(not isinstance(v, str) and v == v for v in sample.values)
            why = (" — TAO Deploy reads the CSV without dtype, so all-digit (or numeric/boolean) values become "
                   "numbers" if digits else " — empty cells, and pandas' NA words (NA, null, None, nan), are read as NaN")
            found.append(_finding(
                severity, "path_not_text",
                f"{_rows(len(bad))} where the {name} loader's os.path.join gets a non-text value (TypeError), "
                f"e.g. data row {bad[0]}: {kinds}{why}; rows {_rows_text(bad)}",
                "fill every input_path / golden_path / object_name; for Deploy give object names a non-digit "
                "character (e.g. C007)" if name == "deploy" else "fill every input_path / golden_path / object_name",
                name, tuple(bad[:ROWS_SHOWN]), len(bad)))
    table = tables["pytorch"]
    escaping = sorted(table.loc[table["escapes"], "row"].unique().tolist())
    if escaping:
        found.append(_finding(
            ERROR, "path_escapes_images_dir",
            f"{_rows(len(escaping))} whose image path leaves images_dir {images_dir} (absolute or '..' input_path / "
            f"golden_path / object_name; os.path.join drops images_dir for an absolute part): the container mounts "
            f"only the workspace, so these files are not there at run time; rows {_rows_text(escaping)}",
            "make input_path and golden_path relative to images_dir, without '..'", "policy",
            tuple(escaping[:ROWS_SHOWN]), len(escaping)))
    table = tables[loader]
    missing = table[table["text"] & ~table["exists"]]
    if not missing.empty:
        rows = sorted(missing["row"].unique().tolist())
        files = missing.drop_duplicates("path")
        hint = _missing_hint(frames[loader], missing, image_ext, listings)
        found.append(_finding(
            ERROR, "image_missing",
            f"{_rows(len(rows))} reference missing images ({len(files)} files: input "
            f"{int((files['kind'] == 'input').sum())}, golden {int((files['kind'] == 'golden').sum())}); "
            f"first: {files.iloc[0]['path']}{hint}; rows {_rows_text(rows)}",
            "re-extract the tarball, check images_dir, --lightings / --image-ext, and the CSV values (used as written)",
            loader, tuple(rows[:ROWS_SHOWN]), len(rows)))
    return found


def _missing_hint(frame, missing, image_ext: str, listings: _Listings) -> str:
    """Why the first missing files are missing, when a near variant exists (spaces, the ext's dot)."""
    rows = missing.drop_duplicates("row").head(50)
    for _, item in rows.iterrows():
        values = frame.loc[item["row"], list(PATH_COLUMNS)]
        if any(isinstance(v, str) and v != v.strip() for v in values):
            stripped = item["path"]
            for v in values:
                if isinstance(v, str) and v != v.strip():
                    stripped = stripped.replace(v, v.strip())
            if listings.exist(_series([stripped]))[0]:
                return (f" (a value has leading/trailing spaces; TAO does not strip them, and {stripped} exists: "
                        "remove the spaces in the CSV)")
        if not image_ext.startswith("."):
            dotted = item["path"][: len(item["path"]) - len(image_ext)] + "." + image_ext
            if listings.exist(_series([dotted]))[0]:
                return f" (image_ext '{image_ext}' lacks its dot: use dataset.image_ext .{image_ext})"
    return ""


def _image_headers(present, sample: int) -> tuple[dict[str, str], dict[str, int], int]:
    """Open the headers of (a sample of) the present images: {path: failure code}, modes, count."""
    from collections import Counter

    from PIL import Image

    paths = present["path"].drop_duplicates()
    if sample and len(paths) > sample:
        step = len(paths) / sample
        paths = paths.iloc[[int(i * step) for i in range(sample)]]
    failures: dict[str, str] = {}
    modes: Counter = Counter()
    for path in paths:
        try:
            with Image.open(path) as image:
                mode = image.mode
        except Exception:   # PIL raises many types for a non-image; both loaders fail on it the same way
            failures[path] = "unreadable"
            continue
        modes[mode] += 1
        if mode not in DEPLOY_MODES:
            failures[path] = f"mode:{mode}"
    return failures, dict(sorted(modes.items())), int(len(paths))


def _image_findings(failures: dict[str, str], tables: dict, loader: str) -> list[DatasetFinding]:
    found = []
    table = tables["pytorch"]
    unreadable = [p for p, why in failures.items() if why == "unreadable"]
    if unreadable:
        rows = sorted(table.loc[table["path"].isin(unreadable), "row"].unique().tolist())
        found.append(_finding(ERROR, "image_unreadable", f"{len(unreadable)} files are not images PIL can "
                                    f"open (both loaders fail), e.g. {unreadable[0]}; rows {_rows_text(rows)}",
                                    "replace them with the real images (re-extract the tarball)", "both",
                                    tuple(rows[:ROWS_SHOWN]), len(rows)))
    odd = {p: why.split(":", 1)[1] for p, why in failures.items() if why.startswith("mode:")}
    if odd:
        rows = sorted(table.loc[table["path"].isin(list(odd)), "row"].unique().tolist())
        modes = ", ".join(sorted(set(odd.values())))
        found.append(_finding(
            ERROR if loader == "deploy" else WARNING, "image_not_rgb_for_deploy",
            f"{len(odd)} images are not 3-band RGB (mode {modes}), e.g. {next(iter(odd))}: the PyTorch loader converts "
            f"them, TAO Deploy does not and fails on them; rows {_rows_text(rows)}",
            "convert the images to RGB (e.g. PIL .convert('RGB')) before TensorRT evaluate/inference", "deploy",
            tuple(rows[:ROWS_SHOWN]), len(rows)))
    return found


def _failing_rows(table, image_failures: dict[str, str], loader: str) -> list[int]:
    """Data rows the loader fails on: a non-text path part, a missing file, an unreadable image, and
    for Deploy an image that is not 3-band."""
    bad = ~table["text"] | ~table["exists"].astype(bool)
    if image_failures:
        fatal = [p for p, why in image_failures.items() if loader == "deploy" or why == "unreadable"]
        bad |= table["path"].isin(fatal)
    return sorted(int(r) for r in table.loc[bad, "row"].unique())

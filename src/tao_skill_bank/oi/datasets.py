"""Check an extracted optical-inspection split before a spec points at it.

A split is `images.tar.gz` (extracted) + `dataset.csv` with columns input_path, golden_path,
object_name, label. The container reads `{images_dir}/{input_path}/{object_name}_{lighting}{ext}`
and the same under golden_path, for every lighting of `dataset.input_map`. Tarballs often unpack
an `images/` wrapper, so the right images_dir is the folder holding `golden/` plus the folders
the CSV names (e.g. `<split>/images/images`).

Pure core: `missing_columns`, `choose_images_dir`, `expected_files`, `infer_lightings`,
`count_labels`. Adapters: `read_csv_rows`, `read_loader_frame`, `count_split`, `find_images_dir`,
`check_split` (directory listings are cached, so a split of any size costs one listdir per folder).
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tao_skill_bank.errors import UserError

REQUIRED_COLUMNS = ("input_path", "golden_path", "object_name", "label")
CSV_NAME = "dataset.csv"
TARBALL_NAME = "images.tar.gz"
GOLDEN_DIR = "golden"
SEARCH_DEPTH = 3           # split/, split/images/, split/images/images/ and one more
MISSING_SHOWN = 5
_INFER_SAMPLE_ROWS = 50
PASS_LABEL = "PASS"        # TAO's test is `label != 'PASS'`: exact and case-sensitive
URI_SCHEMES = ("s3://", "gs://", "az://", "azure://", "http://", "https://", "ngc://")


@dataclass
class DatasetReport:
    split_dir: str
    images_dir: str
    csv_path: str
    spec_values: dict
    rows: int
    labels: dict
    lightings: list
    lightings_source: str            # --lightings | spec | inferred
    image_ext: str
    image_ext_source: str            # --image-ext | spec | inferred
    expected_files: int
    missing_files: int
    missing_by_kind: dict
    missing_examples: list
    problems: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {"ok": self.ok, **asdict(self)}


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


# ---------------------------------------------------------------- pure core

def count_labels(labels) -> tuple[int, int, int]:
    """(pass, defect, near-pass) counts of a label column exactly as TAO tests it (`!= 'PASS'`).

    `labels` is a pandas Series as the loader parsed it (NaN for empty cells)."""
    exact = labels.eq(PASS_LABEL) & labels.map(lambda v: isinstance(v, str))
    texts = labels.where(labels.map(lambda v: isinstance(v, str)), "").astype(str)
    near = (~exact) & texts.str.strip().str.upper().eq(PASS_LABEL)
    n_pass = int(exact.sum())
    return n_pass, int(len(labels) - n_pass), int(near.sum())

def missing_columns(header: list[str]) -> list[str]:
    present = {h.strip() for h in header}
    return [c for c in REQUIRED_COLUMNS if c not in present]


def _top_folder(relative: str) -> str | None:
    parts = [p for p in relative.replace("\\", "/").split("/") if p not in ("", ".")]
    return parts[0] if parts else None


def referenced_folders(rows: list[dict]) -> set[str]:
    """First path component of every input_path / golden_path (what images_dir must contain)."""
    names = set()
    for row in rows:
        for column in ("input_path", "golden_path"):
            top = _top_folder(row.get(column) or "")
            if top:
                names.add(top)
    return names


def choose_images_dir(candidates: dict[str, set[str]], wanted: set[str], split_dir: str) -> str:
    """Pick the candidate (folder holding golden/) whose entries cover every folder the CSV names.

    `candidates` maps a folder to its entry names."""
    if not candidates:
        raise UserError(f"no folder containing {GOLDEN_DIR}/ within {SEARCH_DEPTH} levels", file=split_dir,
                        fix=f"extract {TARBALL_NAME} into the split folder (mkdir -p {split_dir}/images && "
                            f"tar -xzf {split_dir}/{TARBALL_NAME} -C {split_dir}/images)")
    covering = [path for path, entries in candidates.items() if wanted <= entries]
    if len(covering) == 1:
        return covering[0]
    if len(covering) > 1:
        raise UserError(f"several folders hold {GOLDEN_DIR}/ and every folder {CSV_NAME} names: "
                        f"{', '.join(sorted(covering))}", file=split_dir,
                        fix="remove the stale copy, or set dataset.*.images_dir to the right one by hand")
    gaps = {path: sorted(wanted - entries) for path, entries in candidates.items()}
    detail = "; ".join(f"{path} lacks {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}"
                       for path, missing in sorted(gaps.items()))
    raise UserError(f"no folder holds {GOLDEN_DIR}/ plus every folder {CSV_NAME} names ({detail})",
                    file=split_dir, fix="check that the tarball extracted completely and that the CSV belongs to it")


def expected_files(rows: list[dict], lightings: list[str], image_ext: str) -> list[tuple[str, str]]:
    """(kind, relative path) of every image the container will open, deduplicated, in CSV order."""
    seen: dict[str, str] = {}
    for row in rows:
        name = (row.get("object_name") or "").strip()
        for kind, column in (("input", "input_path"), ("golden", "golden_path")):
            folder = (row.get(column) or "").strip().strip("/")
            for lighting in lightings:
                rel = f"{folder}/{name}_{lighting}{image_ext}" if folder else f"{name}_{lighting}{image_ext}"
                seen.setdefault(rel, kind)
    return [(kind, rel) for rel, kind in seen.items()]


def infer_lightings(rows: list[dict], listing: dict[str, list[str]]) -> tuple[list[str], str | None]:
    """Lightings and extension seen next to the first rows' objects.

    `listing` maps an input folder (as written in the CSV) to its file names. A lighting counts
    when it appears for at least half of the sampled rows (guards against object names that
    prefix other objects)."""
    per_row: list[set[tuple[str, str]]] = []
    for row in rows[:_INFER_SAMPLE_ROWS]:
        name = (row.get("object_name") or "").strip()
        folder = (row.get("input_path") or "").strip().strip("/")
        found = set()
        for file_name in listing.get(folder, []):
            stem, ext = os.path.splitext(file_name)
            if ext and stem.startswith(f"{name}_") and len(stem) > len(name) + 1:
                found.add((stem[len(name) + 1:], ext))
        per_row.append(found)
    counts = Counter(pair for found in per_row for pair in found)
    threshold = max(1, (len(per_row) + 1) // 2)
    common = [pair for pair, n in counts.items() if n >= threshold]
    if not common:
        return [], None
    ext = Counter(e for _, e in common).most_common(1)[0][0]
    return sorted(l for l, e in common if e == ext), ext


# ---------------------------------------------------------------- adapters

def read_csv_rows(csv_path: Path) -> list[dict]:
    if not csv_path.is_file():
        raise UserError(f"{CSV_NAME} not found", file=str(csv_path),
                        fix=f"pass the split folder that holds {CSV_NAME} next to the extracted {TARBALL_NAME}")
    with open(csv_path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        lacking = missing_columns(header)
        if lacking:
            raise UserError(f"missing column(s) {', '.join(lacking)} (found: {', '.join(header) or 'none'})",
                            file=str(csv_path), field=lacking[0],
                            fix=f"the CSV needs the header {','.join(REQUIRED_COLUMNS)}")
        rows = [{(k or "").strip(): (v or "") for k, v in row.items()} for row in reader]
    if not rows:
        raise UserError("no data rows", file=str(csv_path), fix="use the split's full dataset.csv")
    return rows


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


def _golden_candidates(split_dir: Path) -> dict[str, set[str]]:
    """Folders (up to SEARCH_DEPTH below split_dir) that contain golden/, with their entry names.
    A candidate's own subfolders are data, so the walk does not descend into them."""
    found: dict[str, set[str]] = {}
    frontier = [split_dir]
    for _ in range(SEARCH_DEPTH + 1):
        next_frontier = []
        for folder in frontier:
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            names = {e.name for e in entries}
            if any(e.name == GOLDEN_DIR and e.is_dir() for e in entries):
                found[str(folder)] = names
                continue
            next_frontier.extend(Path(e.path) for e in entries if e.is_dir() and not e.name.startswith("."))
        frontier = next_frontier
    return found


def find_images_dir(split_dir: str | os.PathLike) -> Path:
    """The folder to use as dataset.*.images_dir for an extracted split (handles images/images)."""
    split = _existing_split(split_dir)
    csv_path = split / CSV_NAME
    rows = read_csv_rows(csv_path) if csv_path.is_file() else []
    return _images_dir_for(split, rows)


def _existing_split(split_dir: str | os.PathLike) -> Path:
    if "://" in str(split_dir):
        raise UserError("a cloud split cannot be checked from here (only extracted local folders)",
                        file=str(split_dir), field="SPLIT_DIR",
                        fix="pass the URI straight to `tao-skills spec build` (the platform unpacks it), or "
                            f"download it, extract {TARBALL_NAME} and check that folder")
    split = Path(split_dir)
    if not split.is_dir():
        raise UserError("split folder not found", file=str(split),
                        fix=f"pass the folder holding {CSV_NAME} and the extracted {TARBALL_NAME}")
    return split


def _images_dir_for(split: Path, rows: list[dict]) -> Path:
    wanted = referenced_folders(rows) | {GOLDEN_DIR}
    return Path(choose_images_dir(_golden_candidates(split), wanted, str(split)))


class _Listings:
    """One os.listdir per folder, so checking N files costs O(folders) syscalls."""

    def __init__(self, root: Path):
        self.root = root
        self._cache: dict[str, set[str]] = {}

    def names(self, folder: str) -> set[str]:
        if folder not in self._cache:
            try:
                self._cache[folder] = set(os.listdir(self.root / folder))
            except OSError:
                self._cache[folder] = set()
        return self._cache[folder]

    def exists(self, relative: str) -> bool:
        folder, _, name = relative.rpartition("/")
        return name in self.names(folder)


def lightings_from_spec(spec_path: Path) -> tuple[list[str], str | None]:
    """dataset.input_map keys (YAML order) and dataset.image_ext of an OI spec or VCN train config."""
    from tao_skill_bank.oi.specdoc import load_yaml_file

    data = load_yaml_file(spec_path, "spec / train config")
    dataset = data.get("dataset") if isinstance(data.get("dataset"), dict) else {}
    for block, prefix in ((dataset, "dataset"), (dataset.get("classify") or {}, "dataset.classify")):
        if isinstance(block, dict) and "input_map" in block:
            input_map = block["input_map"]
            if not isinstance(input_map, dict) or not input_map:
                raise UserError(f"input_map must be a non-empty mapping {{lighting: index}}, got "
                                f"{type(input_map).__name__}", file=str(spec_path), field=f"{prefix}.input_map",
                                fix="write it as e.g. {LowAngleLight: 0, SolderLight: 1}")
            ext = block.get("image_ext")
            return [str(k) for k in input_map], (str(ext) if ext else None)
    raise UserError("no dataset.input_map", file=str(spec_path), field="dataset.input_map",
                    fix="pass --lightings A,B instead, or a spec that sets dataset.input_map")


def check_split(split_dir: str | os.PathLike, *, lightings: list[str] | None = None,
                image_ext: str | None = None, spec_path: Path | None = None) -> DatasetReport:
    split = _existing_split(split_dir)
    csv_path = split / CSV_NAME
    rows = read_csv_rows(csv_path)
    images_dir = _images_dir_for(split, rows)
    listings = _Listings(images_dir)

    lightings_source, ext_source = "--lightings", "--image-ext"
    spec_lightings, spec_ext = lightings_from_spec(spec_path) if spec_path else ([], None)
    if not lightings and spec_lightings:
        lightings, lightings_source = spec_lightings, "spec"
    if not image_ext and spec_ext:
        image_ext, ext_source = spec_ext, "spec"
    folders = {(r.get("input_path") or "").strip().strip("/") for r in rows[:_INFER_SAMPLE_ROWS]}
    seen_lightings, seen_ext = infer_lightings(rows, {f: sorted(listings.names(f)) for f in folders})
    if not lightings or not image_ext:
        if not lightings:
            lightings, lightings_source = seen_lightings, "inferred"
        if not image_ext:
            image_ext, ext_source = seen_ext, "inferred"
    if not lightings or not image_ext:
        raise UserError("cannot infer the lightings / image extension from the files next to the first rows",
                        file=str(images_dir), field="--lightings",
                        fix="pass --lightings A,B and --image-ext .png, or --spec with dataset.input_map")
    if not image_ext.startswith("."):
        raise UserError(f"image extension '{image_ext}' must start with a dot", field="--image-ext",
                        fix=f"use --image-ext .{image_ext}")

    wanted = expected_files(rows, lightings, image_ext)
    missing = [(kind, rel) for kind, rel in wanted if not listings.exists(rel)]
    by_kind = Counter(kind for kind, _ in missing)
    problems = []
    if missing:
        problems.append(f"{len(missing)} of {len(wanted)} image files missing "
                        f"(input {by_kind.get('input', 0)}, golden {by_kind.get('golden', 0)})")
    if wanted and len(missing) == len(wanted) and seen_lightings and (seen_lightings, seen_ext) != (lightings, image_ext):
        problems.append(f"no file exists for lightings {','.join(lightings)} / {image_ext}; the files on disk use "
                        f"--lightings {','.join(seen_lightings)} --image-ext {seen_ext}")
    empty = sum(1 for r in rows if not (r.get("object_name") or "").strip() or not (r.get("input_path") or "").strip())
    if empty:
        problems.append(f"{empty} rows with an empty input_path or object_name")
    labels = Counter((r.get("label") or "").strip().upper() for r in rows)
    return DatasetReport(
        split_dir=str(split), images_dir=str(images_dir), csv_path=str(csv_path),
        spec_values={"images_dir": str(images_dir), "csv_path": str(csv_path)},
        rows=len(rows), labels=dict(sorted(labels.items())), lightings=lightings,
        lightings_source=lightings_source, image_ext=image_ext, image_ext_source=ext_source,
        expected_files=len(wanted), missing_files=len(missing),
        missing_by_kind={"input": by_kind.get("input", 0), "golden": by_kind.get("golden", 0)},
        missing_examples=[str(images_dir / rel) for _, rel in missing[:MISSING_SHOWN]], problems=problems)

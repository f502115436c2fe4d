"""Differential: `dataset check --loader deploy` against TAO Deploy's real OpticalInspectionDataLoader.

Every generated variant is a small split on disk. The real loader (nvidia-tao-deploy, run in the
isolated oracle venv with OpenCV, which it imports for resizing) is constructed on it and asked
for every row; our checker must agree on whether the loader starts and on exactly which data rows
fail — and on why (TypeError = a non-text path part, FileNotFoundError = a missing image, PIL's
error = not an image, a shape error = not 3-band RGB). Policy refusals (escaping paths, near-PASS
labels) are ours alone: there the oracle loads and the test checks that we refuse anyway.
"""

from __future__ import annotations

import io
import json
import subprocess
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image

from tao_skill_bank.errors import UserError
from tao_skill_bank.oi.datasets import check_split

pytestmark = [pytest.mark.oracle, pytest.mark.slow]

LIGHTS = ["Low", "Solder"]
HEADER = ["input_path", "golden_path", "object_name", "label"]

DRIVER = r'''
import json, sys, types
from nvidia_tao_deploy.cv.optical_inspection.dataloader import OpticalInspectionDataLoader

def config(case):
    lights = case["lightings"]
    aug = types.SimpleNamespace(rgb_input_mean=[0.485, 0.456, 0.406], rgb_input_std=[0.229, 0.224, 0.225])
    return types.SimpleNamespace(num_input=len(lights) if lights else 1, concat_type="linear",
                                 input_map={l: i for i, l in enumerate(lights)} if lights else None,
                                 grid_map={"x": 2, "y": 2}, image_width=8, image_height=8,
                                 image_ext=case["image_ext"], augmentation_config=aug)

results = []
for case in json.load(open(sys.argv[1])):
    try:
        loader = OpticalInspectionDataLoader(csv_file=case["csv"], input_data_path=case["images_dir"],
                                             data_config=config(case), split=case["split"], batch_size=1)
    except Exception as exc:
        results.append({"starts": False, "error": type(exc).__name__, "failing": {}})
        continue
    failing = {}
    for index in range(len(loader.merged)):
        try:
            loader[index]
        except Exception as exc:
            failing[str(index)] = type(exc).__name__
    results.append({"starts": True, "rows": len(loader.merged), "failing": failing})
print(json.dumps(results))
'''

# oracle exception class -> the finding code that must name that row
REASONS = {"TypeError": "path_not_text", "FileNotFoundError": "image_missing", "IsADirectoryError": "image_missing",
           "UnidentifiedImageError": "image_unreadable", "ValueError": "image_not_rgb_for_deploy",
           "IndexError": "image_not_rgb_for_deploy", "KeyError": "missing_column"}


def image_bytes(mode: str = "RGB", fmt: str = "PNG", size=(6, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format=fmt)
    return buffer.getvalue()


@dataclass
class Variant:
    name: str
    rows: list = field(default_factory=lambda: [["boardA/C1", "golden/C1", "R1", "PASS"],
                                                ["boardA/C1", "golden/C1", "R2", "NO_PASS"],
                                                ["boardB/C7", "golden/C7", "U3", "PASS"],
                                                ["boardB/C7", "golden/C7", "U4", "DEFECT"]])
    header: list = field(default_factory=lambda: list(HEADER))
    lightings: list = field(default_factory=lambda: list(LIGHTS))
    image_ext: str = ".png"
    file_ext: str = ".png"
    mode: str = "RGB"
    fmt: str = "PNG"
    wrapper: bool = False
    split: str = "evaluate"
    policy: str | None = None           # a policy code we must raise although TAO loads
    files_for: list | None = None       # rows whose files to create (default: every row as written)
    tweak: object = None                # callable(images_dir, split_dir) run after the files exist
    csv_text: str | None = None         # raw CSV instead of header + rows


def build(variant: Variant, root: Path) -> Path:
    split = root / variant.name
    images = split / "images" / ("images" if variant.wrapper else "")
    images.mkdir(parents=True)
    data = image_bytes(variant.mode, variant.fmt)
    for row in variant.files_for if variant.files_for is not None else variant.rows:
        folder, golden, name = row[0], row[1], row[2]
        for lighting in variant.lightings or [None]:
            for base in (folder, golden):
                target = images / base / (name + (f"_{lighting}" if lighting else "") + variant.file_ext)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
    if variant.csv_text is not None:
        (split / "dataset.csv").write_text(variant.csv_text, encoding="utf-8")
    else:
        order = [HEADER.index(h) if h in HEADER else None for h in variant.header]
        lines = [",".join(variant.header)] + [",".join(r[i] if i is not None else "x" for i in order)
                                              for r in variant.rows]
        (split / "dataset.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if variant.tweak:
        variant.tweak(images, split)
    return split


def _gray_one(images: Path, split: Path) -> None:
    (images / "boardB/C7/U3_Solder.png").write_bytes(image_bytes("L"))


def _corrupt_one(images: Path, split: Path) -> None:
    (images / "golden/C1/R2_Low.png").write_bytes(b"\x89PNG but not really")


def _drop(rel: str):
    def tweak(images: Path, split: Path) -> None:
        (images / rel).unlink()
    return tweak


def _dir_instead(images: Path, split: Path) -> None:
    target = images / "boardA/C1/R1_Solder.png"
    target.unlink()
    target.mkdir()


def _dangling(images: Path, split: Path) -> None:
    target = images / "boardB/C7/U4_Low.png"
    target.unlink()
    target.symlink_to(images / "nowhere.png")


def _symlinked_ok(images: Path, split: Path) -> None:
    target = images / "boardB/C7/U4_Low.png"
    target.unlink()
    target.symlink_to(images / "boardB/C7/U3_Low.png")


def _mixed_ext(images: Path, split: Path) -> None:
    for image in (images / "boardB").rglob("U4_*.png"):
        image.rename(image.with_suffix(".jpg"))


def _suffixed_only(images: Path, split: Path) -> None:
    """Files carrying a lighting suffix, checked with input_map null (which wants plain names)."""
    for row in Variant("x").rows:
        for folder in (row[0], row[1]):
            target = images / folder / f"{row[2]}_Low.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(image_bytes())


def _outside_files(rel_from_split: str):
    """Real images outside images_dir where an escaping path points (TAO would open them)."""
    def tweak(images: Path, split: Path) -> None:
        for lighting in LIGHTS:
            target = split / rel_from_split / f"R1_{lighting}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(image_bytes())
    return tweak


def variants(tmp_path: Path) -> list[Variant]:
    base = Variant("base").rows

    def rows(*edits):
        """A copy of the base rows with {(row, column): value} edits."""
        changes = dict(edits)
        return [[changes.get((i, j), value) for j, value in enumerate(row)] for i, row in enumerate(base)]

    outside_abs = str(tmp_path / "abs_escape" / "outside_abs")
    nfd = unicodedata.normalize("NFD", "Ré")
    return [
        Variant("base"),
        Variant("wrapper_images_images", wrapper=True),
        Variant("golden_named_refs", rows=rows(((0, 1), "refs/C1"), ((1, 1), "refs/C1"))),
        Variant("leading_space_object_name", rows=rows(((1, 2), " R2")), files_for=base),
        Variant("trailing_space_input_path", rows=rows(((2, 0), "boardB/C7 ")), files_for=base),
        Variant("absolute_input_path_existing", rows=rows(((0, 0), outside_abs)), files_for=base,
                tweak=_outside_files(outside_abs), policy="path_escapes_images_dir"),
        Variant("dotdot_input_path_existing", rows=rows(((0, 0), "../outside_rel")), files_for=base,
                tweak=_outside_files("outside_rel"), policy="path_escapes_images_dir"),
        Variant("dotdot_staying_inside", rows=rows(((0, 0), "boardB/../boardA/C1")), files_for=base),
        Variant("near_pass_labels", rows=rows(((0, 3), "pass"), ((2, 3), " PASS")), policy="label_not_exact_pass"),
        Variant("all_digit_object_names", rows=rows(((0, 2), "0012"), ((1, 2), "13"), ((2, 2), "7"), ((3, 2), "8"))),
        Variant("some_digit_object_names", rows=rows(((0, 2), "0012"))),
        Variant("all_digit_input_folders", rows=rows(((0, 0), "100"), ((1, 0), "100"), ((2, 0), "200"),
                                                     ((3, 0), "200"))),
        Variant("float_like_object_names", rows=rows(((0, 2), "1.5"), ((1, 2), "2.5"), ((2, 2), "1e3"),
                                                     ((3, 2), "4.0"))),
        Variant("bool_like_input_folders", rows=rows(((0, 0), "True"), ((1, 0), "True"), ((2, 0), "False"),
                                                     ((3, 0), "False"))),
        Variant("na_word_object_name", rows=rows(((3, 2), "NA"))),
        Variant("empty_input_path_cell", rows=rows(((1, 0), "")), files_for=base),
        Variant("grayscale_images", mode="L"),
        Variant("rgba_images", mode="RGBA"),
        Variant("palette_images", mode="P"),
        Variant("la_images", mode="LA"),
        Variant("sixteen_bit_images", mode="I;16"),
        Variant("cmyk_jpeg_images", mode="CMYK", fmt="JPEG", image_ext=".jpg", file_ext=".jpg"),
        Variant("rgb_jpeg_images", fmt="JPEG", image_ext=".jpg", file_ext=".jpg"),
        Variant("one_grayscale_image", tweak=_gray_one),
        Variant("missing_golden_image", tweak=_drop("golden/C7/U4_Solder.png")),
        Variant("missing_input_one_lighting", tweak=_drop("boardA/C1/R1_Low.png")),
        Variant("directory_named_like_image", tweak=_dir_instead),
        Variant("dangling_symlink_image", tweak=_dangling),
        Variant("symlink_to_image_inside", tweak=_symlinked_ok),
        Variant("not_an_image", tweak=_corrupt_one),
        Variant("unicode_names", rows=rows(((0, 0), "carte_é/C1"), ((1, 0), "carte_é/C1"), ((0, 2), "Ré_1"),
                                           ((2, 1), "金/C7"), ((3, 1), "金/C7"))),
        Variant("unicode_nfd_in_csv_nfc_on_disk", rows=rows(((0, 2), nfd)),
                files_for=rows(((0, 2), unicodedata.normalize("NFC", nfd)))),
        Variant("spaces_inside_names", rows=rows(((0, 0), "board A/C 1"), ((1, 0), "board A/C 1"),
                                                 ((0, 2), "R 1"))),
        Variant("extra_columns", header=HEADER + ["note", "score"]),
        Variant("wrong_column_order", header=["label", "object_name", "golden_path", "input_path"]),
        Variant("mixed_extensions", tweak=_mixed_ext),
        Variant("image_ext_without_dot", image_ext="png"),
        Variant("upper_case_extension_on_disk", file_ext=".PNG"),
        Variant("input_map_null", lightings=[]),
        Variant("input_map_null_suffixed_files", lightings=[], files_for=[], tweak=_suffixed_only),
        Variant("object_name_with_subfolder", rows=rows(((0, 2), "sub/R1"))),
        Variant("header_only", rows=[]),
        Variant("empty_csv", csv_text=""),
        Variant("missing_label_inference", header=HEADER[:3], split="inference"),
        Variant("missing_label_evaluate", header=HEADER[:3], split="evaluate"),
        Variant("missing_object_name_column", header=["input_path", "golden_path", "label"]),
        Variant("crlf_and_bom", csv_text="\ufeff" + "\r\n".join([",".join(HEADER)] + [",".join(r) for r in base])
                + "\r\n"),
        Variant("blank_lines", csv_text="\n".join([",".join(HEADER), ",".join(base[0]), "", ",".join(base[1]), "",
                                                   ",".join(base[2]), ",".join(base[3])]) + "\n"),
        Variant("quoted_comma_in_name", rows=rows(((0, 2), '"R,1"')), files_for=rows(((0, 2), "R,1"))),
        Variant("too_many_fields_in_a_row", csv_text="\n".join([",".join(HEADER), ",".join(base[0]),
                                                                ",".join(base[1] + ["extra"])]) + "\n"),
        Variant("inference_split_all_good", split="inference"),
        Variant("non_square_images", tweak=lambda images, split: [
            p.write_bytes(image_bytes(size=(5, 9))) for p in images.rglob("*.png")]),
    ]


def run_oracle(python: Path, cases: list[dict], tmp_path: Path) -> list[dict]:
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    spec = tmp_path / "cases.json"
    spec.write_text(json.dumps(cases))
    out = subprocess.run([str(python), str(driver), str(spec)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def ours(variant: Variant, split: Path):
    try:
        return check_split(split, lightings=list(variant.lightings), image_ext=variant.image_ext,
                           action=variant.split, loader="deploy", image_sample=0)
    except UserError as exc:
        return exc


def test_deploy_loader_agrees_on_every_variant(tmp_path):
    from oi.oracle import oi_loader_oracle_python

    python = oi_loader_oracle_python()
    all_variants = variants(tmp_path)
    assert len(all_variants) >= 30 and len({v.name for v in all_variants}) == len(all_variants)
    splits = {v.name: build(v, tmp_path / "variants") for v in all_variants}
    verdicts = {v.name: ours(v, splits[v.name]) for v in all_variants}
    cases = []
    for v in all_variants:
        verdict = verdicts[v.name]
        images_dir = verdict.images_dir if not isinstance(verdict, UserError) else str(splits[v.name] / "images")
        cases.append({"csv": str(splits[v.name] / "dataset.csv"), "images_dir": images_dir,
                      "lightings": v.lightings, "image_ext": v.image_ext, "split": v.split})
    results = run_oracle(python, cases, tmp_path)

    disagreements = []
    for v, real in zip(all_variants, results):
        verdict = verdicts[v.name]
        failing = sorted(int(i) for i in real["failing"])
        if isinstance(verdict, UserError):
            # we refuse the whole split: the real loader must not start, or fail on every row
            if real["starts"] and failing != list(range(real["rows"])):
                disagreements.append(f"{v.name}: we refuse ({verdict.message}) but TAO loads rows "
                                     f"{sorted(set(range(real['rows'])) - set(failing))}")
            continue
        if verdict.loads["deploy"] != real["starts"]:
            disagreements.append(f"{v.name}: starts ours={verdict.loads['deploy']} TAO={real['starts']} "
                                 f"({real.get('error')})")
            continue
        if verdict.failing_rows["deploy"] != failing:
            disagreements.append(f"{v.name}: failing rows ours={verdict.failing_rows['deploy']} TAO={failing} "
                                 f"{real['failing']}")
            continue
        rows_by_code: dict[str, set[int]] = {}
        for finding in verdict.findings:
            if finding.loader in ("deploy", "both"):
                rows_by_code.setdefault(finding.rule, set()).update(finding.rows)
        for index, error in real["failing"].items():
            code = REASONS.get(error)
            if code is None or int(index) not in rows_by_code.get(code, set()):
                disagreements.append(f"{v.name}: row {index} fails in TAO with {error}; our findings "
                                     f"{ {c: sorted(r) for c, r in rows_by_code.items()} }")
        if v.policy is not None:
            assert real["starts"] and not failing, f"{v.name}: the policy case must load in TAO"
            assert v.policy in {f.rule for f in verdict.errors}, f"{v.name}: we must refuse with {v.policy}"
    assert not disagreements, "\n".join(disagreements)
    print(f"deploy loader differential: {len(all_variants)} variants agree")

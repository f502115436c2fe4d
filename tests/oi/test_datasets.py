import io
import tarfile
from pathlib import Path

import pytest

from support import assert_one_line_error, run_cli
from tao_skill_bank.errors import UserError
from tao_skill_bank.oi.datasets import (check_split, choose_images_dir, expected_files, find_images_dir,
                                        infer_lightings, lightings_from_spec, missing_columns)

LIGHTINGS = ["LowAngleLight", "SolderLight"]
ROWS = [("boardA/C1", "golden/C1", "R1", "PASS"), ("boardA/C1", "golden/C1", "R2", "NO_PASS"),
        ("boardB/C7", "golden/C7", "U3", "PASS")]
HEADER = "input_path,golden_path,object_name,label\n"


def fake_split(root: Path, *, wrapper: bool = True, skip: tuple[str, ...] = (), ext: str = ".png") -> Path:
    """A split as the validation tarballs unpack: images.tar.gz holding images/<folders>, extracted
    into <split>/images (so the data sits in images/images), plus dataset.csv."""
    root.mkdir(parents=True)
    tar_path = root / "images.tar.gz"
    prefix = "images/" if wrapper else ""
    with tarfile.open(tar_path, "w:gz") as tar:
        for input_path, golden_path, name, _ in ROWS:
            for lighting in LIGHTINGS:
                for folder in (input_path, golden_path):
                    rel = f"{folder}/{name}_{lighting}{ext}"
                    if rel in skip:
                        continue
                    info = tarfile.TarInfo(prefix + rel)
                    info.size = 3
                    tar.addfile(info, io.BytesIO(b"img"))
    with tarfile.open(tar_path) as tar:
        tar.extractall(root / "images")
    (root / "dataset.csv").write_text(HEADER + "".join(",".join(r) + "\n" for r in ROWS))
    return root


def test_wrapper_folder_is_found(tmp_path):
    split = fake_split(tmp_path / "train")
    assert find_images_dir(split) == split / "images" / "images"


def test_no_wrapper(tmp_path):
    split = fake_split(tmp_path / "train", wrapper=False)
    assert find_images_dir(split) == split / "images"


def test_unextracted_tarball_says_how_to_extract(tmp_path):
    split = tmp_path / "s"
    split.mkdir()
    (split / "images.tar.gz").write_bytes(b"x")
    (split / "dataset.csv").write_text(HEADER + "boardA/C1,golden/C1,R1,PASS\n")
    with pytest.raises(UserError, match="tar -xzf"):
        find_images_dir(split)


def test_choose_images_dir_needs_every_csv_folder():
    candidates = {"/s/images": {"golden", "images"}, "/s/images/images": {"golden", "boardA", "boardB"}}
    assert choose_images_dir(candidates, {"golden", "boardA", "boardB"}, "/s") == "/s/images/images"
    with pytest.raises(UserError, match="lacks boardC"):
        choose_images_dir(candidates, {"golden", "boardC"}, "/s")
    with pytest.raises(UserError, match="several folders"):
        choose_images_dir({"/a": {"golden", "x"}, "/b": {"golden", "x"}}, {"golden", "x"}, "/s")


def test_missing_columns_pure():
    assert missing_columns(["input_path", "golden_path", "object_name", "label"]) == []
    assert missing_columns(["input_path", "label"]) == ["golden_path", "object_name"]


def test_expected_files_dedupes_golden():
    rows = [dict(zip(["input_path", "golden_path", "object_name", "label"], r)) for r in ROWS]
    files = expected_files(rows, LIGHTINGS, ".png")
    # 3 inputs x 2 lightings + 3 goldens x 2 lightings (R1 and R2 share golden/C1 but differ in name)
    assert len(files) == 12
    assert ("golden", "golden/C7/U3_SolderLight.png") in files


def test_infer_lightings_majority():
    rows = [{"input_path": "a", "object_name": "R1"}, {"input_path": "a", "object_name": "R2"}]
    listing = {"a": ["R1_Low.png", "R1_High.png", "R2_Low.png", "R2_High.png", "R1_X_extra.jpg"]}
    assert infer_lightings(rows, listing) == (["High", "Low"], ".png")


def test_check_split_all_present(tmp_path):
    split = fake_split(tmp_path / "train")
    report = check_split(split)
    assert report.ok
    assert (report.lightings, report.lightings_source, report.image_ext) == (LIGHTINGS, "inferred", ".png")
    assert report.expected_files == 12 and report.missing_files == 0
    assert report.labels == {"NO_PASS": 1, "PASS": 2}
    assert report.spec_values == {"images_dir": str(split / "images" / "images"),
                                  "csv_path": str(split / "dataset.csv")}


def test_check_split_reports_missing_counts_and_examples(tmp_path):
    split = fake_split(tmp_path / "train", skip=("boardB/C7/U3_SolderLight.png", "golden/C1/R1_LowAngleLight.png"))
    report = check_split(split, lightings=LIGHTINGS, image_ext=".png")
    assert not report.ok
    assert report.missing_files == 2 and report.missing_by_kind == {"input": 1, "golden": 1}
    assert report.missing_examples[0].endswith("golden/C1/R1_LowAngleLight.png")


def test_lightings_from_spec_order_and_list_refused(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("dataset:\n  image_ext: .png\n  input_map:\n    SolderLight: 0\n    LowAngleLight: 1\n")
    assert lightings_from_spec(spec) == (["SolderLight", "LowAngleLight"], ".png")
    spec.write_text("dataset:\n  input_map: [a, b]\n")
    with pytest.raises(UserError, match="dataset.input_map"):
        lightings_from_spec(spec)


def test_cli_json_uses_spec_lightings(tmp_path):
    split = fake_split(tmp_path / "train", ext=".jpg")
    spec = tmp_path / "spec.yaml"
    spec.write_text("dataset:\n  image_ext: .jpg\n  input_map:\n    LowAngleLight: 0\n")
    result = run_cli("dataset", "check", split, "--spec", spec, "--json")
    assert result.code == 0, result.stderr
    data = result.json()
    assert data["ok"] and data["lightings"] == ["LowAngleLight"] and data["lightings_source"] == "spec"
    assert data["expected_files"] == 6
    assert data["spec_values"]["images_dir"] == str(split / "images" / "images")


def test_cli_missing_files_exit_3_with_text(tmp_path):
    split = fake_split(tmp_path / "train", skip=("boardA/C1/R2_SolderLight.png",))
    result = run_cli("dataset", "check", split, "--lightings", ",".join(LIGHTINGS))
    assert result.code == 3
    assert "images: 11/12 present" in result.stdout
    assert "boardA/C1/R2_SolderLight.png" in result.stdout


def test_cli_bad_columns_one_line(tmp_path):
    split = fake_split(tmp_path / "train")
    (split / "dataset.csv").write_text("input,golden,name,label\nboardA/C1,golden/C1,R1,PASS\n")
    assert_one_line_error(run_cli("dataset", "check", split), "dataset.csv", "input_path")


def test_cli_wrong_lightings_names_the_ones_on_disk(tmp_path):
    split = fake_split(tmp_path / "train")
    result = run_cli("dataset", "check", split, "--lightings", "Top", "--json")
    assert result.code == 3
    assert "--lightings LowAngleLight,SolderLight --image-ext .png" in " ".join(result.json()["problems"])


def test_cli_no_files_to_infer_from_is_one_line(tmp_path):
    split = fake_split(tmp_path / "train")
    for image in (split / "images" / "images" / "boardA").rglob("*.png"):
        image.unlink()
    assert_one_line_error(run_cli("dataset", "check", split), "--lightings")


def test_cli_uri_is_refused_with_the_uri_intact():
    result = run_cli("dataset", "check", "s3://bucket/aoi/train")
    assert_one_line_error(result, "s3://bucket/aoi/train", "spec build")


# ---------------------------------------------------------------- count_split (rows and classes as TAO counts them)

def test_count_split_is_case_sensitive_like_tao(tmp_path):
    from tao_skill_bank.oi.datasets import count_split

    csv_path = tmp_path / "dataset.csv"
    csv_path.write_text(HEADER + "a,g,R1,PASS\na,g,R2,pass\na,g,R3, PASS\na,g,R4,NO_PASS\na,g,R5,\n\na,g,007,Pass\n")
    counts = count_split(csv_path)
    # blank lines are not rows (pandas); 'pass', ' PASS', 'Pass' and an empty label are defects to TAO
    assert (counts.rows, counts.pass_rows, counts.defect_rows, counts.near_pass_rows) == (6, 1, 5, 3)


def test_count_split_skips_what_is_not_local(tmp_path):
    from tao_skill_bank.oi.datasets import count_split

    assert count_split("s3://bucket/train/dataset.csv") is None
    assert count_split(tmp_path / "absent.csv") is None
    assert count_split("") is None and count_split(None) is None


def test_count_split_bad_files_are_one_line_errors(tmp_path):
    from tao_skill_bank.oi.datasets import count_split

    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(UserError, match="empty CSV"):
        count_split(empty)
    no_label = tmp_path / "nolabel.csv"
    no_label.write_text("input_path,golden_path,object_name\na,g,R1\n")
    with pytest.raises(UserError, match="no 'label' column") as info:
        count_split(no_label)
    assert "\n" not in info.value.one_line()

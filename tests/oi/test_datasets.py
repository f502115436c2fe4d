import io
import json
import os
import tarfile
from pathlib import Path

import pytest
import yaml
from PIL import Image

from support import REPO_ROOT, assert_one_line_error, run_cli
from tao_skill_bank.errors import UserError
from tao_skill_bank.oi.datasets import (TEMPLATE_BATCH_SIZE, check_split, choose_images_dir, find_images_dir,
                                        infer_lightings, join_paths, lightings_from_spec, missing_columns)

LIGHTINGS = ["LowAngleLight", "SolderLight"]
ROWS = [("boardA/C1", "golden/C1", "R1", "PASS"), ("boardA/C1", "golden/C1", "R2", "NO_PASS"),
        ("boardB/C7", "golden/C7", "U3", "PASS")]
HEADER = "input_path,golden_path,object_name,label\n"


def png_bytes(mode: str = "RGB", fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (4, 4)).save(buffer, format=fmt)
    return buffer.getvalue()


def fake_split(root: Path, *, wrapper: bool = True, skip: tuple[str, ...] = (), ext: str = ".png",
               rows=ROWS, lightings=LIGHTINGS, mode: str = "RGB") -> Path:
    """A split as the validation tarballs unpack: images.tar.gz holding images/<folders>, extracted
    into <split>/images (so the data sits in images/images), plus dataset.csv."""
    root.mkdir(parents=True)
    tar_path = root / "images.tar.gz"
    prefix = "images/" if wrapper else ""
    data = png_bytes(mode)
    with tarfile.open(tar_path, "w:gz") as tar:
        for input_path, golden_path, name, _ in rows:
            for lighting in (lightings or [None]):
                for folder in (input_path, golden_path):
                    rel = f"{folder}/{name}" + (f"_{lighting}" if lighting else "") + ext
                    if rel in skip:
                        continue
                    info = tarfile.TarInfo(prefix + rel)
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
    with tarfile.open(tar_path) as tar:
        tar.extractall(root / "images", filter="data")
    write_csv(root, rows)
    return root


def write_csv(root: Path, rows, header: str = HEADER) -> Path:
    (root / "dataset.csv").write_text(header + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    return root / "dataset.csv"


def codes(report, severity=None):
    return {f.rule for f in report.findings if severity is None or f.severity == severity}


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
    candidates = {"/s/images": {"images"}, "/s/images/images": {"golden", "boardA", "boardB"}}
    assert choose_images_dir(candidates, {"golden", "boardA", "boardB"}, "/s") == "/s/images/images"
    with pytest.raises(UserError, match="lacks boardC"):
        choose_images_dir(candidates, {"golden", "boardC"}, "/s")
    with pytest.raises(UserError, match="several folders"):
        choose_images_dir({"/a": {"golden", "x"}, "/b": {"golden", "x"}}, {"golden", "x"}, "/s")


def test_missing_columns_are_exact_names():
    assert missing_columns(["input_path", "golden_path", "object_name", "label"]) == []
    assert missing_columns(["input_path", "label"]) == ["golden_path", "object_name"]
    assert missing_columns(["input_path", "golden_path", "object_name", " label"]) == ["label"]


@pytest.mark.parametrize("base, part", [("/d", "a"), ("/d/", "a"), ("/d", "/abs"), ("/d", "a/"), ("/d", " a"),
                                        ("/d", "a b/c"), ("/d", "../x"), ("/d", "é/ü"), ("/d", "./a"), ("/", "a")])
def test_join_paths_is_os_path_join(base, part):
    import pandas as pd

    assert join_paths(base, pd.Series([part], dtype=object))[0] == os.path.join(base, part)
    assert join_paths(pd.Series([base], dtype=object), pd.Series([part], dtype=object))[0] == os.path.join(base, part)


def test_infer_lightings_majority_and_single_image():
    import pandas as pd

    frame = pd.DataFrame({"input_path": ["a", "a"], "object_name": ["R1", "R2"]})
    listing = {"a": ["R1_Low.png", "R1_High.png", "R2_Low.png", "R2_High.png", "R1_X_extra.jpg"]}
    assert infer_lightings(frame, listing) == (["High", "Low"], ".png")
    assert infer_lightings(frame, {"a": ["R1.jpg", "R2.jpg"]}) == ([], ".jpg")     # input_map null
    assert infer_lightings(frame, {"a": []}) == (None, None)


def test_check_split_all_present(tmp_path):
    split = fake_split(tmp_path / "train")
    report = check_split(split)
    assert report.ok, report.findings
    assert (report.lightings, report.lightings_source, report.image_ext) == (LIGHTINGS, "inferred", ".png")
    assert report.expected_files == 12 and report.missing_files == 0
    assert report.labels == {"NO_PASS": 1, "PASS": 2} and (report.pass_rows, report.defect_rows) == (2, 1)
    assert report.spec_values == {"images_dir": str(split / "images" / "images"),
                                  "csv_path": str(split / "dataset.csv")}
    assert report.failing_rows == {"pytorch": [], "deploy": []} and report.images_checked == 12


def test_check_split_reports_missing_counts_and_rows(tmp_path):
    split = fake_split(tmp_path / "train", skip=("boardB/C7/U3_SolderLight.png", "golden/C1/R1_LowAngleLight.png"))
    report = check_split(split, lightings=LIGHTINGS, image_ext=".png")
    assert not report.ok and "image_missing" in codes(report, "error")
    assert report.missing_files == 2 and report.missing_by_kind == {"input": 1, "golden": 1}
    assert report.missing_examples[0].endswith("golden/C1/R1_LowAngleLight.png")
    assert report.failing_rows["pytorch"] == [0, 2]


def test_golden_folder_may_have_any_name(tmp_path):
    rows = [("boardA/C1", "reference_boards/C1", "R1", "PASS"), ("boardA/C1", "reference_boards/C1", "R2", "NO_PASS")]
    split = fake_split(tmp_path / "train", rows=rows)
    assert find_images_dir(split) == split / "images" / "images"
    report = check_split(split, action="train", batch_size=2)
    assert report.ok, [f.one_line() for f in report.findings]


def test_leading_space_is_not_stripped_and_the_hint_says_so(tmp_path):
    split = fake_split(tmp_path / "train")
    write_csv(split, [("boardA/C1", "golden/C1", " R1", "PASS")] + ROWS[1:])
    report = check_split(split, lightings=LIGHTINGS, image_ext=".png")
    assert report.failing_rows["pytorch"] == [0]
    missing = next(f for f in report.findings if f.rule == "image_missing")
    assert "does not strip" in missing.message and "' R1'" not in missing.message


@pytest.mark.parametrize("input_path", ["/abs/boardA/C1", "../outside/C1", "boardA/../../x"])
def test_escaping_input_path_is_refused(tmp_path, input_path):
    split = fake_split(tmp_path / "train")
    write_csv(split, [(input_path, "golden/C1", "R1", "PASS")] + ROWS[1:])
    report = check_split(split, lightings=LIGHTINGS, image_ext=".png")
    escape = next(f for f in report.findings if f.rule == "path_escapes_images_dir")
    assert escape.severity == "error" and escape.rows == (0,) and escape.loader == "policy"


def test_dot_dot_that_stays_inside_is_fine(tmp_path):
    split = fake_split(tmp_path / "train")
    write_csv(split, [("boardB/../boardA/C1", "golden/C1", "R1", "PASS")] + ROWS[1:])
    report = check_split(split, lightings=LIGHTINGS, image_ext=".png")
    assert report.ok, [f.one_line() for f in report.findings]


@pytest.mark.parametrize("action, severity", [("train", "error"), ("evaluate", "error"), ("validation", "error"),
                                              ("inference", "warning"), (None, "warning")])
def test_near_pass_labels_are_defects_to_tao(tmp_path, action, severity):
    rows = [("boardA/C1", "golden/C1", "R1", "pass"), ("boardA/C1", "golden/C1", "R2", "NO_PASS"),
            ("boardB/C7", "golden/C7", "U3", "PASS")]
    split = fake_split(tmp_path / "train", rows=rows)
    report = check_split(split, action=action, batch_size=2)
    finding = next(f for f in report.findings if f.rule == "label_not_exact_pass")
    assert finding.severity == severity and finding.count == 1
    assert report.labels == {"NO_PASS": 1, "PASS": 1, "pass": 1} and report.pass_rows == 1


def test_all_digit_object_names_fail_only_in_deploy(tmp_path):
    rows = [("boardA/C1", "golden/C1", "0012", "PASS"), ("boardA/C1", "golden/C1", "0013", "NO_PASS")]
    split = fake_split(tmp_path / "train", rows=rows)
    report = check_split(split, action="evaluate", batch_size=2)
    assert report.ok and report.failing_rows == {"pytorch": [], "deploy": [0, 1]}
    warning = next(f for f in report.findings if f.rule == "path_not_text")
    assert warning.severity == "warning" and warning.loader == "deploy" and "all-digit" in warning.message
    deploy = check_split(split, action="evaluate", loader="deploy")
    assert not deploy.ok and "path_not_text" in codes(deploy, "error")


def test_all_digit_folders_fail_in_both_loaders(tmp_path):
    # the PyTorch data module types only object_name as text: an all-digit input_path column is read as
    # numbers by both loaders, and os.path.join raises TypeError
    rows = [("100", "golden/C1", "R1", "PASS"), ("100", "golden/C1", "R2", "NO_PASS")]
    split = fake_split(tmp_path / "train", rows=rows)
    report = check_split(split, lightings=LIGHTINGS, image_ext=".png", action="evaluate", batch_size=2)
    assert "path_not_text" in codes(report, "error") and report.failing_rows == {"pytorch": [0, 1], "deploy": [0, 1]}


def test_grayscale_images_fail_only_in_deploy(tmp_path):
    split = fake_split(tmp_path / "train", mode="L")
    report = check_split(split, action="evaluate", batch_size=2)
    assert report.ok and report.image_modes == {"L": 12}
    assert next(f for f in report.findings if f.rule == "image_not_rgb_for_deploy").severity == "warning"
    deploy = check_split(split, action="inference", loader="deploy")
    assert "image_not_rgb_for_deploy" in codes(deploy, "error") and deploy.failing_rows["deploy"] == [0, 1, 2]


def test_not_an_image_fails_both_loaders(tmp_path):
    split = fake_split(tmp_path / "train")
    (split / "images/images/boardA/C1/R2_SolderLight.png").write_bytes(b"not a png")
    report = check_split(split)
    assert "image_unreadable" in codes(report, "error") and report.failing_rows == {"pytorch": [1], "deploy": [1]}


def test_a_directory_named_like_an_image_is_missing(tmp_path):
    split = fake_split(tmp_path / "train", skip=("boardA/C1/R1_SolderLight.png",))
    (split / "images/images/boardA/C1/R1_SolderLight.png").mkdir()
    assert check_split(split, lightings=LIGHTINGS, image_ext=".png").failing_rows["pytorch"] == [0]


def test_input_map_null_means_one_image_per_row(tmp_path):
    split = fake_split(tmp_path / "train", lightings=[])
    spec = tmp_path / "spec.yaml"
    spec.write_text("dataset:\n  image_ext: .png\n  input_map: null\n")
    for report in (check_split(split, spec_path=spec), check_split(split, lightings=[], image_ext=".png"),
                   check_split(split)):
        assert report.ok and report.lightings == [] and report.expected_files == 6
    assert check_split(split, lightings=[], image_ext=".png").lightings_source == "--no-input-map"
    # a spec with lightings against single-image files: every file missing
    assert not check_split(split, lightings=["Low"], image_ext=".png").ok


def test_image_ext_without_dot_finds_nothing_and_says_why(tmp_path):
    split = fake_split(tmp_path / "train")
    report = check_split(split, lightings=LIGHTINGS, image_ext="png")
    assert report.missing_files == 12 and "lacks its dot" in " ".join(report.problems)


def test_nan_and_na_words_are_not_text(tmp_path):
    split = fake_split(tmp_path / "train")
    write_csv(split, [("", "golden/C1", "R1", "PASS"), ("boardA/C1", "golden/C1", "NA", "NO_PASS"), ROWS[2]])
    report = check_split(split, lightings=LIGHTINGS, image_ext=".png")
    assert report.failing_rows["pytorch"] == [0, 1] and "path_not_text" in codes(report, "error")


def test_unicode_spaces_extra_columns_and_column_order(tmp_path):
    rows = [("carte é/C1", "golden ü/C1", "R 1", "PASS"), ("carte é/C1", "golden ü/C1", "R2", "NO_PASS")]
    split = fake_split(tmp_path / "train", rows=rows)
    (split / "dataset.csv").write_text("label,object_name,extra,golden_path,input_path\n" + "".join(
        f"{r[3]},{r[2]},x,{r[1]},{r[0]}\n" for r in rows), encoding="utf-8")
    report = check_split(split, action="train", batch_size=2)
    assert report.ok, [f.one_line() for f in report.findings]


def test_mixed_extensions_fail_the_rows_with_the_other_extension(tmp_path):
    split = fake_split(tmp_path / "train")
    for image in (split / "images/images/boardB").rglob("*.png"):
        image.rename(image.with_suffix(".jpg"))
    report = check_split(split, lightings=LIGHTINGS, image_ext=".png")
    assert report.failing_rows["pytorch"] == [2]


@pytest.mark.parametrize("rows, code", [
    ([("boardA/C1", "golden/C1", "R1", "PASS"), ("boardB/C7", "golden/C7", "U3", "PASS")], "train_no_defect_rows"),
    ([("boardA/C1", "golden/C1", "R2", "NO_PASS"), ("boardA/C1", "golden/C1", "R1", "Pass")], "train_no_pass_rows"),
])
def test_train_needs_both_classes(tmp_path, rows, code):
    split = fake_split(tmp_path / "train", rows=rows)
    report = check_split(split, action="train", batch_size=2)
    assert code in codes(report, "error") and not report.loads["pytorch"]
    # the same split is fine to evaluate
    assert code not in codes(check_split(split, action="evaluate", batch_size=2))


def test_rows_below_the_total_batch(tmp_path):
    split = fake_split(tmp_path / "train")
    report = check_split(split, action="evaluate")                    # template batch 8 > 3 rows
    finding = next(f for f in report.findings if f.rule == "rows_below_batch")
    assert "Dataset size (3) is smaller than the total batch size (8)" in finding.message
    assert report.batch_size_source == "the train template"
    assert check_split(split, action="evaluate", batch_size=3).ok
    assert "rows_below_batch" in codes(check_split(split, action="evaluate", batch_size=2, num_gpus=2))
    spec = tmp_path / "spec.yaml"
    spec.write_text("dataset:\n  batch_size: 2\n  image_ext: .png\n  input_map: {LowAngleLight: 0, SolderLight: 1}\n"
                    "train:\n  num_gpus: 1\n")
    assert check_split(split, action="train", spec_path=spec).ok
    assert "train_batch_size_1" in codes(check_split(split, action="train", batch_size=1))
    # Deploy evaluate runs batch 1: no batch rule there
    assert "rows_below_batch" not in codes(check_split(split, action="evaluate", loader="deploy"))


def test_template_batch_size_is_the_train_templates():
    template = yaml.safe_load((REPO_ROOT / "skills/tao-train-optical-inspection/references/"
                                           "spec_template_train.yaml").read_text())
    assert template["dataset"]["batch_size"] == TEMPLATE_BATCH_SIZE


def test_header_only_and_missing_label_column(tmp_path):
    split = fake_split(tmp_path / "train")
    write_csv(split, [])
    report = check_split(split, lightings=LIGHTINGS, image_ext=".png")
    assert "no_rows" in codes(report, "error") and report.loads == {"pytorch": False, "deploy": False}
    write_csv(split, [r[:3] for r in ROWS], header="input_path,golden_path,object_name\n")
    assert "missing_column" in codes(check_split(split, action="inference", loader="deploy"), "warning") or \
        check_split(split, action="inference", loader="deploy").ok     # Deploy inference reads no label
    assert check_split(split, action="inference", loader="deploy").failing_rows["deploy"] == []
    pytorch = check_split(split, action="inference", batch_size=1)
    assert "missing_column" in codes(pytorch, "error") and pytorch.failing_rows["pytorch"] == [0, 1, 2]


def test_lightings_from_spec_order_null_and_list_refused(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("dataset:\n  image_ext: .png\n  input_map:\n    SolderLight: 0\n    LowAngleLight: 1\n")
    assert lightings_from_spec(spec)[:2] == (["SolderLight", "LowAngleLight"], ".png")
    spec.write_text("dataset:\n  input_map: null\n")
    assert lightings_from_spec(spec)[0] == []
    spec.write_text("dataset:\n  image_ext: .png\n")
    assert lightings_from_spec(spec)[:2] == (None, ".png")
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
    assert data["expected_files"] == 6 and data["errors"] == [] and data["n_failing_rows"] == {"pytorch": 0, "deploy": 0}
    assert data["spec_values"]["images_dir"] == str(split / "images" / "images")


def test_cli_findings_are_one_line_each(tmp_path):
    rows = [("boardA/C1", "golden/C1", "R1", "Pass"), ("boardA/C1", "golden/C1", "R2", "NO_PASS"), ROWS[2]]
    split = fake_split(tmp_path / "train", rows=rows, skip=("boardA/C1/R2_SolderLight.png",))
    result = run_cli("dataset", "check", split, "--action", "train", "--batch-size", "2")
    assert result.code == 3
    lines = result.stdout.splitlines()
    assert "images: 11/12 present" in result.stdout
    assert any("error: " in l and "[label_not_exact_pass]" in l and "— fix:" in l for l in lines)
    assert any("[image_missing]" in l and l.startswith("error: ") and "R2_SolderLight.png" in l for l in lines)
    data = run_cli("dataset", "check", split, "--action", "train", "--batch-size", "2", "--json").json()
    assert {f["rule"] for f in data["findings"] if f["severity"] == "error"} == {"label_not_exact_pass", "image_missing"}
    assert all("\n" not in line for line in data["errors"] + data["warnings"])


def test_cli_bad_columns_one_line(tmp_path):
    split = fake_split(tmp_path / "train")
    (split / "dataset.csv").write_text("input,golden,name,label\nboardA/C1,golden/C1,R1,PASS\n")
    assert_one_line_error(run_cli("dataset", "check", split), "dataset.csv")


def test_cli_empty_csv_one_line(tmp_path):
    split = fake_split(tmp_path / "train")
    (split / "dataset.csv").write_text("")
    assert_one_line_error(run_cli("dataset", "check", split), "empty CSV")


def test_cli_wrong_lightings_fail(tmp_path):
    split = fake_split(tmp_path / "train")
    result = run_cli("dataset", "check", split, "--lightings", "Top", "--json")
    assert result.code == 3 and result.json()["missing_files"] == 6


def test_cli_deploy_refuses_train(tmp_path):
    split = fake_split(tmp_path / "train")
    assert_one_line_error(run_cli("dataset", "check", split, "--loader", "deploy", "--action", "train"), "--action")


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

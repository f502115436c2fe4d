"""`tao-skills spec validate|build` end to end, as an agent calls them."""

import yaml

from support import REPO_ROOT, assert_one_line_error, run_cli

SKILL = "tao-train-optical-inspection"
TEMPLATES = REPO_ROOT / "skills" / SKILL / "references"


def _split(root, name):
    images = root / name / "images" / "images"
    for folder in ("golden", "boardA"):
        (images / folder).mkdir(parents=True)
        (images / folder / "C1_WhiteLight.jpg").write_bytes(b"jpg")
    rows = "boardA,golden,C1,PASS\nboardA,golden,C1,PASS\nboardA,golden,C1,bridge\n"   # both classes, 3 rows
    (root / name / "dataset.csv").write_text("input_path,golden_path,object_name,label\n" + rows)
    return root / name


def test_validate_template_mode_passes_and_submit_mode_lists_placeholders():
    ok = run_cli("spec", "validate", TEMPLATES / "spec_template_train.yaml", "--skill", SKILL,
                 "--action", "train", "--mode", "template", "--json")
    assert ok.code == 0 and ok.json()["valid"] is True and ok.json()["issues"] == []
    bad = run_cli("spec", "validate", TEMPLATES / "spec_template_train.yaml", "--skill", SKILL, "--action", "train", "--json")
    assert bad.code == 3
    paths = {i["path"] for i in bad.json()["issues"]}
    assert "dataset.train_dataset.images_dir" in paths
    assert all(set(i) == {"path", "expected", "got", "message"} for i in bad.json()["issues"])


def test_validate_text_output_is_one_line_per_issue(tmp_path):
    spec = yaml.safe_load((TEMPLATES / "spec_template_train.yaml").read_text())
    spec["dataset"]["image_width"] = 128.0
    spec["dataset"]["input_map"] = ["LowAngleLight", "SolderLight"]
    spec["model"]["margin"] = 0.1                 # outside the AutoML search range: TAO runs with it
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = run_cli("spec", "validate", path, "--skill", SKILL, "--action", "train", "--mode", "template")
    assert result.code == 3
    lines = result.stdout.splitlines()
    assert any(l.startswith("dataset.image_width: expected an integer, got number 128.0") for l in lines)
    assert any(l.startswith("dataset.input_map: expected a mapping of str to int") for l in lines)
    assert not any(l.startswith("model.margin") for l in lines)
    assert lines[-1].endswith("2 issue(s)")


def test_validate_submit_mode_reports_runtime_failures(tmp_path):
    spec = yaml.safe_load((TEMPLATES / "spec_template_train.yaml").read_text())
    spec["dataset"]["batch_size"] = 1
    spec["train"]["checkpoint_interval"] = 20
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = run_cli("spec", "validate", path, "--skill", SKILL, "--action", "train", "--json")
    assert result.code == 3
    issues = {i["path"]: i for i in result.json()["issues"]}
    assert issues["dataset.batch_size"]["expected"] == "an integer >= 2"
    assert "AssertionError" in issues["train.checkpoint_interval"]["message"]
    assert "--job-dir" in issues["results_dir"]["message"]


def test_validate_bad_input_is_one_line(tmp_path):
    assert_one_line_error(run_cli("spec", "validate", tmp_path / "none.yaml", "--skill", SKILL, "--action", "train"),
                          "none.yaml", "not found")
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [1,\n")
    assert_one_line_error(run_cli("spec", "validate", broken, "--skill", SKILL, "--action", "train"), "not valid YAML")
    assert_one_line_error(run_cli("spec", "validate", broken, "--skill", SKILL, "--action", "deploy"),
                          "unknown action", "train, evaluate, inference, export")
    assert_one_line_error(run_cli("spec", "validate", broken, "--skill", "nope", "--action", "train"), "unknown skill")


def test_build_writes_a_valid_spec_and_refuses_to_overwrite(tmp_path):
    train, val = _split(tmp_path, "train"), _split(tmp_path, "val")
    out = tmp_path / "specs" / "train.yaml"
    args = ["spec", "build", "--skill", SKILL, "--action", "train", "--train-data", train, "--eval-data", val,
            "--set", "train.num_epochs=2", "--set", "dataset.batch_size=2", "--job-dir", tmp_path / "job", "-o", out]
    result = run_cli(*args, "--json")
    assert result.code == 0, result.stderr
    report = result.json()
    assert report["valid"] and report["data"]["dataset.train_dataset.images_dir"] == str(train / "images" / "images")
    spec = yaml.safe_load(out.read_text())
    assert spec["train"]["num_epochs"] == 2 and spec["dataset"]["validation_dataset"]["csv_path"] == str(val / "dataset.csv")
    assert run_cli("spec", "validate", out, "--skill", SKILL, "--action", "train").code == 0
    before = out.read_text()
    assert_one_line_error(run_cli(*args), "already exists", "--force")
    assert out.read_text() == before
    assert run_cli(*args, "--set", "train.num_epochs=4", "--force").code == 0
    assert yaml.safe_load(out.read_text())["train"]["num_epochs"] == 4


def test_build_refusals_write_nothing(tmp_path):
    out = tmp_path / "spec.yaml"
    base = ["spec", "build", "--skill", SKILL, "--action", "train", "-o", out]
    assert_one_line_error(run_cli(*base, "--train-data", "s3://b/t"), "--eval-data")
    one = run_cli(*base, "--train-data", "s3://b/t", "--eval-data", "s3://b/v", "--set", "dataset.batch_size=1")
    assert one.code == 3
    assert_one_line_error(one, "dataset.batch_size", "asserts", "not written")
    assert_one_line_error(run_cli(*base, "--train-data", "s3://b/t", "--eval-data", "s3://b/v", "--set", "oops"),
                          "key=value")
    assert not out.exists()


def test_build_json_error_carries_the_issues(tmp_path):
    result = run_cli("spec", "build", "--skill", SKILL, "--action", "export", "--set", "export.opset_version=1.5",
                     "--set", "export.checkpoint=/m.pth", "--set", "export.onnx_file=/o.onnx", "-o", tmp_path / "s.yaml", "--json")
    assert result.code == 3
    issues = result.json()["issues"]
    assert [i["path"] for i in issues] == ["export.opset_version", "results_dir"]
    assert issues[0]["expected"] == "an integer" and issues[0]["got"] == "number 1.5"


def test_set_values_and_keys_are_bounded_and_never_interpolated(tmp_path):
    base = ("spec", "build", "--skill", SKILL, "--action", "train", "--train-data", "s3://b/t",
            "--eval-data", "s3://b/v", "-o", tmp_path / "s.yaml")
    bomb = "[" + ", ".join(["&a [x, x, x, x, x, x, x, x, x, x]"] + ["*a"] * 20000) + "]"
    cases = {
        "alias bomb": ("--set", f"dataset.batch_size={bomb}", "alias"),
        "100k-deep": ("--set", "dataset.batch_size=" + "[" * 100_000, "nest"),
        "huge int": ("--set", "train.num_epochs=" + "9" * 5000, "64-bit"),
        "5000-part key": ("--set", ".".join(["a"] * 5000) + "=1", "5,000 parts"),
        "tag": ("--set", "train.num_epochs=!!python/object/apply:os.system [id]", "tag"),
        "interpolation": ("--set", "train.results_dir=${oc.env:HOME}", "interpolation"),
    }
    for name, (flag, value, needle) in cases.items():
        result = run_cli(*base, flag, value)
        assert_one_line_error(result, needle)
        assert result.code == 1, (name, result)
        assert not (tmp_path / "s.yaml").exists(), name

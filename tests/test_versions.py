"""versions.yaml: get / check / stamp, schema validation, drift and untagged images."""

import shutil
from pathlib import Path

import pytest
import yaml

from support import RELEASE, REPO_ROOT, assert_one_line_error, run_cli
from tao_skill_bank import versions


@pytest.fixture
def tiny_bank(tmp_path):
    """A minimal bank: versions.yaml + its schema + one skill doc quoting an image."""
    shutil.copy(REPO_ROOT / "versions.yaml", tmp_path / "versions.yaml")
    (tmp_path / "schemas").mkdir()
    shutil.copy(REPO_ROOT / "schemas" / "versions.schema.json", tmp_path / "schemas")
    skill = tmp_path / "skills" / "demo"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text("# demo\n")
    return tmp_path


def _uri(key):
    data = yaml.safe_load((REPO_ROOT / "versions.yaml").read_text())
    return versions.get_value(data, key)


def test_shipped_versions_validate_and_have_the_three_images():
    data = versions.load_versions(REPO_ROOT)
    assert versions.schema_errors(data, REPO_ROOT) == []
    for key in ("pyt", "deploy", "data_services"):
        uri = versions.get_value(data, f"images.tao_toolkit.{key}")
        assert uri.startswith(f"nvcr.io/nvidia/tao/tao-toolkit:{RELEASE}-"), uri


def test_get_prints_value_and_exit_zero():
    result = run_cli("versions", "get", "images.tao_toolkit.data_services")
    assert result.code == 0
    assert result.stdout.strip() == _uri("images.tao_toolkit.data_services")
    as_json = run_cli("versions", "get", "images.tao_toolkit.pyt", "--json").json()
    assert as_json == {"key": "images.tao_toolkit.pyt", "value": _uri("images.tao_toolkit.pyt")}


@pytest.mark.parametrize("key", ["images.tao_toolkit.dataservices", "images.tao_toolkit", "nope"])
def test_get_unknown_or_non_string_key_exits_1_with_nearest(key):
    result = run_cli("versions", "get", key)
    assert result.code == 1
    assert_one_line_error(result, key, "images.tao_toolkit.", str(REPO_ROOT / "versions.yaml"))


def test_get_without_versions_yaml_exits_2(tmp_path):
    result = run_cli("--bank", str(tmp_path), "versions", "get", "images.tao_toolkit.pyt")
    assert result.code == 2
    assert_one_line_error(result, "--bank")


def test_env_var_selects_the_bank(tiny_bank):
    text = (tiny_bank / "versions.yaml").read_text().replace(f"{RELEASE}-pyt", "9.9.9-pyt")
    (tiny_bank / "versions.yaml").write_text(text)
    result = run_cli("versions", "get", "images.tao_toolkit.pyt", env={"TAO_SKILL_BANK_PATH": str(tiny_bank)})
    assert result.stdout.strip().endswith(":9.9.9-pyt")


@pytest.mark.parametrize("value,ok", [
    ("nvcr.io/nvidia/tao/tao-toolkit:7.1.0-pyt", True),
    ("nvcr.io/nvidia/tao/tao-toolkit@sha256:" + "a" * 64, True),
    ("nvcr.io/nvidia/tao/tao-toolkit:7.1.0-pyt@sha256:" + "0" * 64, True),
    ("nvcr.io/nvidia/tao/tao-toolkit", False),          # no tag, no digest
    ("nvcr.io/nvidia/tao/tao-toolkit:latest", False),   # latest has no entrypoint
    ("nvcr.io/nvidia/tao/tao-toolkit@sha256:abc", False),
])
def test_schema_accepts_tags_and_digest_pins(value, ok):
    data = versions.load_versions(REPO_ROOT)
    data["images"]["tao_toolkit"]["pyt"] = value
    assert (versions.schema_errors(data, REPO_ROOT) == []) is ok


def test_check_clean_bank_passes(tiny_bank):
    uri = _uri("images.tao_toolkit.pyt")
    (tiny_bank / "skills/demo/SKILL.md").write_text(f"IMAGE={uri}  # versions-key: images.tao_toolkit.pyt\n")
    result = run_cli("--bank", str(tiny_bank), "versions", "check", "--json")
    assert result.code == 0, result
    assert result.json() == {"ok": True, "findings": []}


def test_check_reports_untagged_tao_image(tiny_bank):
    (tiny_bank / "skills/demo/SKILL.md").write_text("docker run nvcr.io/nvidia/tao/tao-toolkit:7.1.0-pyt train\n")
    result = run_cli("--bank", str(tiny_bank), "versions", "check", "--json")
    assert result.code == 3
    (finding,) = result.json()["findings"]
    assert finding["file"] == "skills/demo/SKILL.md" and finding["line"] == 1
    assert "untagged" in finding["problem"]


def test_check_reports_untagged_image_without_any_tag(tiny_bank):
    (tiny_bank / "skills/demo/SKILL.md").write_text("docker pull nvcr.io/nvidia/tao/tao-toolkit\n")
    assert run_cli("--bank", str(tiny_bank), "versions", "check").code == 3


def test_check_reports_drift_and_stamp_fixes_it(tiny_bank):
    doc = tiny_bank / "skills/demo/SKILL.md"
    doc.write_text("Intro line\n<!-- versions-key: images.tao_toolkit.deploy -->\n"
                   "`nvcr.io/nvidia/tao/tao-toolkit:6.0.0-deploy`\n"
                   "helper: alpine:3.1  # versions-key: images.helpers.chown\n")
    result = run_cli("--bank", str(tiny_bank), "versions", "check", "--json")
    assert result.code == 3
    problems = [f["problem"] for f in result.json()["findings"]]
    assert len(problems) == 2 and all("drifted" in p for p in problems)
    stamped = run_cli("--bank", str(tiny_bank), "versions", "stamp", "--json")
    assert stamped.code == 0 and stamped.json() == {"changed": ["skills/demo/SKILL.md"]}
    text = doc.read_text()
    assert _uri("images.tao_toolkit.deploy") in text and "6.0.0" not in text
    assert _uri("images.helpers.chown") in text
    assert text.startswith("Intro line\n<!-- versions-key: images.tao_toolkit.deploy -->\n")
    assert run_cli("--bank", str(tiny_bank), "versions", "check").code == 0
    # stamping again changes nothing
    assert run_cli("--bank", str(tiny_bank), "versions", "stamp", "--json").json() == {"changed": []}


def test_tag_beside_a_literal_does_not_claim_the_next_line(tiny_bank):
    doc = tiny_bank / "skills/demo/SKILL.md"
    original = ("docker pull nvcr.io/nvidia/tao/tao-toolkit:6.0.0-pyt  # versions-key: images.tao_toolkit.pyt\n"
                "curl http://localhost:8080/health\nimage: python:3.11\n")
    doc.write_text(original)
    result = run_cli("--bank", str(tiny_bank), "versions", "check", "--json")
    assert [f["line"] for f in result.json()["findings"]] == [1]
    run_cli("--bank", str(tiny_bank), "versions", "stamp")
    assert doc.read_text() == original.replace("6.0.0-pyt", _uri("images.tao_toolkit.pyt").split(":")[-1])

def test_check_flags_unknown_versions_key(tiny_bank):
    (tiny_bank / "skills/demo/SKILL.md").write_text(
        "nvcr.io/nvidia/tao/tao-toolkit:7.1.0-pyt  # versions-key: images.tao_toolkit.pytorch\n")
    result = run_cli("--bank", str(tiny_bank), "versions", "check", "--json")
    assert result.code == 3
    assert "not in versions.yaml" in result.json()["findings"][0]["problem"]


def test_check_reports_schema_errors(tiny_bank):
    path = tiny_bank / "versions.yaml"
    path.write_text(path.read_text().replace(f"{RELEASE}-data-services", "latest"))
    result = run_cli("--bank", str(tiny_bank), "versions", "check", "--json")
    assert result.code == 3
    assert any("data_services" in f["problem"] for f in result.json()["findings"])


def test_broken_versions_yaml_is_one_line(tiny_bank):
    (tiny_bank / "versions.yaml").write_text("images: [unclosed\n")
    result = run_cli("--bank", str(tiny_bank), "versions", "get", "images.tao_toolkit.pyt")
    assert result.code == 2
    assert_one_line_error(result, "versions.yaml", "YAML")


def test_real_bank_has_no_drift():
    result = run_cli("versions", "check", "--json")
    assert result.code == 0, result.stdout


# ---------------------------------------------------------------- one TAO release

OTHER = "9.8.7"     # a release the bank does not target (written so no literal pin sits in this file)


def _pin(package, version):
    return f"{package}=={version}"


def test_release_is_recorded_once_and_everything_derives_from_it():
    from oi import oracle
    from tao_skill_bank.oi import regenerate

    data = versions.load_versions(REPO_ROOT)
    release = versions.tao_release(data)
    assert release == RELEASE
    assert versions.release_wheel(data, "nvidia-tao-core") == _pin("nvidia-tao-core", release)
    assert _pin("nvidia-tao-core", release) in regenerate.venv_steps(regenerate.tao_core_version(REPO_ROOT))[0]
    assert _pin("nvidia-tao-deploy", release) in regenerate.venv_steps(regenerate.tao_core_version(REPO_ROOT))[0]
    assert oracle.oracle_steps()[0][1:] == [_pin("nvidia-tao-core", release), _pin("nvidia-tao-deploy", release)]
    from gaps.conftest import ORACLE_STEPS   # the gap oracle recipe
    assert ORACLE_STEPS[0] == ["--no-deps", _pin("nvidia-tao-ds", release)]
    assert "wheels" not in data            # no second copy of the number to drift
    assert versions.release_mismatches(REPO_ROOT, data) == []
    with pytest.raises(ValueError):
        versions.release_wheel(data, "nvidia-tao-automl")   # a separate pin, not the release


def test_benchmark_builds_the_gap_oracle_of_the_release():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gap_engine_bench", REPO_ROOT / "benchmarks" / "gap_engine.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.oracle_steps()[0] == ["--no-deps", _pin("nvidia-tao-ds", RELEASE)]


@pytest.fixture
def release_bank(tiny_bank):
    """tiny_bank plus one generated skill (manifest + template) of the release."""
    skill = tiny_bank / "skills" / "demo"
    (skill / "schemas").mkdir()
    (skill / "references").mkdir()
    manifest = {"skill": "demo", "actions": {"train": {"generated_by": "tao-skills schemas regenerate",
                                                        "source": _pin("nvidia-tao-core", RELEASE)}},
                "experiment_config": {"file": "schemas/experiment_config.json",
                                      "source": _pin("nvidia-tao-deploy", RELEASE)}}
    (skill / "schemas" / "manifest.json").write_text(__import__("json").dumps(manifest))
    (skill / "references" / "spec_template_train.yaml").write_text(
        f"# Spec template\n# Generated by `tao-skills schemas regenerate` from the nvidia-tao-core {RELEASE} schema default;\n")
    assert run_cli("--bank", str(tiny_bank), "versions", "check").code == 0
    return tiny_bank


def _findings(bank):
    result = run_cli("--bank", str(bank), "versions", "check", "--json")
    assert result.code == 3, result
    return result.json()["findings"]


def test_check_names_an_image_of_another_release(release_bank):
    path = release_bank / "versions.yaml"
    path.write_text(path.read_text().replace(f":{RELEASE}-deploy", f":{OTHER}-deploy"))
    (finding,) = _findings(release_bank)
    assert finding["file"] == "versions.yaml"
    assert "images.tao_toolkit.deploy" in finding["problem"] and RELEASE in finding["problem"]


def test_check_names_generated_files_of_another_release(release_bank):
    skill = release_bank / "skills" / "demo"
    manifest = skill / "schemas" / "manifest.json"
    manifest.write_text(manifest.read_text().replace(_pin("nvidia-tao-deploy", RELEASE), _pin("nvidia-tao-deploy", OTHER)))
    template = skill / "references" / "spec_template_train.yaml"
    template.write_text(template.read_text().replace(f"nvidia-tao-core {RELEASE}", f"nvidia-tao-core {OTHER}"))
    found = {(f["file"], f["problem"].split(" was ")[0].split(" generated")[0]) for f in _findings(release_bank)}
    assert ("skills/demo/schemas/manifest.json", "experiment_config") in found
    assert any(file == "skills/demo/references/spec_template_train.yaml" for file, _ in found)


def test_check_names_a_hard_coded_wheel_pin_in_an_oracle_recipe(release_bank):
    recipe = release_bank / "tests" / "conftest.py"
    recipe.parent.mkdir()
    recipe.write_text(f'STEPS = [["--no-deps", "{_pin("nvidia-tao-ds", OTHER)}"]]\nensure_venv("x", STEPS)\n')
    (release_bank / "tests" / "test_names.py").write_text(f'TEXT = "{_pin("nvidia-tao-ds", OTHER)}"\n')  # no recipe
    (finding,) = _findings(release_bank)
    assert (finding["file"], finding["line"]) == ("tests/conftest.py", 1)
    assert _pin("nvidia-tao-ds", OTHER) in finding["problem"]


def test_check_names_a_leftover_wheel_version(release_bank):
    path = release_bank / "versions.yaml"
    path.write_text(path.read_text() + f'wheels:\n  nvidia_tao_core: "{OTHER}"\n')
    (finding,) = _findings(release_bank)
    assert "wheels.nvidia_tao_core" in finding["problem"]


def test_check_requires_the_release(release_bank):
    path = release_bank / "versions.yaml"
    path.write_text("\n".join(l for l in path.read_text().splitlines() if not l.startswith("tao_version")) + "\n")
    assert any("tao_version" in f["problem"] for f in _findings(release_bank))


def test_the_automl_runner_is_pinned_separately_and_its_oracle_reads_the_pin(release_bank):
    from oi import automl_oracle

    data = versions.load_versions(REPO_ROOT)
    assert automl_oracle.oracle_steps()[0][1] == _pin("nvidia-tao-automl", data["automl"]["nvidia_tao_automl"])
    (release_bank / "docs").mkdir()
    (release_bank / "docs" / "x.md").write_text(f"pip install {_pin('nvidia-tao-automl', OTHER)}\n")
    (finding,) = _findings(release_bank)
    assert finding["file"] == "docs/x.md" and "automl.nvidia_tao_automl" in finding["problem"]

"""Exit codes match the README: a missing input file or folder is an environment problem (exit 2)
in every command, with a one-line error naming the path; a usage mistake is exit 1 and names the
flag it probably meant."""

import pytest

from support import REPO_ROOT, assert_one_line_error, run_cli

TRAIN = "tao-train-optical-inspection"
DEPLOY = "tao-deploy-optical-inspection"
MISSING = "/nonexistent/tao-skill-bank-test"


def _readme_says_missing_files_exit_2():
    text = (REPO_ROOT / "README.md").read_text()
    return "2 (environment: a missing tool, package, bank, or input file or folder)" in text


MISSING_PATH_COMMANDS = [
    ["gaps", "run", "--exp-dir", MISSING, "--dataset-root", "/tmp"],
    ["gaps", "summary", MISSING],
    ["gaps", "spotcheck", MISSING],
    ["gaps", "report", MISSING],
    ["gaps", "check", MISSING],
    ["gaps", "package", MISSING],
    ["gap_analysis", "vcn_aoi", "-e", MISSING + ".yaml"],
    ["dataset", "check", MISSING],
    ["spec", "validate", MISSING + ".yaml", "--skill", TRAIN, "--action", "train"],
    ["spec", "build", "--skill", TRAIN, "--action", "train", "--train-data", MISSING, "-o", "spec.yaml"],
    ["spec", "build", "--skill", DEPLOY, "--action", "gen_trt_engine", "--parent-job", MISSING, "-o", "spec.yaml"],
    ["checkpoint", "resolve", MISSING, "--select", "best"],
    ["container", "run", "--skill", TRAIN, "--action", "train", "-e", MISSING + ".yaml", "--dry-run"],
    ["bank", "validate", MISSING],
]


def test_the_readme_states_the_convention():
    assert _readme_says_missing_files_exit_2()


@pytest.mark.parametrize("argv", MISSING_PATH_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_missing_input_path_exits_2_everywhere(argv, tmp_path):
    result = run_cli(*argv, cwd=tmp_path)
    assert_one_line_error(result, "/nonexistent")
    assert result.code == 2, (argv, result.stderr)


@pytest.mark.parametrize("argv, meant", [
    (["gaps", "run", "--exp-dir", "e", "--dataset-root", "r", "--min_recall", "0.9"], "--min-recall"),
    (["gaps", "run", "--exp_dir", "e", "--dataset-root", "r"], "--exp-dir"),
    (["checkpoint", "resolve", "x", "--selct", "best"], "--select"),
])
def test_a_mistyped_flag_names_the_flag_it_probably_meant(argv, meant):
    result = run_cli(*argv)
    assert_one_line_error(result, f"did you mean {meant}?")
    assert result.code == 1


def test_a_near_miss_override_key_names_the_real_key():
    result = run_cli("gap_analysis", "vcn_aoi", "top_k=5", "inference_results_dir=/x")
    assert_one_line_error(result, "field 'top_k'", "did you mean 'top_k_per_label'?")
    assert result.code == 1


def test_a_near_miss_spec_key_names_the_real_key(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("train:\n  num_epoch: 3\n")
    result = run_cli("spec", "validate", spec, "--skill", TRAIN, "--action", "train")
    assert result.code == 3 and "train.num_epoch" in result.stderr + result.stdout
    assert "did you mean 'num_epochs'?" in result.stderr + result.stdout

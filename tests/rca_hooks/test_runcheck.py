import pytest

from support import REPO_ROOT
from tao_skill_bank import versions
from tao_skill_bank.rca_hooks.runcheck import diagnose, is_gap_run, pinned_image, success_context

PINNED = versions.get_value(versions.load_versions(REPO_ROOT), "images.tao_toolkit.data_services")
DOCKER_OK = (f'docker run --gpus all --rm --ipc=host -v "$WS:$WS" -w "$WS" {PINNED} gap_analysis vcn_aoi \\\n'
             f'  -e "$OUT/vcn_aoi_spec.yaml" results_dir="$OUT" top_k_per_label=50')


@pytest.mark.parametrize("command", [
    "tao-skills gaps run --inference-results-dir exp/inference --out exp/rca_results/x",
    "tao-skills --bank /b gaps run --json",
    "tao-skills gap_analysis vcn_aoi -e spec.yaml",
    "python3 skills/tao-analyze-gaps-visual-changenet/scripts/tao_skills.py gaps run --json",
    "cd /w && python -m tao_skill_bank gaps run",
    DOCKER_OK,
    'docker run --rm "$IMG" gap_analysis vcn_aoi -e s.yaml',
])
def test_gap_runs_are_recognised(command):
    assert is_gap_run(command)


@pytest.mark.parametrize("command", [
    "ls -la", "tao-skills gaps summary out", "grep 'gaps run' notes.md", "docker run alpine chown -R 1:1 /w",
    "echo gap_analysis", "tao-skills gaps report out",
])
def test_other_commands_are_not(command):
    assert not is_gap_run(command)


@pytest.mark.parametrize("output,expected", [
    ("docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock.", "Docker is not available"),
    ('docker: Error response from daemon: could not select device driver "" with capabilities: [[gpu]].', "no GPU"),
    ("Error response from daemon: pull access denied for nvcr.io/nvidia/tao/x", "could not be pulled"),
    ("KeyError: 'getpwuid(): uid not found: 1000'", "--user"),
    ("omegaconf.errors.MissingMandatoryValue: Missing mandatory value: train_config", "???"),
    ("KeyError: 'siamese_score'", "output_score"),
    ("ValueError: No threshold achieves 100% recall on the NO_PASS class.", "recall target is unreachable"),
    ("error: exp/inference.csv: field 'label': column missing — fix: use the Siamese CSV", "the run failed: error:"),
])
def test_known_failures_get_a_fix(output, expected):
    found = diagnose(DOCKER_OK, output, PINNED)
    assert len(found) == 1 and expected in found[0].message and found[0].fix


def test_command_line_mistakes_are_flagged_before_any_output():
    bad = "docker run --gpus all --user 1000:1000 nvcr.io/nvidia/tao/tao-toolkit:6.0.0-data-services gap_analysis vcn_aoi results_dir=/o"
    problems = " | ".join(d.message for d in diagnose(bad, "", PINNED))
    assert "--user" in problems and "-e <spec>" in problems and "top_k_per_label" in problems
    assert f"differs from versions.yaml ({PINNED})" in problems
    assert diagnose(DOCKER_OK, "threshold: 0.43\n", PINNED) == []


def test_pinned_image_from_versions_yaml_and_success_context():
    versions = "images:\n  tao_toolkit:\n    pyt: a:1\n    data_services: " + PINNED + "  # pinned\n"
    assert pinned_image(versions) == PINNED
    text = success_context("tao-skills gaps run --out /e/rca_results/2025-01-01_000000", "threshold: 0.43\n")
    assert "threshold 0.43" in text and "tao-skills gaps spotcheck /e/rca_results/2025-01-01_000000" in text


MB = 1_000_000


def test_megabyte_commands_and_outputs_give_the_same_answers():
    long_path = "/data/" + "a" * MB
    assert is_gap_run(f"tao-skills gaps run --exp-dir {long_path} --dataset-root /r")
    assert is_gap_run("docker run " * (MB // 11) + "--gpus all img gap_analysis vcn_aoi -e /s.yaml top_k_per_label=5")
    assert not is_gap_run("tao-skills " * (MB // 11) + "versions get x")
    assert not is_gap_run("gaps run " * (MB // 9))  # not our CLI
    output = ("noise " * 200 + "\n") * (MB // 1200) + "Traceback ...\nKeyError: 'siamese_score'\n"
    problems = [d.message for d in diagnose("tao-skills gaps run --exp-dir e", output)]
    assert problems and "siamese_score" in problems[0]
    # a phrase and its partner on the same line, far apart, still counts; on different lines it does not
    gpu = "could not select device driver " + "x" * MB + " with capabilities: [[gpu]]"
    assert any("no GPU" in d.message for d in diagnose("tao-skills gaps run", gpu))
    assert not any("no GPU" in d.message for d in diagnose("tao-skills gaps run", gpu.replace(" with", "\n with")))


def test_results_folder_is_found_at_the_end_of_a_long_output():
    out = "/ws/exp/rca_results/2025-03-04_050607"
    text = "/a" * (MB // 2) + f"\nresults_dir: {out}\n"
    assert f"results in {out}" in success_context("tao-skills gaps run --exp-dir e", text)

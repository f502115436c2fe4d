"""The README's main job, as a shell runs it: example -> run -> spotcheck -> report, then the
agent's part (verdicts, final report) and the report check; also from a copied skill folder."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from support import REPO_ROOT, fill_example_verdicts, run_cli

BIN = Path(sys.executable).parent
VENV_ON_PATH = 'export PATH="$PWD/.venv/bin:$PATH" && '


def readme_main_job() -> str:
    """The README's main-job line, from the point where the fresh venv is on PATH (the test runs it
    with this interpreter's console scripts instead), so the README cannot drift from what we test."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    line = text.split("# 1. Main job", 1)[1].splitlines()[1]
    _, found, rest = line.partition(VENV_ON_PATH)
    assert found, f"README main job no longer contains {VENV_ON_PATH!r}: update this test with it"
    return rest


# Print the folders the README line chose so the tests can inspect them.
MAIN_JOB = readme_main_job() + ' && echo "D=$D" && echo "OUT=$OUT"'


def _shell(command: str, tmp_path: Path, **env) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **env}
    return subprocess.run(["bash", "-c", command], cwd=tmp_path, env=full_env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)


@pytest.fixture(scope="module")
def main_job(tmp_path_factory):
    if not (BIN / "tao-skills").exists():
        pytest.skip(f"no tao-skills console script next to {sys.executable}")
    tmp = tmp_path_factory.mktemp("e2e")
    proc = _shell(MAIN_JOB, tmp, TMPDIR=str(tmp))  # the README line picks its folder with mktemp
    assert proc.returncode == 0, proc.stderr
    *_, d_line, out_line = proc.stdout.strip().splitlines()
    exp, out = Path(d_line.split("=", 1)[1]), Path(out_line.split("=", 1)[1])
    assert exp.parent.parent == tmp
    # The sanity summary reaches the terminal (tee -a /dev/stderr) while $OUT is captured.
    assert "threshold:" in proc.stderr and f"results_dir: {out}" in proc.stderr
    return exp, out, proc


def test_main_job_produces_every_artifact(main_job):
    exp, out, _ = main_job
    assert out.parent == exp / "rca_results"
    for name in ("vcn_aoi_spec.yaml", "kpi_gaps.parquet", "threshold.txt", "weak_samples_breakdown.txt",
                 "metrics.json", "run_record.json", "score_distribution.png", "spotcheck_contact_sheet.png",
                 "spotcheck.json", "RCA_Report.draft.md"):
        assert (out / name).is_file(), name
    thumbs = sorted((out / "rca_images").iterdir())
    assert len(thumbs) == 10
    for thumb in thumbs:
        with Image.open(thumb) as img:
            assert img.size == (128, 128)
    metrics = json.loads((out / "metrics.json").read_text())
    df = pd.read_parquet(out / "kpi_gaps.parquet")
    assert list(df.columns) == ["filepath", "label", "siamese_score", "weakness"]
    assert len(df) == metrics["kept_rows"] == metrics["kept_samples"] * 4 and metrics["n_samples"] == 2000
    assert not (out / "RCA_Report.md").exists()


def test_agent_part_then_the_report_check_passes(main_job):
    _, out, _ = main_job
    verdicts = fill_example_verdicts(out, 2000)
    assert "mislabeled" in verdicts.values()
    result = run_cli("gaps", "report", out, "--json")
    assert result.code == 0, result.stderr
    assert 1000 <= result.json()["words"] <= 1800 and result.json()["verdicts_pending"] == 0
    shutil.copy(out / "RCA_Report.draft.md", out / "RCA_Report.md")  # the agent's review, unchanged here
    assert run_cli("gaps", "package", out).code == 0  # the SKILL's last step when no hook packaged it
    check = run_cli("gaps", "check", out, "--json")
    assert check.code == 0, check.stdout + check.stderr
    assert check.json()["ok"] is True


def test_copied_skill_folder_runs_through_its_launcher(main_job, tmp_path):
    _, out, _ = main_job
    launcher = REPO_ROOT / "skills" / "tao-analyze-gaps-visual-changenet" / "scripts" / "tao_skills.py"
    if not launcher.is_file():
        pytest.skip("scripts/tao_skills.py (the launcher) is not in this build")
    copy = tmp_path / "tao-analyze-gaps-visual-changenet"
    shutil.copytree(launcher.parent.parent, copy)
    proc = subprocess.run([sys.executable, str(copy / "scripts" / "tao_skills.py"), "gaps", "summary", str(out)],
                          text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == f"results_dir: {out}"


def test_unreachable_chain_gives_the_abridged_report(tmp_path):
    if not (BIN / "tao-skills").exists():
        pytest.skip(f"no tao-skills console script next to {sys.executable}")
    exp = tmp_path / "x"
    assert run_cli("gaps", "example", exp).code == 0
    csv_path = exp / "inference" / "latest" / "inference.csv"
    lines = csv_path.read_text().splitlines()
    csv_path.write_text("\n".join([lines[0]] + [",".join(l.split(",")[:3] + ["PASS"] + l.split(",")[4:])
                                                for l in lines[1:]]) + "\n")
    proc = _shell('tao-skills gaps run --exp-dir "$D" --dataset-root "$D/images"; echo "rc=$?"', tmp_path, D=str(exp))
    assert "rc=4" in proc.stdout
    out = Path([l for l in proc.stdout.splitlines() if l.startswith("results_dir: ")][-1].split(": ", 1)[1])
    assert run_cli("gaps", "spotcheck", out).code != 0
    report = run_cli("gaps", "report", out, "--json")
    assert report.code == 0 and report.json()["variant"] == "abridged"
    text = (out / "RCA_Report.draft.md").read_text()
    assert "## 3. KPI Unreachable" in text and (out / "unreachable_kpi.txt").read_text().splitlines()[0] in text
    # The engine leaves no threshold.txt / metrics.json here; the report check must accept that.
    assert not (out / "threshold.txt").exists() and not (out / "metrics.json").exists()
    (out / "RCA_Report.md").write_text(text)
    assert run_cli("gaps", "package", out).code == 0
    check = run_cli("gaps", "check", out, "--json")
    assert check.code == 0, check.stdout

"""gaps/lifecycle.py: a results folder is claimed by one run and accepted only once marked complete.

The process-level cases are the point here (SIGKILL at many moments of a 3M-row run, a file-size
limit standing in for a full disk, two runs racing for one results_dir), so they run the real
command in a subprocess; every consumer's acceptance goes through `gaps.results.read_results`
(summary, spotcheck, report) and `contract.completion_problem` (package, check, the hooks).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from support import TEST_CACHE, assert_one_line_error, run_cli
from tao_skill_bank.errors import UserError
from tao_skill_bank.gaps import contract, lifecycle
from tao_skill_bank.gaps.results import read_results


BIG_ROWS = 3_000_000


# ---- claims ---------------------------------------------------------------------------------

def test_a_released_claim_removes_the_folders_it_made_and_nothing_else(tmp_path):
    (tmp_path / "exp").mkdir()
    held = lifecycle.claim(tmp_path / "exp" / "rca_results" / "run")
    assert held.created == (tmp_path / "exp" / "rca_results" / "run", tmp_path / "exp" / "rca_results")
    lifecycle.release(held)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["exp"]
    # a folder that gained a file meanwhile is kept, and so are its parents
    held = lifecycle.claim(tmp_path / "exp" / "rca_results" / "run")
    (tmp_path / "exp" / "rca_results" / "other.txt").write_text("user data")
    lifecycle.release(held)
    assert (tmp_path / "exp" / "rca_results" / "other.txt").is_file()
    assert not (tmp_path / "exp" / "rca_results" / "run").exists()


def test_claim_takes_a_new_or_spec_only_folder_and_refuses_anything_else(tmp_path):
    fresh = lifecycle.claim(tmp_path / "new")
    assert fresh.created_dir and (tmp_path / "new" / contract.CLAIM).is_file()
    with pytest.raises(UserError, match="claimed by another gap-analysis run") as err:
        lifecycle.claim(tmp_path / "new")
    assert f"delete {tmp_path / 'new'}" in err.value.one_line()
    lifecycle.release(fresh)
    assert not (tmp_path / "new").exists()  # made by the claim, empty again: gone

    spec_only = tmp_path / "spec_only"
    spec_only.mkdir()
    (spec_only / contract.SPEC).write_text("min_recall: 1.0\n")
    held = lifecycle.claim(spec_only)
    lifecycle.release(held)
    assert sorted(p.name for p in spec_only.iterdir()) == [contract.SPEC]  # the user's spec stays

    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match=r"already holds files \(notes.txt\)"):
        lifecycle.claim(used)
    assert sorted(p.name for p in used.iterdir()) == ["notes.txt"]  # refused without a trace


def test_mark_complete_is_the_last_write_and_drops_the_claim(tmp_path):
    folder = tmp_path / "run"
    lifecycle.claim(folder)
    (folder / contract.PARQUET).write_bytes(b"x" * 10)
    assert contract.completion_problem(folder).startswith(f"no {contract.COMPLETE}")
    lifecycle.mark_complete(folder, "local")
    assert contract.completion_problem(folder) is None and not (folder / contract.CLAIM).exists()
    record = json.loads((folder / contract.COMPLETE).read_text())
    assert record["engine"] == "local" and record["files"] == {contract.PARQUET: 10}
    (folder / contract.COMPLETE).write_text("{")
    assert contract.completion_problem(folder) == f"{contract.COMPLETE} is unreadable"


def test_a_failed_run_leaves_nothing_that_looks_finished(experiment):
    # bad input after the claim: the claim is released and the folder it created is removed
    (experiment.train_config).write_text("dataset: {classify: {image_ext: .png}}\n")
    result = run_cli("gap_analysis", "vcn_aoi", *experiment.keys())
    assert_one_line_error(result, "input_map")
    assert not experiment.results_dir.exists()


# ---- a 3M-row run, killed at many moments ---------------------------------------------------

@pytest.fixture(scope="module")
def big_experiment(tmp_path_factory, gap_cases):
    """3M rows written once per module (vectorised: a per-row writer would dominate the test)."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    root = tmp_path_factory.mktemp("big")
    exp = gap_cases.write_experiment(root / "exp", [("lot0", "C0", "PASS", 0.1)])
    rng = np.random.default_rng(11)
    labels = np.where(rng.random(BIG_ROWS) < 0.9, "PASS", rng.choice(["SCRATCH", "MISSING"], BIG_ROWS))
    scores = np.where(labels == "PASS", rng.beta(2, 5, BIG_ROWS), rng.beta(5, 2, BIG_ROWS))
    table = pa.table({"input_path": pa.array(np.char.add("lot", (np.arange(BIG_ROWS) % 7).astype(str))),
                      "object_name": pa.array(np.char.add("C", np.arange(BIG_ROWS).astype(str))),
                      "label": pa.array(labels), "siamese_score": pa.array(scores)})
    pacsv.write_csv(table, exp.csv)
    return exp


def _command(exp, results_dir: Path) -> list[str]:
    return [sys.executable, "-m", "tao_skill_bank", "gap_analysis", "vcn_aoi", "--engine", "local",
            *exp.keys(results_dir=results_dir)]


def _env() -> dict:
    return {**os.environ, "TAO_SKILL_BANK_CACHE": str(TEST_CACHE)}


def _assert_not_accepted_or_complete(out: Path) -> str:
    """Every consumer agrees: a folder is accepted only when it is complete. Returns the outcome."""
    if not out.exists():
        return "absent"
    try:
        folder = read_results(out)
    except UserError as err:
        assert str(out) in err.one_line(), err.one_line()  # the error names the folder to delete
        assert contract.completion_problem(out) is not None  # package, check and the hooks refuse too
        return "refused"
    assert contract.completion_problem(out) is None
    for name in (contract.PARQUET, contract.THRESHOLD, contract.BREAKDOWN, contract.METRICS, contract.RUN_RECORD):
        assert (out / name).is_file(), name
    assert folder.metrics["n_samples"] == BIG_ROWS and not (out / contract.CLAIM).exists()
    return "complete"


def test_sigkill_at_any_moment_leaves_no_accepted_partial_folder(big_experiment, tmp_path):
    reference = tmp_path / "reference"
    started = time.monotonic()
    finished = subprocess.run(_command(big_experiment, reference), env=_env(), capture_output=True)
    duration = time.monotonic() - started  # only to spread the kill points over a whole run
    assert finished.returncode == 0, finished.stderr.decode()[-2000:]
    assert _assert_not_accepted_or_complete(reference) == "complete"

    fractions = [0.0, 0.05, 0.15, 0.3, 0.45, 0.6, 0.7, 0.8, 0.86, 0.9, 0.94, 0.97, 0.99, 1.02]
    outcomes = {}
    for i, fraction in enumerate(fractions):
        out = tmp_path / f"killed_{i:02d}"
        proc = subprocess.Popen(_command(big_experiment, out), env=_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(duration * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        outcomes[fraction] = _assert_not_accepted_or_complete(out)
        if outcomes[fraction] == "refused":
            # the same results_dir again: refused on one line that names the folder, nothing replaced
            before = sorted(p.name for p in out.iterdir())
            again = run_cli("gap_analysis", "vcn_aoi", "--engine", "local", *big_experiment.keys(results_dir=out))
            assert_one_line_error(again, str(out))
            assert sorted(p.name for p in out.iterdir()) == before
    print(f"run {duration:.2f}s; outcome per kill point: {outcomes}")
    refused = [tmp_path / f"killed_{i:02d}" for i, f in enumerate(fractions) if outcomes[f] == "refused"]
    for out in refused[:1]:  # the CLI consumers say the same on one line
        for argv in (("gaps", "summary", out), ("gaps", "package", out), ("gaps", "check", out)):
            assert_one_line_error(run_cli(*argv), str(out), "incomplete results folder")


# ---- a full disk ----------------------------------------------------------------------------

@pytest.mark.parametrize("limit", [0, 64, 700, 2_000, 6_000, 20_000, 200_000])
def test_a_full_disk_leaves_no_accepted_partial_folder(experiment, limit):
    def file_size_limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes fail with EFBIG instead of killing

    out = experiment.results_dir
    proc = subprocess.run(_command(experiment, out), env=_env(), capture_output=True, text=True,
                          preexec_fn=file_size_limit)
    assert "Traceback" not in proc.stderr
    outcome = _small_outcome(out)
    if proc.returncode == 0:
        assert outcome == "complete"
    else:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert lines[-1].startswith("error: ") and proc.returncode in (1, 2), proc.stderr
        assert outcome in ("absent", "refused"), outcome


def _small_outcome(out: Path) -> str:
    if not out.exists():
        return "absent"
    try:
        read_results(out)
    except UserError as err:
        assert str(out) in err.one_line() and contract.completion_problem(out) is not None
        return "refused"
    assert contract.completion_problem(out) is None and (out / contract.METRICS).is_file()
    return "complete"


# ---- two runs, one results_dir --------------------------------------------------------------

def test_two_runs_into_one_results_dir_exactly_one_wins(big_experiment, tmp_path):
    out = tmp_path / "contested"
    procs = [subprocess.Popen(_command(big_experiment, out), env=_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes[0] == 0 and codes[1] != 0, results
    _, _, loser_stderr = next(r for r in results if r[0] != 0)
    lines = [line for line in loser_stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and str(out) in lines[0] and "Traceback" not in loser_stderr, loser_stderr
    assert "claimed by another gap-analysis run" in lines[0] or "refusing to overwrite" in lines[0]
    assert _assert_not_accepted_or_complete(out) == "complete"

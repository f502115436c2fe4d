"""gaps/run.py: input discovery, image-path preflight, new folders, the whole run and its output."""

import json
import os
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from support import assert_one_line_error, gap_example_run, run_cli
from tao_skill_bank.errors import UserError
from tao_skill_bank.gaps.example import ExampleConfig, create_example
from tao_skill_bank.gaps.run import (check_image_paths, custom_results_dir, diagnose_paths, find_inference_dir,
                                     find_train_config, new_results_dir, sample_rows)

NOW = datetime(2025, 3, 4, 5, 6, 7)


@pytest.fixture(scope="module")
def small_exp(tmp_path_factory):
    exp = tmp_path_factory.mktemp("run") / "exp"
    create_example(exp, ExampleConfig(n_samples=120))
    return exp


def _csv(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "inference.csv").write_text("input_path,object_name,label,siamese_score\n")
    return folder


# ---- discovery ----------------------------------------------------------------------------------

def test_latest_wins_over_named_runs(tmp_path):
    _csv(tmp_path / "inference" / "latest")
    _csv(tmp_path / "inference" / "run_b")
    assert find_inference_dir(tmp_path, None) == (tmp_path / "inference" / "latest").resolve()


def test_a_single_named_run_is_used(tmp_path):
    _csv(tmp_path / "inference" / "2025_01")
    assert find_inference_dir(tmp_path, None).name == "2025_01"


def test_several_named_runs_are_an_error_listing_them(tmp_path):
    _csv(tmp_path / "inference" / "run_a")
    _csv(tmp_path / "inference" / "run_b")
    with pytest.raises(UserError) as err:
        find_inference_dir(tmp_path, None)
    assert "run_a" in str(err.value) and "run_b" in str(err.value) and "--inference-dir" in str(err.value)


def test_no_inference_csv_is_an_error(tmp_path):
    with pytest.raises(UserError, match="no inference.csv"):
        find_inference_dir(tmp_path, None)


def test_explicit_inference_dir_accepts_the_csv_path_too(tmp_path):
    folder = _csv(tmp_path / "elsewhere")
    assert find_inference_dir(tmp_path, str(folder / "inference.csv")) == folder.resolve()
    with pytest.raises(UserError, match="no inference.csv"):
        find_inference_dir(tmp_path, str(tmp_path))


def test_missing_train_yaml_lists_candidates(tmp_path):
    (tmp_path / "experiment_spec.yaml").write_text("a: 1\n")
    with pytest.raises(UserError) as err:
        find_train_config(tmp_path, None)
    assert "experiment_spec.yaml" in str(err.value) and "--train-config" in str(err.value)
    (tmp_path / "train.yml").write_text("a: 1\n")
    assert find_train_config(tmp_path, None).name == "train.yml"


# ---- folders ------------------------------------------------------------------------------------

def test_results_folder_is_timestamped_and_never_reused(tmp_path):
    first = new_results_dir(tmp_path, NOW)
    second = new_results_dir(tmp_path, NOW)
    third = new_results_dir(tmp_path, NOW)
    assert [first.name, second.name, third.name] == ["2025-03-04_050607", "2025-03-04_050607_2",
                                                     "2025-03-04_050607_3"]
    assert new_results_dir(tmp_path, NOW, create=False).name == "2025-03-04_050607_4"


def test_custom_out_must_be_new_or_empty(tmp_path):
    assert custom_results_dir(tmp_path / "a" / "b").is_dir()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("1")
    with pytest.raises(UserError, match="not empty"):
        custom_results_dir(tmp_path / "full")


# ---- image path preflight -----------------------------------------------------------------------

def test_sample_rows_spreads_over_the_whole_csv():
    rows = [(str(i), "o") for i in range(1000)]
    picked = sample_rows(rows, 50)
    assert len(picked) == 50 and picked[0] == rows[0] and picked[-1] == rows[-1]


def test_check_counts_rows_whose_every_lighting_exists(tmp_path):
    present = {tmp_path / "a" / "x_L1.png", tmp_path / "a" / "x_L2.png", tmp_path / "a" / "y_L1.png"}
    check = check_image_paths([("a", "x"), ("a", "y")], tmp_path, ["L1", "L2"], ".png", exists=present.__contains__)
    assert (check.sampled_rows, check.resolved_rows) == (2, 1)
    assert check.missing_examples == [str(tmp_path / "a" / "y_L2.png")]


def test_diagnosis_names_the_extension_that_exists(small_exp):
    rows = [("board_A/lot_01", "C00000")]
    problem, fix = diagnose_paths(rows, small_exp / "images", ["UniformLight"], ".jpg", [])
    assert ".png" in problem and "image_ext: .png" in fix


def test_diagnosis_finds_the_right_root(small_exp):
    rows = [("board_A/lot_01", "C00000")]
    problem, fix = diagnose_paths(rows, small_exp, ["UniformLight"], ".png", [small_exp / "inference", small_exp / "images"])
    assert f"--dataset-root {small_exp / 'images'}" in fix


def test_wrong_dataset_root_stops_before_writing_anything(small_exp):
    result = run_cli("gaps", "run", "--exp-dir", small_exp, "--dataset-root", small_exp, "--engine", "local")
    assert_one_line_error(result, "--dataset-root", f"--dataset-root {small_exp / 'images'}")
    assert not (small_exp / "rca_results").exists()


def test_wrong_image_ext_is_diagnosed(small_exp, tmp_path):
    train = tmp_path / "train.yaml"
    train.write_text((small_exp / "train.yaml").read_text().replace("image_ext: .png", "image_ext: .jpg"))
    result = run_cli("gaps", "run", "--exp-dir", small_exp, "--dataset-root", small_exp / "images",
                     "--train-config", train, "--engine", "local")
    assert_one_line_error(result, "extension .png", "image_ext: .png")
    assert not (small_exp / "rca_results").exists()


def test_bad_knob_is_a_one_line_error_and_nothing_is_created(small_exp):
    result = run_cli("gaps", "run", "--exp-dir", small_exp, "--dataset-root", small_exp / "images",
                     "--min-recall", "1.5", "--engine", "local")
    assert_one_line_error(result, "min_recall", "field '--min-recall'", "e.g. --min-recall 1.0")
    assert not (small_exp / "rca_results").exists()


@pytest.mark.parametrize("flags, needles", [
    (["--top-k", "0"], ["field '--top-k'", "at least 1", "e.g. --top-k 50"]),
    (["--threshold", "-0.5"], ["field '--threshold'", "not >= 0", "omit --threshold to sweep"]),
])
def test_bad_knobs_name_the_gaps_run_flag(small_exp, flags, needles):
    """A negative threshold would make the container sweep instead of pinning: refused, not ignored."""
    result = run_cli("gaps", "run", "--exp-dir", small_exp, "--dataset-root", small_exp / "images",
                     *flags, "--engine", "local")
    assert_one_line_error(result, *needles)
    assert result.code == 1 and not (small_exp / "rca_results").exists()


# ---- the run ------------------------------------------------------------------------------------

def test_run_prints_the_summary_and_ends_with_results_dir(tmp_path):
    exp = tmp_path / "exp"
    create_example(exp, ExampleConfig(n_samples=300))
    result = run_cli("gaps", "run", "--exp-dir", exp, "--dataset-root", exp / "images", "--engine", "local")
    assert result.code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1].startswith("results_dir: ")
    out = Path(lines[-1].split(": ", 1)[1])
    assert out.parent == exp / "rca_results" and out.is_absolute()
    metrics = json.loads((out / "metrics.json").read_text())
    assert f"threshold: {(out / 'threshold.txt').read_text().strip()} (swept)" in result.stdout
    assert f"precision={metrics['precision']:.4f} recall={metrics['recall']:.4f} f1={metrics['f1']:.4f}" in result.stdout
    assert f"kpi_gaps.parquet: rows={metrics['kept_rows']}, cols=['filepath', 'label', 'siamese_score', 'weakness']" in result.stdout
    assert f"tao-skills gaps spotcheck {out}" in result.stdout and f"tao-skills gaps report {out}" in result.stdout
    for name in ("vcn_aoi_spec.yaml", "kpi_gaps.parquet", "threshold.txt", "weak_samples_breakdown.txt",
                 "metrics.json", "run_record.json", "score_distribution.png"):
        assert (out / name).is_file(), name
    import yaml
    spec = yaml.safe_load((out / "vcn_aoi_spec.yaml").read_text())
    assert spec["kpi_media_path"] == str(exp / "images") and spec["results_dir"] == str(out)
    assert "???" not in (out / "vcn_aoi_spec.yaml").read_text()


def test_json_output_is_one_object_with_results_dir_and_knobs_reach_the_engine(tmp_path):
    exp = tmp_path / "exp"
    create_example(exp, ExampleConfig(n_samples=300))
    out = tmp_path / "custom" / "out"
    result = run_cli("gaps", "run", "--exp-dir", exp, "--dataset-root", exp / "images", "--engine", "local",
                     "--top-k", "3", "--threshold", "0.5", "--min-recall", "0.9", "--out", out, "--json")
    assert result.code == 0, result.stderr
    payload = result.json()
    assert payload["results_dir"] == str(out) and payload["threshold_source"] == "pinned"
    assert payload["top_k_per_label"] == 3 and payload["threshold"] == 0.5 and payload["min_recall"] == 0.9
    assert payload["engine"] == "local" and payload["path_check"]["resolved_rows"] > 0
    assert (out / "threshold.txt").read_text().strip() == "0.5"


def test_second_run_gets_a_new_folder(tmp_path):
    exp, first = gap_example_run(tmp_path, n_samples=200)
    result = run_cli("gaps", "run", "--exp-dir", exp, "--dataset-root", exp / "images", "--engine", "local")
    second = Path(result.stdout.strip().splitlines()[-1].split(": ", 1)[1])
    assert second != first and second.parent == first.parent
    assert (first / "metrics.json").is_file() and (second / "metrics.json").is_file()


def test_dry_run_writes_nothing_and_shows_the_docker_command(small_exp):
    result = run_cli("gaps", "run", "--exp-dir", small_exp, "--dataset-root", small_exp / "images",
                     "--engine", "docker", "--dry-run", "--json")
    assert result.code == 0, result.stderr
    payload = result.json()
    command = payload["command"]
    assert command[:2] == ["docker", "run"] and "gap_analysis" in command and "--user" not in command
    assert f"top_k_per_label=50" in command and f"kpi_media_path={small_exp / 'images'}" in command
    assert not (small_exp / "rca_results").exists()
    text = run_cli("gaps", "run", "--exp-dir", small_exp, "--dataset-root", small_exp / "images",
                   "--engine", "local", "--dry-run")
    assert "nothing written" in text.stdout
    last = text.stdout.strip().splitlines()[-1]
    assert last.startswith("would_write: ") and "results_dir:" not in text.stdout  # agents capture results_dir:
    assert Path(last.split(": ", 1)[1]).parent == small_exp.resolve() / "rca_results"
    assert "results_dir" not in payload and payload["would_write"]
    assert not (small_exp / "rca_results").exists()


def test_unreachable_kpi_still_prints_the_folder_and_what_to_do(tmp_path):
    exp = tmp_path / "exp"
    create_example(exp, ExampleConfig(n_samples=100))
    csv_path = exp / "inference" / "latest" / "inference.csv"
    lines = csv_path.read_text().splitlines()
    rows = [lines[0]] + [",".join(l.split(",")[:3] + ["PASS"] + l.split(",")[4:]) for l in lines[1:]]
    csv_path.write_text("\n".join(rows) + "\n")  # no NO_PASS row: no threshold can reach any recall
    result = run_cli("gaps", "run", "--exp-dir", exp, "--dataset-root", exp / "images", "--engine", "local")
    assert result.code == 4, result.stderr
    assert "KPI UNREACHABLE" in result.stdout and "tao-skills gaps report" in result.stdout
    out = Path(result.stdout.strip().splitlines()[-1].split(": ", 1)[1])
    assert (out / "unreachable_kpi.txt").is_file() and not (out / "kpi_gaps.parquet").exists()
    assert (out / "score_distribution.png").is_file()


def test_partial_missing_images_warn_but_run(small_exp, caplog):
    import pandas as pd
    import pyarrow as pa
    from tao_skill_bank.gaps.run import preflight_paths

    frame = pd.read_csv(small_exp / "inference" / "latest" / "inference.csv", dtype=str)
    frame = pd.concat([frame, pd.DataFrame([{"input_path": "board_Z", "object_name": "C99999"}])], ignore_index=True)
    table = pa.Table.from_pandas(frame[["input_path", "object_name"]], preserve_index=False)
    check = preflight_paths(table, small_exp / "images", small_exp, ["UniformLight"], ".png")
    assert check.resolved_rows == check.sampled_rows - 1 and "board_Z" in check.missing_examples[0]
    assert "missing images" in caplog.text


def test_deploy_csv_with_output_score_is_accepted(tmp_path):
    from tao_skill_bank.gaps.inputs import choose_score_column

    exp = tmp_path / "exp"
    create_example(exp, ExampleConfig(n_samples=150))
    csv_path = exp / "inference" / "latest" / "inference.csv"
    csv_path.write_text(csv_path.read_text().replace("siamese_score", "output_score", 1))
    assert choose_score_column(csv_path.read_text().splitlines()[0].split(","), csv_path) == "output_score"
    result = run_cli("gaps", "run", "--exp-dir", exp, "--dataset-root", exp / "images", "--engine", "local", "--json")
    assert result.code == 0, result.stderr
    assert result.json()["score_column"] == "output_score"
    text = run_cli("gaps", "summary", result.json()["results_dir"]).stdout
    assert "score column: output_score (TAO Deploy CSV)" in text


def test_nan_scores_stop_the_run_before_any_folder_exists(tmp_path):
    from tao_skill_bank.gaps.inputs import read_inference_table

    exp = tmp_path / "exp"
    create_example(exp, ExampleConfig(n_samples=50))
    csv_path = exp / "inference" / "latest" / "inference.csv"
    lines = csv_path.read_text().splitlines()
    lines[3] = ",".join(lines[3].split(",")[:4] + ["nan"])
    csv_path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match="CSV lines 4"):
        read_inference_table(csv_path.parent)
    result = run_cli("gaps", "run", "--exp-dir", exp, "--dataset-root", exp / "images", "--engine", "local")
    assert_one_line_error(result, "siamese_score", "CSV lines 4")
    assert not (exp / "rca_results").exists()


@pytest.mark.parametrize("made_before", [False, True])
def test_a_run_refused_by_the_engine_leaves_no_folder_it_made(tmp_path, made_before):
    """An input_path escaping the dataset is refused after the results folder was claimed: the
    claim, the timestamped folder and an rca_results/ this run created are all gone again."""
    exp = tmp_path / "exp"
    create_example(exp, ExampleConfig(n_samples=50))
    if made_before:
        (exp / "rca_results").mkdir()
    csv_path = exp / "inference" / "latest" / "inference.csv"
    header, *rows = csv_path.read_text().splitlines()
    fields = rows[0].split(",")
    fields[header.split(",").index("input_path")] = "../../etc"
    csv_path.write_text("\n".join([header, *rows, ",".join(fields)]) + "\n")
    before = sorted(p.relative_to(exp) for p in exp.rglob("*"))
    result = run_cli("gaps", "run", "--exp-dir", exp, "--dataset-root", exp / "images", "--engine", "local")
    assert_one_line_error(result, "input_path", "../../etc", "container")
    assert result.code == 1
    assert sorted(p.relative_to(exp) for p in exp.rglob("*")) == before


def test_a_run_opens_inference_csv_and_the_train_yaml_once(small_exp, tmp_path, monkeypatch):
    import builtins
    import hashlib
    import io
    import json

    opened = []
    real_open = builtins.open

    def counting_open(file, *args, **kwargs):
        opened.append(Path(file).name if isinstance(file, (str, Path)) else None)
        return real_open(file, *args, **kwargs)

    real_os_open = os.open

    def counting_os_open(file, flags, *args, **kwargs):  # the bounded readers open descriptors
        if flags & (os.O_WRONLY | os.O_RDWR) == 0:
            opened.append(Path(file).name if isinstance(file, (str, Path)) else None)
        return real_os_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(io, "open", counting_open)
    monkeypatch.setattr(os, "open", counting_os_open)
    out = tmp_path / "out"
    result = run_cli("gaps", "run", "--exp-dir", small_exp, "--dataset-root", small_exp / "images",
                     "--engine", "local", "--out", out)
    assert result.code == 0, result.stderr
    assert opened.count("inference.csv") == 1 and opened.count("train.yaml") == 1
    for name in ("threshold.txt", "metrics.json", "kpi_gaps.parquet"):  # written, never read back
        assert opened.count(name) == 0, (name, opened)
    record = json.loads((out / "run_record.json").read_text())
    csv_bytes = (small_exp / "inference" / "latest" / "inference.csv").read_bytes()
    assert record["inference_csv"]["sha256"] == hashlib.sha256(csv_bytes).hexdigest()


def test_gaps_run_never_imports_pandas(tmp_path):
    # ~0.2 s of every run: pyarrow imports pandas when handed Python scalars or lists, so the
    # engine's data path must not hand it any (found once in a CSV check).
    import subprocess
    import sys
    exp = tmp_path / "vcn"
    assert run_cli("gaps", "example", exp).code == 0
    code = ("import sys; sys.modules['pandas'] = None; from tao_skill_bank.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    proc = subprocess.run([sys.executable, "-c", code, "gaps", "run", "--exp-dir", str(exp), "--dataset-root",
                           str(exp / "images"), "--engine", "local"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]

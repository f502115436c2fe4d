"""The results folder: complete artifact set, metrics.json schema, unreachable, no clobbering."""

from __future__ import annotations

import json
import math

import jsonschema
import pandas as pd
import pytest

import support
from tao_skill_bank.errors import UserError
from tao_skill_bank.gaps import artifacts, results
from tao_skill_bank.gaps.config import GapConfig

SCHEMA = json.loads((support.REPO_ROOT / "schemas" / "gap_metrics.schema.json").read_text())


def _config(exp, **extra) -> GapConfig:
    return GapConfig(inference_results_dir=str(exp.inference_dir), train_config=str(exp.train_config),
                     results_dir=str(exp.results_dir), kpi_media_path=str(exp.media), **extra)


def _rows(spec):
    """'PASS:0.1 SCRATCH:0.9 ...' -> rows in one folder."""
    return [("lot", f"C{i}", label, float(score)) for i, (label, score) in
            enumerate(item.split(":") for item in spec.split())]


def test_local_engine_writes_the_documented_set(experiment):
    result = artifacts.analyze(_config(experiment, top_k_per_label=5))
    folder = experiment.results_dir
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["kpi_gaps.parquet", "weak_samples_breakdown.txt", "threshold.txt", "metrics.json"])
    metrics = json.loads((folder / "metrics.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(metrics)
    assert float((folder / "threshold.txt").read_text()) == metrics["threshold"] == result.threshold
    gaps = pd.read_parquet(folder / "kpi_gaps.parquet")
    assert list(gaps.columns) == ["filepath", "label", "siamese_score", "weakness"]
    assert len(gaps) == metrics["kept_rows"] == metrics["kept_samples"] * 4
    assert metrics["kept_samples"] == sum(min(5, s["total"]) for s in metrics["per_label"].values())
    assert sum(s["total"] for s in metrics["per_label"].values()) == metrics["n_samples"] == 40
    c = metrics["confusion"]
    assert c["tp"] + c["fn"] == metrics["n_no_pass"] and c["fp"] + c["tn"] == metrics["n_pass"]
    assert metrics["engine"] == "local" and metrics["threshold_source"] == "swept"
    assert metrics["lightings"] == ["LowAngleLight", "SolderLight", "UniformLight", "WhiteLight"]


def test_metrics_values_on_a_hand_computed_case(tmp_path, gap_cases):
    exp = gap_cases.write_experiment(tmp_path / "e", _rows("PASS:0.1 PASS:0.6 SCRATCH:0.5 SCRATCH:0.9 pass:0.2"),
                                     input_map=["A"])
    metrics = artifacts.analyze(_config(exp, min_recall=1.0)).metrics
    # recall 1 needs threshold < 0.5: best is 0.2 (tp 2, fp 1 from PASS 0.6)
    assert metrics["threshold"] == 0.2
    assert metrics["confusion"] == {"tp": 2, "fp": 1, "tn": 2, "fn": 0}
    assert metrics["precision"] == 2 / 3 and metrics["recall"] == 1.0 and metrics["f1"] == 0.8
    assert metrics["candidates"] == {"evaluated": 6, "meeting_target": 3}
    assert metrics["per_label"]["PASS"] == {"total": 3, "mean_weakness": pytest.approx((-0.1 + 0.4 + 0.0) / 3),
                                            "median_weakness": 0.0, "max_weakness": pytest.approx(0.4),
                                            "n_misclassified": 1}
    assert metrics["per_label"]["SCRATCH"]["max_weakness"] == pytest.approx(-0.3)


def test_pinned_threshold_still_writes_threshold_txt(tmp_path, gap_cases):
    exp = gap_cases.write_experiment(tmp_path / "e", _rows("PASS:0.1 SCRATCH:0.9 PASS:0.3"))
    result = artifacts.analyze(_config(exp, threshold=0))
    assert (exp.results_dir / "threshold.txt").read_text() == "0.0"
    assert result.metrics["threshold_source"] == "pinned"
    assert result.metrics["candidates"] == {"evaluated": 1, "meeting_target": 1}
    assert result.metrics["confusion"] == {"tp": 1, "fp": 2, "tn": 0, "fn": 0}
    assert "threshold=0.0," in (exp.results_dir / "weak_samples_breakdown.txt").read_text()


def test_unreachable_writes_only_the_explanation(tmp_path, gap_cases):
    exp = gap_cases.write_experiment(tmp_path / "e", _rows("PASS:0.1 pass:0.4 PASS:0.3"))
    result = artifacts.analyze(_config(exp))
    assert result.unreachable and result.metrics is None
    assert [p.name for p in exp.results_dir.iterdir()] == ["unreachable_kpi.txt"]
    text = (exp.results_dir / "unreachable_kpi.txt").read_text()
    assert "min_recall: 1.0" in text and "best_achievable_recall: n/a" in text and "n_no_pass: 0" in text
    assert "no NO_PASS rows" in text and "retrain" in text


def test_deploy_csv_score_column_recorded(tmp_path, gap_cases):
    exp = gap_cases.write_experiment(tmp_path / "e", _rows("PASS:0.1 SCRATCH:0.9"), score_column="output_score")
    metrics = artifacts.analyze(_config(exp)).metrics
    assert metrics["score_column"] == "output_score"
    assert "siamese_score" in pd.read_parquet(exp.results_dir / "kpi_gaps.parquet").columns


@pytest.mark.parametrize("existing", ["metrics.json", "kpi_gaps.parquet", "threshold.txt", "unreachable_kpi.txt"])
def test_refuses_a_folder_with_results(experiment, existing):
    experiment.results_dir.mkdir(parents=True)
    (experiment.results_dir / existing).write_text("previous run")
    with pytest.raises(UserError, match="refusing to overwrite"):
        artifacts.analyze(_config(experiment))
    assert (experiment.results_dir / existing).read_text() == "previous run"
    assert len(list(experiment.results_dir.iterdir())) == 1


def test_other_files_in_the_folder_are_fine(experiment):
    experiment.results_dir.mkdir(parents=True)
    (experiment.results_dir / "vcn_aoi_spec.yaml").write_text("x: 1\n")
    artifacts.analyze(_config(experiment))
    assert (experiment.results_dir / "metrics.json").is_file()


@pytest.mark.parametrize("bad_path, column", [("../outside", "input_path"), ("/abs/dir", "input_path"),
                                              ("sub/../../x", "object_name")])
def test_paths_escaping_the_media_root_are_refused_and_nothing_written(tmp_path, gap_cases, bad_path, column):
    rows = _rows("PASS:0.1 SCRATCH:0.9")
    rows[1] = (bad_path, "C1", "SCRATCH", 0.9) if column == "input_path" else ("lot", bad_path, "SCRATCH", 0.9)
    exp = gap_cases.write_experiment(tmp_path / "e", rows)
    with pytest.raises(UserError) as err:
        artifacts.analyze(_config(exp))
    assert err.value.field == column and "escape kpi_media_path" in err.value.message
    assert not exp.results_dir.exists() or not any(exp.results_dir.iterdir())


def test_absolute_input_path_allowed_without_media_root(tmp_path, gap_cases):
    exp = gap_cases.write_experiment(tmp_path / "e", [("/abs/lot", "C1", "SCRATCH", 0.9), ("/abs/lot", "C2", "PASS", 0.1)],
                                     input_map=["L"])
    config = _config(exp)
    config.kpi_media_path = ""
    artifacts.analyze(config)
    assert sorted(pd.read_parquet(exp.results_dir / "kpi_gaps.parquet")["filepath"]) == \
        ["/abs/lot/C1_L.png", "/abs/lot/C2_L.png"]


def test_bad_input_leaves_results_dir_untouched(tmp_path, gap_cases):
    exp = gap_cases.write_experiment(tmp_path / "e", _rows("PASS:0.1 SCRATCH:0.9"), input_map=False)
    with pytest.raises(UserError, match="input_map"):
        artifacts.analyze(_config(exp))
    assert not exp.results_dir.exists()


def test_complete_artifacts_fills_what_the_container_does_not_write(experiment):
    config = _config(experiment, threshold=0.5)
    folder = experiment.results_dir
    folder.mkdir(parents=True)
    (folder / "kpi_gaps.parquet").write_bytes(b"container's parquet")
    (folder / "weak_samples_breakdown.txt").write_text("container's breakdown\n")
    result = artifacts.complete_artifacts(config, "docker")
    assert sorted(result.written) == ["metrics.json", "threshold.txt"]
    assert (folder / "kpi_gaps.parquet").read_bytes() == b"container's parquet"  # kept as the container wrote it
    assert (folder / "threshold.txt").read_text() == "0.5"
    metrics = results.load_metrics(folder)
    jsonschema.Draft202012Validator(SCHEMA).validate(metrics)
    assert metrics["engine"] == "docker"
    with pytest.raises(UserError, match="completed before"):
        artifacts.complete_artifacts(config, "docker")


def test_complete_artifacts_describes_the_containers_threshold(experiment):
    folder = experiment.results_dir
    folder.mkdir(parents=True)
    (folder / "threshold.txt").write_text("0.4321")
    metrics = artifacts.complete_artifacts(_config(experiment), "docker").metrics
    assert metrics["threshold"] == 0.4321 and metrics["threshold_source"] == "swept"
    assert (folder / "threshold.txt").read_text() == "0.4321"


def test_complete_artifacts_after_unreachable_container(tmp_path, gap_cases):
    exp = gap_cases.write_experiment(tmp_path / "e", _rows("PASS:0.1 PASS:0.2"))
    exp.results_dir.mkdir(parents=True)  # the real container leaves it empty
    result = artifacts.complete_artifacts(_config(exp), "docker")
    assert result.unreachable and result.written == ["unreachable_kpi.txt"]


def test_load_metrics_errors(tmp_path):
    with pytest.raises(UserError, match="metrics.json not found"):
        results.load_metrics(tmp_path)
    (tmp_path / "unreachable_kpi.txt").write_text("x")
    with pytest.raises(UserError, match="unreachable_kpi.txt"):
        results.load_metrics(tmp_path)
    (tmp_path / "metrics.json").write_text("{")
    with pytest.raises(UserError, match="not valid JSON"):
        results.load_metrics(tmp_path)


def test_metrics_json_is_finite_and_schema_rejects_missing_keys(experiment):
    metrics = artifacts.analyze(_config(experiment)).metrics
    assert all(math.isfinite(v) for v in (metrics["precision"], metrics["recall"], metrics["f1"]))
    broken = {k: v for k, v in metrics.items() if k != "confusion"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SCHEMA).validate(broken)


def test_completion_after_the_container_reuses_the_analysis_made_before_it(experiment, monkeypatch):
    config = _config(experiment)
    prepared = artifacts.compute(config, "docker")

    def no_second_read(*_):
        raise AssertionError("inference.csv read a second time")

    monkeypatch.setattr(artifacts, "read_inference_table", no_second_read)
    monkeypatch.setattr(artifacts, "read_train_config", no_second_read)
    folder = experiment.results_dir
    folder.mkdir(parents=True)
    (folder / "threshold.txt").write_text(str(prepared.threshold))      # the container agreed
    same = artifacts.complete_artifacts(config, "docker", prepared=prepared)
    assert same.analysis is prepared and same.metrics["threshold"] == prepared.threshold

    other = experiment.root / "other"
    other.mkdir()
    (other / "threshold.txt").write_text("0.4321")                       # it did not: recompute, no re-read
    config.results_dir = str(other)
    moved = artifacts.complete_artifacts(config, "docker", prepared=prepared)
    assert moved.metrics["threshold"] == 0.4321 and moved.analysis.inference is prepared.inference

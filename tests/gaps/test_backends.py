"""Engine choice and the docker engine, driven through a fake `docker` / `nvidia-smi` on PATH."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import yaml

import support
from tao_skill_bank.errors import UserError
from tao_skill_bank.gaps import backends
from tao_skill_bank.gaps.config import GapConfig
from tao_skill_bank.versions import image_uri

IMAGE = image_uri(backends.IMAGE_KEY, support.REPO_ROOT)
CHOWN = image_uri(backends.CHOWN_IMAGE_KEY, support.REPO_ROOT)


def _config(exp, **extra) -> GapConfig:
    return GapConfig(inference_results_dir=str(exp.inference_dir), train_config=str(exp.train_config),
                     results_dir=str(exp.results_dir), kpi_media_path=str(exp.media), **extra)


@pytest.fixture
def docker_env(fake_docker, monkeypatch):
    fake_docker.apply(monkeypatch)
    return fake_docker


def test_explicit_engines_need_no_probe():
    assert backends.choose_engine("local", IMAGE) == ("local", "requested with --engine local")
    assert backends.choose_engine("docker", IMAGE)[0] == "docker"
    with pytest.raises(UserError, match="unknown engine"):
        backends.choose_engine("podman", IMAGE)


def test_auto_picks_docker_when_daemon_gpu_and_image_are_there(docker_env):
    engine, why = backends.choose_engine("auto", IMAGE)
    assert engine == "docker" and why.startswith("auto:")
    assert ["pull", IMAGE] not in docker_env.calls()  # auto never pulls


@pytest.mark.parametrize("env, needle", [({"FAKE_DOCKER_DAEMON": "down"}, "daemon not reachable"),
                                         ({"FAKE_DOCKER_IMAGE": "absent"}, "not present locally")])
def test_auto_falls_back_to_local_and_says_why(docker_env, monkeypatch, env, needle):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    engine, why = backends.choose_engine("auto", IMAGE)
    assert engine == "local" and needle in why


def test_auto_without_gpu_is_local(docker_env):
    (docker_env.bin_dir / "nvidia-smi").unlink()
    engine, why = backends.choose_engine("auto", IMAGE)
    assert engine == "local" and "GPU" in why


def test_auto_without_image_key_is_local():
    assert backends.choose_engine("auto", None)[0] == "local"


def test_docker_command_is_exactly_the_contract(tmp_path):
    config = GapConfig(inference_results_dir="/ws/exp/inference", train_config="/ws/exp/train.yaml",
                       results_dir="/ws/exp/rca/r1", kpi_media_path="/ws/data set", min_recall=0.99,
                       top_k_per_label=20)
    argv = backends.docker_command(config, IMAGE, Path("/ws"), Path("/ws/exp/rca/r1/vcn_aoi_spec.yaml"))
    assert argv == ["docker", "run", "--rm", "--gpus", "all", "--ipc=host", "-v", "/ws:/ws", "-w", "/ws", IMAGE,
                    "gap_analysis", "vcn_aoi", "-e", "/ws/exp/rca/r1/vcn_aoi_spec.yaml",
                    "inference_results_dir=/ws/exp/inference", "train_config=/ws/exp/train.yaml",
                    "results_dir=/ws/exp/rca/r1", "kpi_media_path='/ws/data set'", "min_recall=0.99",
                    "top_k_per_label=20"]
    pinned = backends.container_overrides(GapConfig("/a", "/b", "/c", threshold=0))
    assert "threshold=0.0" in pinned and "top_k_per_label=50" in pinned
    assert not any(a.startswith("--user") or a == "-u" for a in argv)


def test_default_workspace_is_the_common_parent(tmp_path):
    config = GapConfig(inference_results_dir=str(tmp_path / "a" / "inf"), train_config=str(tmp_path / "a" / "t.yaml"),
                       results_dir=str(tmp_path / "a" / "out"), kpi_media_path=str(tmp_path / "b"))
    assert backends.default_workspace(config) == tmp_path


def test_paths_outside_the_workspace_are_refused_before_docker(docker_env, experiment):
    with pytest.raises(UserError) as err:
        backends.run_gap_analysis(_config(experiment), engine="docker", workspace=experiment.inference_dir)
    assert "outside the mounted workspace" in err.value.message and "train_config=" in err.value.message
    assert docker_env.calls() == []
    assert not experiment.results_dir.exists()


def test_filesystem_root_is_never_mounted(docker_env, experiment):
    with pytest.raises(UserError, match="refusing to mount the filesystem root"):
        backends.run_gap_analysis(_config(experiment), engine="docker", workspace=Path("/"))
    assert docker_env.calls() == []


def test_bad_input_is_refused_before_docker(docker_env, experiment):
    experiment.csv.write_text("input_path,object_name,label\nd,o,PASS\n")
    with pytest.raises(UserError, match="missing columns"):
        backends.run_gap_analysis(_config(experiment), engine="docker")
    assert docker_env.calls() == []


def test_preflight_failure_is_one_line_per_check(docker_env, experiment, monkeypatch):
    monkeypatch.setenv("FAKE_DOCKER_IMAGE", "absent")
    (docker_env.bin_dir / "nvidia-smi").unlink()
    with pytest.raises(UserError) as err:
        backends.run_gap_analysis(_config(experiment), engine="docker")
    assert err.value.exit_code == 2 and err.value.field == "preflight"
    assert "gpu: no NVIDIA GPU visible" in err.value.message and "image: cannot pull" in err.value.message
    assert docker_env.runs() == [] and not experiment.results_dir.exists()


def test_dry_run_prints_the_command_and_touches_nothing(docker_env, experiment):
    outcome = backends.run_gap_analysis(_config(experiment), engine="docker", dry_run=True)
    assert outcome.dry_run and outcome.command[:2] == ["docker", "run"] and IMAGE in outcome.command
    assert outcome.exit_code == 0 and docker_env.calls() == [] and not experiment.results_dir.exists()


def test_docker_engine_runs_the_container_then_completes_artifacts(docker_env, experiment):
    outcome = backends.run_gap_analysis(_config(experiment), engine="docker")
    folder = experiment.results_dir
    assert outcome.exit_code == 0 and outcome.engine == "docker"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["kpi_gaps.parquet", "weak_samples_breakdown.txt", "threshold.txt", "metrics.json", "run_record.json",
         "vcn_aoi_spec.yaml", "gap_complete.json"])
    assert outcome.result.written == ["metrics.json"]  # the container wrote the rest
    runs = docker_env.runs()
    assert runs[0] == outcome.command[1:]
    workspace = str(experiment.root)
    assert runs[0][runs[0].index("-v") + 1] == f"{workspace}:{workspace}"
    assert runs[1][:2] == ["run", "--rm"] and CHOWN in runs[1] and "chown" in runs[1]  # ownership restored
    spec = yaml.safe_load((folder / "vcn_aoi_spec.yaml").read_text())
    assert spec["top_k_per_label"] == 50 and "???" not in (folder / "vcn_aoi_spec.yaml").read_text()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["engine"] == "docker" and metrics["threshold"] == float((folder / "threshold.txt").read_text())
    record = json.loads((folder / "run_record.json").read_text())
    assert record["engine"] == "docker" and record["image"] == IMAGE and record["command"] == outcome.command
    assert record["inference_csv"]["sha256"] == hashlib.sha256(experiment.csv.read_bytes()).hexdigest()
    assert record["exit_code"] == 0 and record["started_at"] <= record["finished_at"]


def test_docker_engine_matches_local_engine(docker_env, experiment, tmp_path):
    backends.run_gap_analysis(_config(experiment), engine="docker")
    local = _config(experiment)
    local.results_dir = str(tmp_path / "local")
    backends.run_gap_analysis(local, engine="local")
    for name in ("threshold.txt", "weak_samples_breakdown.txt"):
        assert (experiment.results_dir / name).read_text() == (tmp_path / "local" / name).read_text()
    pd.testing.assert_frame_equal(pd.read_parquet(experiment.results_dir / "kpi_gaps.parquet"),
                                  pd.read_parquet(tmp_path / "local" / "kpi_gaps.parquet"))


def test_pinned_threshold_is_filled_in_after_the_container(docker_env, experiment):
    outcome = backends.run_gap_analysis(_config(experiment, threshold=0.5), engine="docker")
    assert sorted(outcome.result.written) == ["metrics.json", "threshold.txt"]
    assert (experiment.results_dir / "threshold.txt").read_text() == "0.5"
    assert "threshold=0.5" in outcome.command


def test_unreachable_in_docker_exits_4_with_the_explanation_only(docker_env, tmp_path, gap_cases):
    exp = gap_cases.write_experiment(tmp_path / "e", [("d", "o1", "PASS", 0.1), ("d", "o2", "PASS", 0.3)])
    outcome = backends.run_gap_analysis(_config(exp), engine="docker")
    assert outcome.exit_code == backends.EXIT_UNREACHABLE == 4 and outcome.unreachable
    assert sorted(p.name for p in exp.results_dir.iterdir()) == ["gap_complete.json", "run_record.json",
                                                                 "unreachable_kpi.txt", "vcn_aoi_spec.yaml"]


def test_container_failure_is_an_environment_error_without_metrics(docker_env, experiment, monkeypatch):
    monkeypatch.setenv("FAKE_DOCKER_RUN_EXIT", "3")
    with pytest.raises(UserError) as err:
        backends.run_gap_analysis(_config(experiment), engine="docker")
    assert err.value.exit_code == 2 and "exited with 3" in err.value.message
    assert not (experiment.results_dir / "metrics.json").exists()


def test_a_different_spec_already_in_the_folder_is_not_overwritten(docker_env, experiment):
    experiment.results_dir.mkdir(parents=True)
    (experiment.results_dir / "vcn_aoi_spec.yaml").write_text("min_recall: 0.1\n")
    with pytest.raises(UserError, match="other values"):
        backends.run_gap_analysis(_config(experiment), engine="docker")
    assert (experiment.results_dir / "vcn_aoi_spec.yaml").read_text() == "min_recall: 0.1\n"
    assert docker_env.runs() == []


def test_local_engine_records_engine_and_reason(experiment):
    outcome = backends.run_gap_analysis(_config(experiment), engine="local")
    record = json.loads((experiment.results_dir / "run_record.json").read_text())
    assert record["engine"] == "local" and record["engine_reason"] == "requested with --engine local"
    assert record["command"] is None and record["config"]["top_k_per_label"] == 50
    assert set(record["tool_versions"]) >= {"python", "numpy", "pandas", "pyarrow"}
    assert outcome.result.metrics["engine"] == "local"


def test_run_record_merges_into_one_started_by_gaps_run(experiment):
    experiment.results_dir.mkdir(parents=True)
    (experiment.results_dir / "run_record.json").write_text(json.dumps({"skill": "tao-analyze-gaps"}))
    # a caller that holds the folder's claim itself (as `gaps run` does) may have started the record
    backends.run_gap_analysis(_config(experiment), engine="local", claim=False)
    record = json.loads((experiment.results_dir / "run_record.json").read_text())
    assert record["skill"] == "tao-analyze-gaps" and record["engine"] == "local"


@pytest.mark.oracle
@pytest.mark.parametrize("threshold", [-1.0, 0.5])
def test_docker_engine_with_the_reference_code_behind_the_fake_container(docker_env, experiment, monkeypatch,
                                                                         threshold, oracle_python):
    """The fake container runs nvidia-tao-ds's module with our -e spec and overrides, so the
    command line and spec must be ones the real code accepts; completion then adds the rest."""
    monkeypatch.setenv("FAKE_DOCKER_ORACLE", str(oracle_python))
    outcome = backends.run_gap_analysis(_config(experiment, threshold=threshold), engine="docker")
    folder = experiment.results_dir
    assert outcome.exit_code == 0
    assert sorted(outcome.result.written) == (["metrics.json"] if threshold < 0 else ["metrics.json", "threshold.txt"])
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["threshold"] == float((folder / "threshold.txt").read_text())
    assert len(pd.read_parquet(folder / "kpi_gaps.parquet")) == metrics["kept_rows"]
    assert f"threshold={metrics['threshold']}," in (folder / "weak_samples_breakdown.txt").read_text()


def _deploy_experiment(tmp_path, gap_cases):
    return gap_cases.write_experiment(tmp_path / "e", [("d", "o1", "PASS", 0.1), ("d", "o2", "NG", 0.9)],
                                      score_column="output_score")


def test_fake_container_dies_on_a_deploy_csv_like_the_real_image(docker_env, tmp_path, gap_cases):
    """The stand-in must reproduce the KeyError, or the two tests below would prove nothing."""
    import subprocess

    exp = _deploy_experiment(tmp_path, gap_cases)
    config = backends.docker_config(_config(exp))
    argv = backends.docker_command(config, IMAGE, exp.root, exp.results_dir / backends.SPEC_NAME)
    proc = subprocess.run(argv, capture_output=True, text=True)
    assert proc.returncode == 1 and "KeyError: 'siamese_score'" in proc.stderr


@pytest.mark.parametrize("requested", ["docker", "auto"])
def test_container_reads_a_deploy_csv_through_a_renamed_header_copy(docker_env, tmp_path, gap_cases, requested):
    exp = _deploy_experiment(tmp_path, gap_cases)
    original = exp.csv.read_bytes()
    outcome = backends.run_gap_analysis(_config(exp), engine=requested)
    assert outcome.exit_code == 0 and outcome.engine == "docker"
    assert "TAO Deploy CSV (output_score)" in outcome.reason
    bridge = exp.results_dir / backends.BRIDGE_DIR / "inference.csv"
    # the container was pointed at the copy by an override; the spec keeps the real input
    assert f"inference_results_dir={bridge.parent}" in outcome.command
    spec = yaml.safe_load((exp.results_dir / backends.SPEC_NAME).read_text())
    assert spec["inference_results_dir"] == str(Path(exp.inference_dir).resolve())
    header, _, body = bridge.read_bytes().partition(b"\n")
    assert b"siamese_score" in header and b"output_score" not in header
    assert body == original.partition(b"\n")[2]  # data bytes unchanged
    assert exp.csv.read_bytes() == original       # the user's CSV is never touched
    metrics = json.loads((exp.results_dir / "metrics.json").read_text())
    assert metrics["score_column"] == "output_score" and metrics["engine"] == "docker"
    local = backends.run_gap_analysis(replace(_config(exp), results_dir=str(tmp_path / "local")), engine="local")
    assert (local.results_dir / "threshold.txt").read_text() == (exp.results_dir / "threshold.txt").read_text()
    assert pd.read_parquet(local.results_dir / "kpi_gaps.parquet").equals(
        pd.read_parquet(exp.results_dir / "kpi_gaps.parquet"))


def test_bridge_keeps_quoting_and_crlf_of_the_header(tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes('\ufeffinput_path,"object, name",output_score\r\na,b,0.5\r\n'.encode("utf-8"))
    target = backends.bridge_deploy_csv(source, tmp_path / "out" / "inference.csv", "output_score")
    assert target.read_bytes() == b'input_path,"object, name",siamese_score\r\na,b,0.5\r\n'


def test_deploy_score_column_only_flags_csvs_without_siamese_score(tmp_path, gap_cases, experiment):
    assert backends.deploy_score_column(_config(_deploy_experiment(tmp_path, gap_cases))) == "output_score"
    assert backends.deploy_score_column(_config(experiment)) is None
    experiment.csv.unlink()  # a missing CSV is left to the engine's own one-line error
    assert backends.deploy_score_column(_config(experiment)) is None


@pytest.mark.oracle
def test_interpolation_quotes_and_spaces_in_paths_reach_the_reference_literally(docker_env, tmp_path, gap_cases,
                                                                                monkeypatch, oracle_python):
    """`${oc.env:HOME}`, a quote and a space in the experiment path: the override values are
    escaped for Hydra, so nvidia-tao-ds's module (real hydra-core/OmegaConf behind the fake
    container) reads and writes exactly these folders instead of resolving the interpolation."""
    import numpy as np

    monkeypatch.setenv("FAKE_DOCKER_ORACLE", str(oracle_python))
    exp = gap_cases.write_experiment(tmp_path / "ws" / "run ${oc.env:HOME} it's",
                                     gap_cases.random_rows(np.random.default_rng(3), 40))
    outcome = backends.run_gap_analysis(_config(exp), engine="docker", workspace=tmp_path / "ws")
    assert outcome.exit_code == 0
    assert any("\\${oc.env:HOME}" in arg for arg in outcome.command)
    assert (exp.results_dir / "kpi_gaps.parquet").is_file() and (exp.results_dir / "threshold.txt").is_file()


def test_workspace_with_a_colon_is_refused_before_docker(docker_env, tmp_path, gap_cases):
    import numpy as np

    exp = gap_cases.write_experiment(tmp_path / "ws:1" / "exp", gap_cases.random_rows(np.random.default_rng(3), 40))
    with pytest.raises(UserError, match="-v"):
        backends.run_gap_analysis(_config(exp), engine="docker")
    assert docker_env.runs() == [] and not exp.results_dir.exists()

import os
from pathlib import Path

import pytest

from support import fake_tools, recorded_calls
from tao_skill_bank import container
from tao_skill_bank.errors import UserError

IMAGE = "nvcr.io/nvidia/tao/tao-toolkit:test-pyt"


def test_docker_run_argv_exact(tmp_path):
    run = container.DockerRun(IMAGE, ["optical_inspection", "train", "-e", "/ws/spec.yaml"], Path("/ws"),
                              env={"B": "2", "A": "1"})
    assert run.argv() == ["docker", "run", "--rm", "--gpus", "all", "--ipc=host", "-v", "/ws:/ws", "-w", "/ws",
                          "-e", "A=1", "-e", "B=2", IMAGE, "optical_inspection", "train", "-e", "/ws/spec.yaml"]
    no_gpu = container.DockerRun(IMAGE, ["x"], Path("/ws"), gpus=False).argv()
    assert "--gpus" not in no_gpu and "--user" not in no_gpu


def test_chown_argv_maps_target_into_helper_mount(tmp_path):
    target = tmp_path / "results" / "train"
    target.mkdir(parents=True)
    argv = container.chown_argv("alpine:3.20", tmp_path, target, 1000, 1001)
    assert argv == ["docker", "run", "--rm", "-v", f"{tmp_path.resolve()}:/w", "alpine:3.20", "chown", "-R",
                    "1000:1001", "/w/results/train"]


def test_containment(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    assert container.is_inside(ws / "a" / "b", ws)
    assert not container.is_inside(ws / ".." / "other", ws)
    outside = container.paths_outside_workspace([("ok", ws / "x"), ("bad", Path("/etc/passwd"))], ws)
    assert outside == ["bad=/etc/passwd"]
    with pytest.raises(UserError, match="bad=/etc/passwd"):
        container.require_inside_workspace([("bad", Path("/etc/passwd"))], ws)


def test_host_path_values_walks_nested_specs():
    spec = {"results_dir": "/ws/r", "encryption_key": "tlt_encode",
            "dataset": {"train_dataset": {"images_dir": "s3://b/images.tar.gz", "csv_path": "./d.csv"}},
            "gen_trt_engine": {"tensorrt": {"calibration": {"cal_image_dir": ["/ws/c1", "../c2"]}}},
            "model": {"margin": 2.0, "model_type": "Siamese_3"}, "note": "~/x"}
    assert container.host_path_values(spec) == [
        ("results_dir", "/ws/r"), ("dataset.train_dataset.csv_path", "./d.csv"),
        ("gen_trt_engine.tensorrt.calibration.cal_image_dir[0]", "/ws/c1"),
        ("gen_trt_engine.tensorrt.calibration.cal_image_dir[1]", "../c2"), ("note", "~/x")]


def test_as_container_path_resolves_relative_against_workspace():
    assert container.as_container_path("./d.csv", Path("/ws")) == Path("/ws/d.csv")
    assert container.as_container_path("/data/x", Path("/ws")) == Path("/data/x")
    assert not container.is_inside(container.as_container_path("../x", Path("/ws")), Path("/ws"))


def _with_fakes(monkeypatch, tmp_path, **kwargs):
    log = tmp_path / "calls.jsonl"
    env = fake_tools(tmp_path / "bin", log, **kwargs)
    monkeypatch.setenv("PATH", env["PATH"])
    return log


def test_preflight_all_ok(monkeypatch, tmp_path):
    log = _with_fakes(monkeypatch, tmp_path)
    checks = container.preflight(IMAGE)
    assert [(c.name, c.ok) for c in checks] == [("docker", True), ("gpu", True), ("image", True)]
    assert ["docker", "image", "inspect", IMAGE] in recorded_calls(log)
    container.require_preflight(checks)  # no error


def test_preflight_daemon_down_stops_early(monkeypatch, tmp_path):
    log = _with_fakes(monkeypatch, tmp_path, daemon=False)
    checks = container.preflight(IMAGE)
    assert [(c.name, c.ok) for c in checks] == [("docker", False)]
    assert all(call[:2] != ["docker", "image"] for call in recorded_calls(log))
    with pytest.raises(UserError) as err:
        container.require_preflight(checks)
    assert err.value.exit_code == 2


def test_preflight_no_gpu_and_pull_failure(monkeypatch, tmp_path):
    log = _with_fakes(monkeypatch, tmp_path, gpu=False, image_present=False)
    checks = {c.name: c for c in container.preflight(IMAGE)}
    assert not checks["gpu"].ok and not checks["image"].ok
    assert "docker login nvcr.io" in checks["image"].fix
    assert ["docker", "pull", IMAGE] in recorded_calls(log)
    no_pull = {c.name: c for c in container.preflight(IMAGE, need_gpu=False, pull=False)}
    assert "gpu" not in no_pull and "docker pull" in no_pull["image"].fix


def test_preflight_without_docker_cli(monkeypatch, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    checks = container.preflight(IMAGE)
    assert len(checks) == 1 and "not found on PATH" in checks[0].detail and "--engine local" in checks[0].fix
    assert "--dry-run" in container.preflight(IMAGE, alternative="--dry-run")[0].fix
    ready, why = container.docker_engine_ready(IMAGE)
    assert not ready and "not found on PATH" in why
    assert "--engine local" not in why  # auto falls back by itself; the advice is for explicit runs


def test_run_streams_and_logs(monkeypatch, tmp_path, capsys):
    log = _with_fakes(monkeypatch, tmp_path, run_exit=5)
    run_log = tmp_path / "out.log"
    assert container.run(["docker", "run", IMAGE], log_path=run_log) == 5
    assert "fake container output" in run_log.read_text()
    assert "fake container output" in capsys.readouterr().err
    assert recorded_calls(log)[-1] == ["docker", "run", IMAGE]


def test_restore_ownership_calls_chown_helper(monkeypatch, tmp_path):
    log = _with_fakes(monkeypatch, tmp_path)
    target = tmp_path / "ws" / "results"
    target.mkdir(parents=True)
    assert container.restore_ownership("alpine:3.20", tmp_path / "ws", target) == 0
    call = recorded_calls(log)[-1]
    assert call[-4:] == ["chown", "-R", f"{os.getuid()}:{os.getgid()}", "/w/results"]

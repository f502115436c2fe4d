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


# ---------------------------------------------------------------- paths Docker's -v cannot express

@pytest.mark.parametrize("name", ["a:b", "line\nbreak", "tab\there", "nul\x01x", "del\x7fx"])
def test_unmountable_workspaces_are_refused(tmp_path, name):
    ws = tmp_path / name
    with pytest.raises(UserError) as err:
        container.require_mountable(ws)
    assert "\n" not in err.value.one_line() and "-v" in err.value.one_line()
    with pytest.raises(UserError):
        container.DockerRun(IMAGE, ["x"], ws).argv()
    ws.mkdir()
    with pytest.raises(UserError):
        container.chown_argv("alpine:3.20", ws, ws, 1, 1)


@pytest.mark.parametrize("name", ["a,b", "with space", "caf\u00e9", "it's", "$HOME", "${x}"])
def test_mountable_workspaces_pass(tmp_path, name):
    ws = tmp_path / name
    container.require_mountable(ws)
    assert f"{ws}:{ws}" in container.DockerRun(IMAGE, ["x"], ws).argv()


def test_unescaped_interpolations_are_found_at_any_depth():
    spec = {"a": "${x}", "b": ["ok", r"\${literal}", r"\\${after_escaped_backslash}"],
            "c": {"d": "/data/${oc.env:HOME}/x"}, "e": "$ {not}", "f": 3}
    assert container.unescaped_interpolations(spec) == [
        ("a", "${x}"), ("b[2]", r"\\${after_escaped_backslash}"), ("c.d", "/data/${oc.env:HOME}/x")]
    with pytest.raises(UserError, match="interpolation") as err:
        container.refuse_interpolations({"train": {"results_dir": "${oc.env:HOME}"}}, file="spec.yaml")
    assert "field 'train.results_dir'" in err.value.one_line()


HYDRA_DRIVER = '''
import json, sys, tempfile
from pathlib import Path
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf
cases, n_composed = json.load(open(sys.argv[1])), int(sys.argv[2])
folder = tempfile.mkdtemp()
Path(folder, "spec.yaml").write_text("k: placeholder\\n")
parser = OverridesParser.create()
out = []
with initialize_config_dir(config_dir=folder, version_base=None):
    for index, override in enumerate(cases):
        try:
            if index < n_composed:  # the whole path a container run takes (slow: a few per second)
                value = compose(config_name="spec", overrides=[override]).k
            else:                   # the same two steps, direct: override grammar, then OmegaConf resolution
                value = OmegaConf.create({"k": parser.parse_override(override).value()}).k
            out.append(["ok", value if isinstance(value, str) else repr(value)])
        except Exception as exc:
            out.append(["error", type(exc).__name__ + ": " + str(exc)[:200]])
print(json.dumps(out))
'''


@pytest.mark.oracle
def test_hydra_string_round_trips_through_the_real_hydra_and_omegaconf(tmp_path):
    """Every value, escaped by hydra_string, comes back from hydra-core 1.3.2 + OmegaConf 2.3.0
    (override parser, then interpolation; the hand-picked ones through a full compose) as exactly
    the same string."""
    import json
    import random
    import subprocess

    from oi.oracle import oi_oracle_python

    rng = random.Random(14)
    alphabet = list("ab/\\'\"${}:, =\n~*[]()%#!\u00e9@+.-_\t")
    values = ["/ws/a:b", "${oc.env:HOME}", "/x/${y}", r"\${x}", "a\\", "\\", "'", "it's", r"a\'b", "", "null",
              "true", "1.5", "inf", "/p@q+r", "//x", "/a b", "$", "${", "}", r"\\${x}", "/ws/data set/img.png",
              "/ws/${oc.env:AWS_SECRET_ACCESS_KEY}/x", "a,b", "[1,2]", "x=y", "~/x"]
    values += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(800)]
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps([f"k={container.hydra_string(v)}" for v in values]))
    driver = tmp_path / "driver.py"
    driver.write_text(HYDRA_DRIVER)
    proc = subprocess.run([str(oi_oracle_python()), str(driver), str(cases), "27"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    wrong = [(v, container.hydra_string(v), got) for v, got in zip(values, json.loads(proc.stdout)) if got != ["ok", v]]
    assert wrong == []
    assert container.hydra_string("/ws/run 1/${oc.env:HOME}") == r"'/ws/run 1/\${oc.env:HOME}'"
    assert container.hydra_string("/ws/plain/path.yaml") == "/ws/plain/path.yaml"

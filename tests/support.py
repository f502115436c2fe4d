"""Shared test helpers: run the CLI as an agent would, and find the repo."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# Isolated oracle/schema venvs are cached here (gitignored): a clean clone builds them anew.
TEST_CACHE = Path(os.environ.get("TAO_SKILL_BANK_CACHE", REPO_ROOT / ".cache"))


def _release() -> str:
    import yaml

    return str(yaml.safe_load((REPO_ROOT / "versions.yaml").read_text(encoding="utf-8"))["tao_version"])


def dict_with(base: dict, **dotted) -> dict:
    """A deep copy of `base` with `a__b__c=value` keys set (double underscores separate levels)."""
    import copy

    out = copy.deepcopy(base)
    for key, value in dotted.items():
        node = out
        *parents, leaf = key.split("__")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


# The one TAO release of the checkout (versions.yaml `tao_version`): image tags start with it.
RELEASE = _release()


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self):
        import json
        return json.loads(self.stdout)


def run_cli(*args: str, cwd: str | Path | None = None, env: dict | None = None,
            input: str | None = None, timeout: float = 300) -> CliResult:
    """Run `python -m tao_skill_bank ARGS` as an agent would, but inside this interpreter (no
    interpreter start-up or pandas import per call). The process is reproduced: argv, environment
    (restored afterwards), cwd, stdin, stdout/stderr as UTF-8 byte streams (logging configured by
    the CLI writes to the captured stderr), warnings shown as a fresh interpreter shows them,
    SystemExit codes, an escaping exception as a traceback + exit 1, module caches reset.
    tests/test_run_cli.py proves it gives what `run_cli_subprocess` gives. Use
    `run_cli_subprocess` only where the process boundary is the point."""
    import traceback

    from tao_skill_bank import cli

    argv = [str(a) for a in args]
    with _cli_process(argv, cwd, env, input, timeout) as (stdout, stderr):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse --help/--version/usage errors, explicit exits
            code = exc.code
        except _CliTimeout:
            raise
        except Exception:  # what the interpreter does with an uncaught exception
            traceback.print_exc(file=sys.stderr)
            code = 1
        if code is None:
            code = 0
        elif not isinstance(code, int):
            print(code, file=sys.stderr)
            code = 1
    return CliResult(code & 0xFF, stdout.getvalue(), stderr.getvalue())


def run_cli_subprocess(*args: str, cwd: str | Path | None = None, env: dict | None = None,
                       input: str | None = None, timeout: float = 300) -> CliResult:
    """Run `python -m tao_skill_bank ARGS` in a child process: for tests whose point is the
    process boundary (start-up cost, what a fresh interpreter imports, exit status of the OS)."""
    full_env = dict(os.environ)
    full_env.setdefault("TAO_SKILL_BANK_CACHE", str(TEST_CACHE))
    if env:
        full_env.update(env)
    proc = subprocess.run([sys.executable, "-m", "tao_skill_bank", *map(str, args)], cwd=cwd,
                          env=full_env, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


class _CliTimeout(BaseException):
    """Raised by the alarm inside an in-process run (BaseException: the CLI's catch-all must not
    turn it into an exit code); run_cli re-raises it as subprocess.TimeoutExpired."""


class _Captured:
    """A text stream over bytes, as a child's pipe is: UTF-8, stdout strict, stderr backslashreplace."""

    def __init__(self, errors: str):
        import io
        self.buffer = io.BytesIO()
        self.stream = io.TextIOWrapper(self.buffer, encoding="utf-8", errors=errors, newline="\n")

    def getvalue(self) -> str:
        self.stream.flush()
        return self.buffer.getvalue().decode("utf-8")


# The warning filters of a fresh interpreter started without -W or PYTHONWARNINGS.
_FRESH_WARNING_FILTERS = [("default", None, DeprecationWarning, "__main__", 0),
                          ("ignore", None, DeprecationWarning, None, 0),
                          ("ignore", None, PendingDeprecationWarning, None, 0),
                          ("ignore", None, ImportWarning, None, 0),
                          ("ignore", None, ResourceWarning, None, 0)]


def _reset_module_caches() -> None:
    """Clear every functools cache in the package: a child process starts with none."""
    for name, module in list(sys.modules.items()):
        if not name.startswith("tao_skill_bank") or module is None:
            continue
        for value in list(vars(module).values()):
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == name:
                value.cache_clear()


@contextlib.contextmanager
def _cli_process(argv: list[str], cwd, env: dict | None, input: str | None, timeout: float):
    import io
    import logging
    import signal
    import threading
    import warnings

    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_argv, saved_streams = sys.argv, (sys.stdin, sys.stdout, sys.stderr)
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    stdout, stderr = _Captured("strict"), _Captured("backslashreplace")
    use_alarm = threading.current_thread() is threading.main_thread() and timeout is not None
    saved_alarm = None
    try:
        os.environ.setdefault("TAO_SKILL_BANK_CACHE", str(TEST_CACHE))
        os.environ.update({k: str(v) for k, v in (env or {}).items()})
        if cwd is not None:
            os.chdir(cwd)
        import tao_skill_bank
        sys.argv = [str(Path(tao_skill_bank.__file__).with_name("__main__.py")), *argv]
        sys.stdin = io.TextIOWrapper(io.BytesIO((input or "").encode("utf-8")), encoding="utf-8")
        sys.stdout, sys.stderr = stdout.stream, stderr.stream
        root.handlers = []             # a fresh interpreter: basicConfig in cli.main installs its own
        root.setLevel(logging.WARNING)
        _reset_module_caches()
        if use_alarm:
            def _expire(signum, frame):
                raise _CliTimeout()
            saved_alarm = signal.signal(signal.SIGALRM, _expire)
            signal.setitimer(signal.ITIMER_REAL, timeout)
        with warnings.catch_warnings():
            warnings.filters[:] = _FRESH_WARNING_FILTERS
            try:
                yield stdout, stderr
            except _CliTimeout:
                raise subprocess.TimeoutExpired([sys.executable, "-m", "tao_skill_bank", *argv], timeout,
                                                stdout.getvalue(), stderr.getvalue()) from None
            finally:
                for stream in (sys.stdout, sys.stderr):
                    stream.flush()
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            if saved_alarm is not None:
                signal.signal(signal.SIGALRM, saved_alarm)
        for handler in root.handlers:
            if handler not in saved_handlers:
                handler.close()
        root.handlers = saved_handlers
        root.setLevel(saved_level)
        sys.argv, (sys.stdin, sys.stdout, sys.stderr) = saved_argv, saved_streams
        os.chdir(saved_cwd)
        for key in set(os.environ) - set(saved_env):
            del os.environ[key]
        os.environ.update(saved_env)


def assert_one_line_error(result: CliResult, *needles: str) -> None:
    """Bad input: non-zero exit, one line on stderr, no traceback, mentions each needle."""
    assert result.code != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = [l for l in result.stderr.splitlines() if l.startswith("error:")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


# ---------------------------------------------------------------- fake skill banks and tools
# (shared by the AutoML, params and container tests; built in tmp_path, never committed)

OI_SKILL = "tao-train-optical-inspection"


def oi_skill_info(automl_enabled: bool = True) -> dict:
    """A small references/skill_info.yaml in the shared shape (train + downstream actions)."""
    def action(name: str, spec_params: list[tuple[str, str]]) -> dict:
        return {"command": f"optical_inspection {name} -e {{config_path}}", "config_format": "yaml",
                "results_subdir": name, "outputs": {"results_dir": {"type": "folder"}},
                "spec_params": [{"spec_key": k, "resolver": r} for k, r in spec_params]}
    common = [("results_dir", "output_dir"), ("encryption_key", "key")]
    return {"skill": OI_SKILL, "network_arch": "optical_inspection", "automl_enabled": automl_enabled,
            "container_image": "tao_toolkit.pyt", "data_format": "default", "actions": {
        "train": action("train", common + [("train.pretrained_model_path", "ptm_if_no_resume_model"),
                                           ("train.resume_training_checkpoint_path", "resume_model")]),
        "evaluate": action("evaluate", common + [("evaluate.checkpoint", "parent_model")]),
        "inference": action("inference", common + [("inference.checkpoint", "parent_model")]),
        "export": action("export", common + [("export.checkpoint", "parent_model"),
                                             ("export.onnx_file", "create_onnx_file")]),
    }}


def make_oi_split(root: Path, name: str, wrapper: bool = True) -> tuple[Path, Path]:
    """A fake extracted OI split: dataset.csv + images (inside an images/images wrapper if asked)."""
    split = root / name
    images = split / "images" / "images" if wrapper else split / "images"
    # 10 rows, both classes: enough for the template's batch of 8 and the train sampler (which
    # divides by the number of defect rows) — spec validation refuses smaller local splits.
    labels = ["PASS"] * 7 + ["bridge", "missing", "short"]
    for folder in ("golden", "boardA"):
        (images / folder).mkdir(parents=True)
        for index in range(len(labels)):
            for light in ("LowAngleLight", "SolderLight", "UniformLight", "WhiteLight"):
                (images / folder / f"C{index + 1}_{light}.jpg").write_bytes(b"jpg")
    rows = "".join(f"boardA,golden,C{i + 1},{label}\n" for i, label in enumerate(labels))
    (split / "dataset.csv").write_text("input_path,golden_path,object_name,label\n" + rows)
    return split, images


def make_skill_bank(root: Path, skill_info: dict | None = None, *, train_files: bool = True) -> Path:
    """A bank root with versions.yaml and one OI skill (skill_info, train schema + template)."""
    import json
    import shutil

    import yaml

    info = skill_info or oi_skill_info()
    skill = root / "skills" / info["skill"]
    (skill / "references").mkdir(parents=True)
    (skill / "schemas").mkdir()
    shutil.copy(REPO_ROOT / "versions.yaml", root / "versions.yaml")
    (skill / "SKILL.md").write_text(f"---\nname: {info['skill']}\ndescription: test skill\n---\nbody\n")
    (skill / "references" / "skill_info.yaml").write_text(yaml.safe_dump(info, sort_keys=False))
    if train_files:
        (skill / "schemas" / "train.schema.json").write_text(json.dumps({"type": "collection", "properties": {}}))
        (skill / "references" / "spec_template_train.yaml").write_text("train:\n  num_epochs: 10\n")
    return root


def fake_tools(bin_dir: Path, calls_log: Path, *, daemon: bool = True, image_present: bool = True,
               gpu: bool = True, run_exit: int = 0) -> dict:
    """Fake `docker` and `nvidia-smi` that append their argv (one JSON list per line) to calls_log.
    Returns the env overrides that put them first on PATH."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    docker = f"""#!{sys.executable}
import json, sys
with open({str(calls_log)!r}, "a") as log:
    log.write(json.dumps(["docker", *sys.argv[1:]]) + "\\n")
cmd = sys.argv[1:2]
if cmd == ["info"]:
    sys.exit(0 if {daemon!r} else 1)
if sys.argv[1:3] == ["image", "inspect"]:
    sys.exit(0 if {image_present!r} else 1)
if cmd == ["pull"]:
    sys.exit(1)
if cmd == ["run"]:
    if "chown" not in sys.argv:
        print("fake container output")
    sys.exit(0 if "chown" in sys.argv else {run_exit!r})
sys.exit(0)
"""
    smi = f"""#!{sys.executable}
import json, sys
with open({str(calls_log)!r}, "a") as log:
    log.write(json.dumps(["nvidia-smi", *sys.argv[1:]]) + "\\n")
print("GPU 0: Fake GPU (UUID: GPU-0)" if {gpu!r} else "")
sys.exit(0 if {gpu!r} else 9)
"""
    for name, text in (("docker", docker), ("nvidia-smi", smi)):
        path = bin_dir / name
        path.write_text(text)
        path.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


def tao_skills_on_path(bin_dir: Path) -> str:
    """A `tao-skills` shim running this interpreter's package, for pasting documented commands
    into bash; returns the PATH prefix that puts it first."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "tao-skills"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m tao_skill_bank \"$@\"\n")
    shim.chmod(0o755)
    return f"{bin_dir}{os.pathsep}"


def recorded_calls(calls_log: Path) -> list[list[str]]:
    import json

    if not calls_log.exists():
        return []
    return [json.loads(line) for line in calls_log.read_text().splitlines() if line.strip()]


# ---------------------------------------------------------------- gap analysis runs
# (shared by the tests/gaps/ tests of run, summary, spotcheck and report)

def gap_example_run(base: Path, n_samples: int = 400, **request) -> tuple[Path, Path]:
    """A generated VCN experiment (`gaps example`) and one finished local `gaps run` on it:
    returns (exp_dir, results_dir). `request` overrides RunRequest fields (min_recall, top_k, ...)."""
    from tao_skill_bank.gaps.example import ExampleConfig, create_example
    from tao_skill_bank.gaps.run import RunRequest, run

    exp = base / "exp"
    create_example(exp, ExampleConfig(n_samples=n_samples))
    facts = run(RunRequest(exp_dir=str(exp), dataset_root=str(exp / "images"), engine="local", **request))
    return exp, Path(facts["results_dir"])


def fill_example_verdicts(results_dir: Path, n_samples: int) -> dict[str, str]:
    """Play the agent on a `gaps example` run: judge each spot-check sample from the example's
    ground truth (mislabeled when its image contradicts its label, else edge case) and write
    spotcheck.json. Returns {filepath: verdict}."""
    import json

    from tao_skill_bank.gaps.example import ExampleConfig, generate_samples

    truth = {s.object_name: s for s in generate_samples(ExampleConfig(n_samples=n_samples))}
    path = Path(results_dir) / "spotcheck.json"
    doc = json.loads(path.read_text())
    for entry in doc["samples"]:
        sample = truth[Path(entry["filepath"]).name.rsplit("_", 1)[0]]
        entry["verdict"] = "mislabeled" if sample.looks_like != sample.label else "edge case"
        entry["note"] = f"the part shows {sample.looks_like.lower().replace('_', ' ')}"
    path.write_text(json.dumps(doc, indent=2))
    return {e["filepath"]: e["verdict"] for e in doc["samples"]}


# ---------------------------------------------------------------- documented shell blocks
# (shared by the skill-doc tests: every documented command exists, and blocks run as pasted)

def bash_blocks(text: str) -> list[str]:
    """The bodies of the fenced ```bash blocks of a Markdown text, in order."""
    import re

    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def documented_commands(text: str) -> list[str]:
    """tao-skills command lines of the bash blocks (continuations joined, one per pipeline part)."""
    import re

    commands = []
    for block in bash_blocks(text):
        for line in block.replace("\\\n", " ").splitlines():
            for part in re.split(r"\$\(|\||;|&&", line):
                if "tao-skills " in part:
                    commands.append(part[part.index("tao-skills "):].split("#")[0].strip().rstrip(")"))
    return commands


def cli_subparser(words: list[str]):
    """The argparse parser of `tao-skills WORDS...` (e.g. ["spec", "build"])."""
    from tao_skill_bank import cli

    parser = cli.build_parser()
    for word in words:
        sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
        parser = sub.choices[word]
    return parser


def unknown_flags(command: str) -> list[str]:
    """The `--flags` of a documented `tao-skills ...` line that its command does not have."""
    import shlex

    words = shlex.split(command.replace("$", "X"))[1:]
    parser = cli_subparser([w for w in words[:2] if not w.startswith("-")])
    known = {opt for action in parser._actions for opt in action.option_strings}
    return [w for w in words if w.startswith("--") and w.split("=")[0] not in known]


def run_bash_block(script: str, shim_dir: Path, env: dict | None = None, timeout: float = 180):
    """Run a documented block as a user pastes it (`bash -euc`), with a `tao-skills` for this
    checkout first on PATH; `env` adds or overrides variables (a PATH given is put before it)."""
    extra = dict(env or {})
    path = tao_skills_on_path(shim_dir) + os.environ["PATH"]
    if "PATH" in extra:
        path = f"{extra.pop('PATH')}{os.pathsep}{path}"
    full = {**os.environ, **{k: str(v) for k, v in extra.items()}, "PATH": path}
    return subprocess.run(["bash", "-euc", script], env=full, capture_output=True, text=True, timeout=timeout)

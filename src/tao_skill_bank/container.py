"""Docker adapter shared by every container call in the bank (gap analysis, train, deploy).

Pure part: `DockerRun.argv()` builds the exact command line, `paths_outside_workspace` refuses
host paths the container could not see. World part: `preflight` (docker daemon, GPU, image
present or pulled), `run` and `restore_ownership`. Tests drive the world part with a fake
`docker` executable on PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from tao_skill_bank.errors import EXIT_ENVIRONMENT, UserError


@dataclass(frozen=True)
class DockerRun:
    """One `docker run` of a TAO image with the workspace mounted at the same path."""

    image: str
    entrypoint_args: Sequence[str]
    workspace: Path
    gpus: bool = True
    env: dict[str, str] = field(default_factory=dict)
    docker: str = "docker"

    def argv(self) -> list[str]:
        ws = str(self.workspace)
        require_mountable(self.workspace)
        cmd = [self.docker, "run", "--rm"]
        if self.gpus:
            cmd += ["--gpus", "all"]
        cmd += ["--ipc=host", "-v", f"{ws}:{ws}", "-w", ws]
        for key in sorted(self.env):
            cmd += ["-e", f"{key}={self.env[key]}"]
        # Never `--user`: the TAO images fail with KeyError getpwuid(); ownership is restored after.
        cmd.append(self.image)
        cmd.extend(self.entrypoint_args)
        return cmd


# Docker's `-v SRC:DST[:OPTIONS]` splits on ':' and has no escape for it; a control character
# (newline, tab, ...) in a mount path splits the logged command line and the container's argv.
_UNMOUNTABLE = re.compile(r"[:\x00-\x1f\x7f]")


def require_mountable(path: Path, field: str = "workspace") -> None:
    """Refuse a host path Docker's `-v W:W` cannot express (a ':' or a control character in it).
    (`,` separates `--mount` options but is literal in `-v`, which is all the bank uses.)"""
    text = str(path)
    bad = _UNMOUNTABLE.search(text)
    if bad:
        shown = "':'" if bad.group() == ":" else f"control character {bad.group()!r}"
        raise UserError(f"Docker's -v SRC:DST cannot mount a path holding {shown}: {text!r}", field=field,
                        fix="move or link the files under a folder whose path has no ':' or control "
                            "characters and pass that as the workspace")


# Hydra 1.3 override values: unquoted, these stay plain strings (an absolute path of safe characters).
_HYDRA_PLAIN_PATH = re.compile(r"/[A-Za-z0-9_./@+:-]*")


def hydra_string(value: str) -> str:
    """`value` written as a Hydra 1.3 override value that Hydra's parser and OmegaConf 2.3 turn
    back into exactly `value`: `${` is escaped as OmegaConf expects (`\\${`, with the backslashes
    just before it doubled), so an interpolation such as `${oc.env:...}` in a path is never
    resolved; anything but a plain absolute path is single-quoted with Hydra's escapes (a quote,
    and backslashes just before a quote or the closing quote, get a backslash)."""
    escaped = re.sub(r"(\\*)\$\{", lambda m: m.group(1) * 2 + "\\${", value)
    if escaped == value and _HYDRA_PLAIN_PATH.fullmatch(value):
        return value
    quoted = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", escaped)
    quoted = re.sub(r"(\\+)\Z", lambda m: m.group(1) * 2, quoted)
    return f"'{quoted}'"


def chown_argv(helper_image: str, workspace: Path, target: Path, uid: int, gid: int,
               docker: str = "docker") -> list[str]:
    """Give files the container wrote as root back to the host user."""
    rel = Path(target).resolve().relative_to(Path(workspace).resolve())
    require_mountable(Path(workspace).resolve())
    return [docker, "run", "--rm", "-v", f"{Path(workspace).resolve()}:/w", helper_image,
            "chown", "-R", f"{uid}:{gid}", str(Path("/w") / rel)]


def is_inside(path: Path, workspace: Path) -> bool:
    try:
        Path(os.path.abspath(path)).resolve().relative_to(Path(workspace).resolve())
        return True
    except ValueError:
        return False


def paths_outside_workspace(paths: Iterable[tuple[str, Path]], workspace: Path) -> list[str]:
    """Names of (name, path) pairs the container would not see under `-v W:W`."""
    return [f"{name}={path}" for name, path in paths if not is_inside(Path(path), workspace)]


def host_path_values(data, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted key, value) of every string in a nested spec that names a host path: absolute,
    `~`, `./` or `../`. URIs (scheme://) are not host paths."""
    found: list[tuple[str, str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            found.extend(host_path_values(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found.extend(host_path_values(value, f"{prefix}[{index}]"))
    elif isinstance(data, str) and "://" not in data and data.startswith(("/", "~", "./", "../")):
        found.append((prefix, data))
    return found


# `${` not escaped by an odd run of backslashes: OmegaConf resolves it when the container reads the value.
_INTERPOLATION = re.compile(r"(?<!\\)(?:\\\\)*\$\{")


def unescaped_interpolations(data, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted key, value) of every string in a nested spec holding a Hydra/OmegaConf interpolation
    (`${...}`) that the container would resolve (`\\${` is a literal and passes)."""
    found: list[tuple[str, str]] = []
    stack = [(prefix, data)]
    while stack:
        key, node = stack.pop()
        if isinstance(node, dict):
            stack.extend((f"{key}.{k}" if key else str(k), v) for k, v in reversed(list(node.items())))
        elif isinstance(node, list):
            stack.extend((f"{key}[{i}]", v) for i, v in reversed(list(enumerate(node))))
        elif isinstance(node, str) and _INTERPOLATION.search(node):
            found.append((key, node))
    return found


def refuse_interpolations(data, file: str | None = None, field_prefix: str = "") -> None:
    """One-line error for `${...}` in a value TAO's Hydra would resolve inside the container: our
    schema and workspace checks see the text, the container would see something else
    (`${oc.env:VAR}` even reads the container's environment)."""
    found = unescaped_interpolations(data, field_prefix)
    if found:
        key, value = found[0]
        raise UserError(f"{value[:80]!r} holds a Hydra interpolation '${{...}}' the container would resolve "
                        "(the bank's checks cannot see its value)", file=file, field=key,
                        fix="write the value itself; for a literal '${' write '\\${'")


def as_container_path(value: str, workspace: Path) -> Path:
    """The host path a spec value names as the container sees it: relative values resolve against
    the working directory, which is the workspace (`-w W`). (`~` is the container's home, not the
    host's: callers refuse it before asking.)"""
    path = Path(value)
    return path if path.is_absolute() else Path(workspace) / path


def require_inside_workspace(paths: Iterable[tuple[str, Path]], workspace: Path) -> None:
    outside = paths_outside_workspace(paths, workspace)
    if outside:
        raise UserError(f"paths outside the mounted workspace {workspace}: {', '.join(outside)}",
                        field="workspace", fix="pass --workspace covering every path, or move the files inside it")


@dataclass(frozen=True)
class PreflightCheck:
    name: str
    ok: bool
    detail: str    # what was found
    fix: str = ""  # what to do about it (failed checks)

    @property
    def message(self) -> str:
        return f"{self.detail} — {self.fix}" if self.fix else self.detail

    def as_dict(self) -> dict:
        return {"check": self.name, "ok": self.ok, "detail": self.detail, "fix": self.fix}


def _quiet(cmd: list[str], timeout: float) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None


def preflight(image: str, *, need_gpu: bool = True, pull: bool = True, docker: str = "docker",
              timeout: float = 30.0, alternative: str = "--engine local") -> list[PreflightCheck]:
    """Docker daemon, GPU, image (pulled when missing). Stops at the first failure that makes the
    rest meaningless (no docker -> no image check). `alternative` is what the caller can do
    without Docker/GPU, named in the messages."""
    checks: list[PreflightCheck] = []
    if shutil.which(docker) is None:
        return [PreflightCheck("docker", False, "docker CLI not found on PATH",
                               f"install Docker or use {alternative}")]
    info = _quiet([docker, "info"], timeout)
    if info is None or info.returncode != 0:
        why = (info.stderr.strip().splitlines() or ["no answer"])[-1] if info else "timed out"
        return [PreflightCheck("docker", False, f"docker daemon not reachable ({why})",
                               f"start Docker or use {alternative}")]
    checks.append(PreflightCheck("docker", True, "daemon reachable"))
    if need_gpu:
        smi = _quiet(["nvidia-smi", "-L"], timeout) if shutil.which("nvidia-smi") else None
        if smi is None or smi.returncode != 0 or "GPU" not in smi.stdout:
            checks.append(PreflightCheck("gpu", False, "no NVIDIA GPU visible (nvidia-smi -L)",
                                         f"use a GPU host or {alternative}"))
        else:
            checks.append(PreflightCheck("gpu", True, smi.stdout.strip().splitlines()[0]))
    inspect = _quiet([docker, "image", "inspect", image], timeout)
    if inspect is not None and inspect.returncode == 0:
        checks.append(PreflightCheck("image", True, f"{image} present"))
    elif not pull:
        checks.append(PreflightCheck("image", False, f"{image} not present locally",
                                     f"run `docker pull {image}`"))
    else:
        pulled = _quiet([docker, "pull", image], max(timeout, 1800.0))
        if pulled is not None and pulled.returncode == 0:
            checks.append(PreflightCheck("image", True, f"{image} pulled"))
        else:
            why = (pulled.stderr.strip().splitlines() or ["failed"])[-1] if pulled else "timed out"
            checks.append(PreflightCheck("image", False, f"cannot pull {image} ({why})",
                                         "`docker login nvcr.io` with an NGC key"))
    return checks


def require_preflight(checks: list[PreflightCheck]) -> None:
    failed = [c for c in checks if not c.ok]
    if failed:
        raise UserError("; ".join(f"{c.name}: {c.message}" for c in failed), field="preflight",
                        fix="see each failed check above", exit_code=EXIT_ENVIRONMENT)


def docker_engine_ready(image: str, docker: str = "docker") -> tuple[bool, str]:
    """For `--engine auto`: docker daemon, GPU and image all present, without pulling."""
    checks = preflight(image, need_gpu=True, pull=False, docker=docker, timeout=10.0)
    failed = [c for c in checks if not c.ok]
    if failed:
        # Only the reasons: for `auto`, falling back to local is the fix.
        return False, "; ".join(c.detail for c in failed)
    return True, "docker daemon, GPU and image present"


def run(argv: Sequence[str], *, log_path: Path | None = None) -> int:
    """Run a container command, streaming output to our stderr (and a log file if given)."""
    with subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace") as proc:
        log = open(log_path, "w", encoding="utf-8") if log_path else None
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                sys.stderr.write(line)
                if log:
                    log.write(line)
        finally:
            if log:
                log.close()
        return proc.wait()


def restore_ownership(helper_image: str, workspace: Path, target: Path, docker: str = "docker") -> int:
    if not hasattr(os, "getuid"):
        return 0
    return run(chown_argv(helper_image, workspace, target, os.getuid(), os.getgid(), docker))

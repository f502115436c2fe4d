"""Isolated virtual environments for the public TAO wheels we use as schema sources and test
oracles (nvidia-tao-core, nvidia-tao-ds). Built once per cache folder, keyed by what was
installed, so a rerun costs nothing and a changed recipe builds a new env.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from tao_skill_bank.errors import EXIT_ENVIRONMENT, UserError

CACHE_ENV = "TAO_SKILL_BANK_CACHE"
_READY_MARKER = "tao-skill-bank-recipe.json"


def default_cache_root() -> Path:
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "tao-skill-bank"


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(name: str, steps: Sequence[Sequence[str]], cache_root: Path | None = None,
                timeout: float = 900.0) -> Path:
    """Create (or reuse) a venv and run each `pip install <step...>`; return its python.

    `steps` are pip argument lists, e.g. [["--no-deps", "nvidia-tao-ds==<release>"], ["pandas"]].
    Raises UserError (exit 2) with pip's last line when the env cannot be built.
    """
    recipe = json.dumps([list(s) for s in steps], sort_keys=True)
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    root = (cache_root or default_cache_root()) / f"{name}-{digest}"
    python = venv_python(root)
    marker = root / _READY_MARKER
    if marker.is_file() and python.exists():
        return python
    if root.exists():
        shutil.rmtree(root)  # a half-built env from an interrupted run: our own cache, safe to rebuild
    root.parent.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "venv", str(root)], name, timeout)
    for step in steps:
        _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *step],
             name, timeout)
    marker.write_text(recipe + "\n", encoding="utf-8")
    return python


def _run(cmd: list[str], name: str, timeout: float) -> None:
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UserError(f"cannot build the isolated env '{name}' ({type(exc).__name__})",
                        fix="check network access to PyPI and rerun", exit_code=EXIT_ENVIRONMENT)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise UserError(f"cannot build the isolated env '{name}': {last}",
                        fix="check network access to PyPI and rerun", exit_code=EXIT_ENVIRONMENT)

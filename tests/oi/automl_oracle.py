"""NVIDIA's real AutoML runner (nvidia-tao-automl + nvidia-tao-sdk 7.2.0) in an isolated venv.

Installed `--no-deps` (their declared extras pull every cloud platform) with the light
dependencies the runner imports. The runner bundles its own optical_inspection config
(`tao_automl.config.optical_inspection`), so `validate_skill_runtime` needs no nvidia-tao-core.
Tests run small driver scripts in this venv with `run_oracle(...)`; our own package is never
installed there (the oracle judges our files, not our code)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import support



def oracle_steps() -> list[list[str]]:
    """The runner's own pins from versions.yaml (`automl:`, a line separate from tao_version)."""
    from tao_skill_bank.oi.automl_plan import runner_requirements
    from tao_skill_bank.versions import load_versions

    return [["--no-deps", *runner_requirements(load_versions(support.REPO_ROOT))],
            ["pyyaml", "numpy", "pandas", "omegaconf", "scipy", "scikit-learn", "requests"]]


def automl_oracle_python() -> Path:
    """Python of the AutoML oracle venv; skips loudly (reason printed by -ra) when it cannot be built."""
    from tao_skill_bank.errors import UserError
    from tao_skill_bank.venvs import ensure_venv

    try:
        return ensure_venv("oracle-tao-automl", oracle_steps(), cache_root=support.TEST_CACHE)
    except UserError as exc:  # no index reachable: say so, never pass silently
        pytest.skip(f"AutoML oracle venv unavailable: {exc}")


def run_oracle(python: Path, script: str, *args: str, env: dict | None = None, cwd: Path | None = None,
               timeout: float = 600) -> dict:
    """Run `script` (Python source) in the oracle venv; it must print one JSON object last."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    full_env.update(env or {})
    proc = subprocess.run([str(python), "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout, env=full_env, cwd=cwd)
    assert proc.returncode == 0, f"oracle script failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])

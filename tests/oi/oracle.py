"""The real optical-inspection code (nvidia-tao-core + nvidia-tao-deploy) in an isolated venv.

Shared by the OI differential suites (spec merge, Deploy dataloader). Versions come from
versions.yaml so the oracle is always the release the bank targets."""

from __future__ import annotations

from pathlib import Path

import pytest

import support


def oracle_steps() -> list[list[str]]:
    from tao_skill_bank.versions import load_versions

    wheels = load_versions(support.REPO_ROOT).get("wheels") or {}
    return [["--no-deps", f"nvidia-tao-core=={wheels['nvidia_tao_core']}",
             f"nvidia-tao-deploy=={wheels['nvidia_tao_deploy']}"],
            ["omegaconf==2.3.0", "hydra-core==1.3.2", "pyyaml", "numpy", "pandas", "pillow"]]


def oi_oracle_python() -> Path:
    """Python of the OI oracle venv; skips loudly (reason printed by -ra) when it cannot be built."""
    from tao_skill_bank.errors import UserError
    from tao_skill_bank.venvs import ensure_venv

    try:
        return ensure_venv("oracle-tao-oi", oracle_steps(), cache_root=support.TEST_CACHE)
    except UserError as exc:  # no index reachable: say so, never pass silently
        pytest.skip(f"OI oracle venv unavailable: {exc}")

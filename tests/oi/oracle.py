"""The real optical-inspection code (nvidia-tao-core + nvidia-tao-deploy) in an isolated venv.

Shared by the OI differential suites (spec merge, Deploy dataloader). Versions come from
versions.yaml so the oracle is always the release the bank targets."""

from __future__ import annotations

from pathlib import Path

import pytest

import support


def oracle_steps() -> list[list[str]]:
    from tao_skill_bank.versions import load_versions, release_wheel

    versions = load_versions(support.REPO_ROOT)
    return [["--no-deps", release_wheel(versions, "nvidia-tao-core"), release_wheel(versions, "nvidia-tao-deploy")],
            ["omegaconf==2.3.0", "hydra-core==1.3.2", "pyyaml", "numpy", "pandas", "pillow"]]


def oi_oracle_python() -> Path:
    """Python of the OI oracle venv; skips loudly (reason printed by -ra) when it cannot be built."""
    from tao_skill_bank.errors import UserError
    from tao_skill_bank.venvs import ensure_venv

    try:
        return ensure_venv("oracle-tao-oi", oracle_steps(), cache_root=support.TEST_CACHE)
    except UserError as exc:  # no index reachable: say so, never pass silently
        pytest.skip(f"OI oracle venv unavailable: {exc}")


MERGE_DRIVER = Path(__file__).with_name("oracle_merge_driver.py")


def real_merge(cases: list[dict], python: Path | None = None, timeout: float = 600.0) -> dict[str, dict]:
    """The containers' spec merge for many cases in one oracle process.

    `cases`: [{"id", "config": "core"|"deploy", "spec_yaml", "hydra": bool}]. Returns
    {id: {"ok", "error", "merged"}} (see oracle_merge_driver.py)."""
    import json
    import subprocess

    python = python or oi_oracle_python()
    stdin = "".join(json.dumps(case) + "\n" for case in cases)
    proc = subprocess.run([str(python), str(MERGE_DRIVER)], input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert len(results) == len(cases), proc.stderr[-2000:]
    return {r["id"]: r for r in results}


# TAO Deploy's dataloader imports cv2 (it resizes with cv2.resize): the loader differential needs it.
OPENCV = "opencv-python-headless==4.12.0.88"


def oi_loader_oracle_python() -> Path:
    """Python of the OI oracle plus OpenCV, for running TAO Deploy's real OpticalInspectionDataLoader."""
    from tao_skill_bank.errors import UserError
    from tao_skill_bank.venvs import ensure_venv

    try:
        return ensure_venv("oracle-tao-oi-loader", oracle_steps() + [[OPENCV]], cache_root=support.TEST_CACHE)
    except UserError as exc:
        pytest.skip(f"OI loader oracle venv unavailable: {exc}")

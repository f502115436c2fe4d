"""Fixtures for the RCA hook tests; the builders live in rca_results_builder.py (importable by
the tests and by benchmarks/hooks_latency.py)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from rca_results_builder import build_project, build_results_dir  # noqa: E402


@pytest.fixture
def results_dir(tmp_path) -> Path:
    return build_results_dir(tmp_path)


@pytest.fixture
def project(tmp_path) -> Path:
    return build_project(tmp_path)

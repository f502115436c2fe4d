"""Shared test helpers: run the CLI as an agent would, and find the repo."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# Isolated oracle/schema venvs are cached here (gitignored): a clean clone builds them anew.
TEST_CACHE = Path(os.environ.get("TAO_SKILL_BANK_CACHE", REPO_ROOT / ".cache"))


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
    """Run `python -m tao_skill_bank ARGS` in a subprocess (what an agent does)."""
    full_env = dict(os.environ)
    full_env.setdefault("TAO_SKILL_BANK_CACHE", str(TEST_CACHE))
    if env:
        full_env.update(env)
    proc = subprocess.run([sys.executable, "-m", "tao_skill_bank", *map(str, args)], cwd=cwd,
                          env=full_env, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def assert_one_line_error(result: CliResult, *needles: str) -> None:
    """Bad input: non-zero exit, one line on stderr, no traceback, mentions each needle."""
    assert result.code != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = [l for l in result.stderr.splitlines() if l.startswith("error:")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])

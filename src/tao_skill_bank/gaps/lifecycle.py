"""A results folder's life: claimed by one run, written, then marked complete.

`claim` takes `results_dir` atomically (an `O_EXCL` claim file), so two runs into the same folder
cannot both proceed, and refuses a folder that already holds anything but the spec. The run
writes its files, then `mark_complete` writes `gap_complete.json` last (atomic rename) and drops
the claim. A run that fails, is killed or fills the disk leaves no marker, and every consumer
refuses the folder (`contract.completion_problem`), naming it as the folder to delete.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from tao_skill_bank.errors import UserError
from tao_skill_bank.gaps.contract import CLAIM, COMPLETE, SPEC, completion_record


@dataclass(frozen=True)
class Claim:
    results_dir: Path
    created: tuple[Path, ...] = ()   # folders this run made, deepest first (release removes them when empty)

    @property
    def created_dir(self) -> bool:
        return bool(self.created) and self.created[0] == self.results_dir


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _holder(path: Path) -> str:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {int(data['pid'])} on {str(data['host'])[:64]} since {str(data['started_at'])[:32]}"
    except (OSError, ValueError, KeyError, TypeError):
        return "an unknown run"


def missing_folders(path: Path) -> tuple[Path, ...]:
    """`path` and those of its parents that do not exist yet, deepest first."""
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    return tuple(missing)


def claim(results_dir: Path, allowed: tuple[str, ...] | None = (SPEC,), field: str = "results_dir") -> Claim:
    """Take `results_dir` for this run. `allowed`: names it may already hold (None: anything,
    for completing a container's own output)."""
    results_dir = Path(results_dir)
    created = missing_folders(results_dir)
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UserError("exists and is not a folder", file=str(results_dir), field=field,
                        fix="pass a new folder path as results_dir") from None
    claim_path = results_dir / CLAIM
    try:
        fd = os.open(claim_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise UserError(f"claimed by another gap-analysis run ({_holder(claim_path)}), or left by one "
                        "that was killed", file=str(results_dir), field=field,
                        fix=f"pass a new results_dir; if no run is using it, delete {results_dir}") from None
    held = Claim(results_dir, created)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"pid": os.getpid(), "host": socket.gethostname(), "started_at": _now()}, handle)
        if allowed is not None:
            others = sorted(p.name for p in results_dir.iterdir() if p.name != CLAIM and p.name not in allowed)
            if others:
                shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
                raise UserError(f"already holds files ({shown}); refusing to overwrite a previous run",
                                file=str(results_dir), field=field,
                                fix="pass a new results_dir, e.g. <exp>/rca_results/$(date +%Y-%m-%d_%H%M%S)")
    except BaseException:
        release(held)
        raise
    return held


def release(held: Claim) -> None:
    """Give the folder up without marking it complete (the run failed cleanly)."""
    try:
        (held.results_dir / CLAIM).unlink()
    except OSError:
        pass
    remove_empty(held.created)


def remove_empty(folders: tuple[Path, ...]) -> None:
    """Remove `folders` (deepest first) while they are empty: never deletes what a run wrote."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            break


@contextmanager
def claimed(results_dir: Path, allowed: tuple[str, ...] | None = (SPEC,)) -> Iterator[Claim]:
    """Hold the claim for the block; released (not completed) when the block raises."""
    held = claim(results_dir, allowed)
    try:
        yield held
    except BaseException:
        release(held)
        raise


def mark_complete(results_dir: Path, engine: str) -> Path:
    """Write gap_complete.json last, then drop the claim."""
    from tao_skill_bank.fsutil import atomic_write_json

    results_dir = Path(results_dir)
    path = atomic_write_json(results_dir / COMPLETE, completion_record(results_dir, engine, _now()))
    try:
        (results_dir / CLAIM).unlink()
    except OSError:
        pass
    return path

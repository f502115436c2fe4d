"""Pick a checkpoint from a train (or AutoML) results tree — exactly as asked, never a guess.

TAO PyTorch train writes `<results_dir>/train/model_epoch_{epoch:03d}_step_{step:05d}.pth` (one
per checkpoint interval; epochs count from 0), a symlink `oi_model_latest.pth`, and — when
`train.checkpointer.enable_topk` is on (our train template turns it on, monitoring val_acc, mode
max, save_top_k 1) — `model_best_{epoch:03d}.pth`. Searched recursively, so `train/` counts.
An AutoML workspace (the runner's `.automl/` state) is read by `oi/automl_state.py`: `best` there
is the winning trial's checkpoint. Selections:
- `latest`: highest (epoch, step) — only when the user asked for the latest;
- `best`: the `model_best_*` file; several of them are an ambiguity;
- `epoch=N` / `step=N`: exactly that epoch / step as written in the file name (epoch 0 is the
  first epoch); several matches are an ambiguity.
Only regular files are ever returned: directories, FIFOs, dangling symlinks and symlinks leading
out of the results folder are ignored (and named when nothing else matches); a symlink to a
regular file inside the folder resolves to its target. Symlinked folders are not entered.
Pure core: `parse_selection`, `classify`, `select_checkpoint`. Adapter: `scan_checkpoint_files`.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path

from tao_skill_bank.errors import EXIT_ENVIRONMENT, UserError

EPOCH_RE = re.compile(r"^model_epoch_(\d+)_step_(\d+)\.pth$")
BEST_RE = re.compile(r"^model_best[_.].*\.pth$|^model_best\.pth$")
BEST_EPOCH_RE = re.compile(r"^model_best_(\d+)\.pth$")      # the checkpointer's model_best_{epoch:03d}
# What the train template sets (train.checkpointer) so a direct run has a "best" file too.
TOPK_SETTINGS = {"enable_topk": True, "monitor": "val_acc", "mode": "max", "save_top_k": 1}
SELECT_HELP = "latest | best | epoch=N | step=N"
_SHOWN = 8


@dataclass(frozen=True)
class Checkpoint:
    path: str                   # relative to the results folder, '/'-separated
    kind: str                   # epoch | best
    epoch: int | None = None
    step: int | None = None
    target: str | None = None   # for a symlink: the regular file it leads to (relative, inside the folder)

    @property
    def file(self) -> str:
        """The regular file to hand to TAO (a symlink's target, else the path itself)."""
        return self.target or self.path

    @property
    def child(self) -> str:
        """First folder under the results dir ('' for files at the top)."""
        parts = self.path.split("/")
        return parts[0] if len(parts) > 1 else ""


@dataclass(frozen=True)
class Selection:
    kind: str                   # latest | best | epoch | step
    value: int | None = None

    def __str__(self) -> str:
        return self.kind if self.value is None else f"{self.kind}={self.value}"


def parse_selection(text: str) -> Selection:
    value = (text or "").strip().lower()
    if value in ("latest", "best"):
        return Selection(value)
    match = re.fullmatch(r"(epoch|step)\s*[=:]\s*(\d+)", value)
    if match:
        return Selection(match.group(1), int(match.group(2)))
    raise UserError(f"unknown selection '{text}'", field="--select", fix=f"use one of: {SELECT_HELP}")


def classify(relative_path: str) -> Checkpoint | None:
    name = relative_path.rsplit("/", 1)[-1]
    match = EPOCH_RE.match(name)
    if match:
        return Checkpoint(relative_path, "epoch", int(match.group(1)), int(match.group(2)))
    if BEST_RE.match(name):
        best_epoch = BEST_EPOCH_RE.match(name)
        return Checkpoint(relative_path, "best", int(best_epoch.group(1)) if best_epoch else None)
    return None


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _unique_files(checkpoints: list[Checkpoint]) -> list[Checkpoint]:
    """One entry per regular file: a symlink and its target (both checkpoints) count once."""
    seen: dict[str, Checkpoint] = {}
    for c in checkpoints:
        kept = seen.get(c.file)
        if kept is None or (kept.target and not c.target):   # prefer the real file's own entry
            seen[c.file] = c
    return sorted(seen.values(), key=lambda c: c.path)


def _listing(checkpoints: list[Checkpoint]) -> str:
    names = [c.path for c in checkpoints]
    more = f" (+{len(names) - _SHOWN} more)" if len(names) > _SHOWN else ""
    return ", ".join(names[:_SHOWN]) + more


def _ambiguous(selection: Selection, candidates: list[Checkpoint], results_dir: str, fix: str) -> UserError:
    return UserError(f"{len(candidates)} checkpoints match --select {selection}: {_listing(candidates)}",
                     file=results_dir, field="--select", fix=fix)


def select_checkpoint(checkpoints: list[Checkpoint], selection: Selection, *, results_dir: str = "") -> Checkpoint:
    """The one checkpoint `selection` names, or a UserError listing what was found."""
    ordered = sorted(checkpoints, key=lambda c: c.path)
    if not ordered:
        raise UserError("no checkpoints found (looked for model_epoch_<E>_step_<S>.pth and model_best_*.pth, "
                        "recursively)", file=results_dir, field="--select",
                        fix="point at the train job's results folder, or check that training saved a checkpoint")
    epochs = _unique_files([c for c in ordered if c.kind == "epoch"])
    if selection.kind == "latest":
        if not epochs:
            raise UserError(f"no model_epoch_* checkpoint to call latest; found: {_listing(ordered)}",
                            file=results_dir, field="--select", fix="use --select best")
        # Several folders (AutoML children) each have their own latest: which run is meant is a guess.
        folders = sorted({c.path.rpartition("/")[0] for c in epochs})
        newest = [max((c for c in epochs if c.path.rpartition("/")[0] == folder), key=lambda c: (c.epoch, c.step))
                  for folder in folders]
        top = max((c.epoch, c.step) for c in newest)
        tied = [c for c in newest if (c.epoch, c.step) == top]
        if len(newest) > 1 or len(tied) > 1:
            raise _ambiguous(selection, newest, results_dir,
                             "point RESULTS_DIR at one train job folder, or pick a path from the list")
        return tied[0]
    if selection.kind in ("epoch", "step"):
        attr = selection.kind
        matches = _unique_files([c for c in epochs if getattr(c, attr) == selection.value])
        if not matches and attr == "epoch":
            # model_best_{epoch:03d} holds that epoch's weights when no periodic file was saved for it
            matches = _unique_files([c for c in ordered if c.kind == "best" and c.epoch == selection.value])
        if not matches:
            available = sorted({getattr(c, attr) for c in epochs} |
                               ({c.epoch for c in ordered if c.kind == "best" and c.epoch is not None}
                                if attr == "epoch" else set()))
            hint = ""
            if attr == "epoch" and available and selection.value == max(available) + 1:
                hint = (f"; epochs count from 0, so the last saved epoch ({max(available)}) is the "
                        f"{_ordinal(max(available) + 1)} — if 'epoch {selection.value}' meant the "
                        f"{_ordinal(selection.value)} epoch, use --select epoch={selection.value - 1}")
            raise UserError(f"no checkpoint for {selection}; available {attr}s: {available or 'none'}{hint}",
                            file=results_dir, field="--select",
                            fix=f"choose one of the available {attr}s (found: {_listing(ordered)})")
        if len(matches) > 1:
            other = "step" if attr == "epoch" else "epoch"
            raise _ambiguous(selection, matches, results_dir,
                             f"add the {other} (--select {other}=N) or point RESULTS_DIR at one child folder")
        return matches[0]
    return _select_best(ordered, selection, results_dir)


def _select_best(ordered: list[Checkpoint], selection: Selection, results_dir: str) -> Checkpoint:
    bests = _unique_files([c for c in ordered if c.kind == "best"])
    if len(bests) == 1:
        return bests[0]
    if not bests:
        epochs = sorted({c.epoch for c in ordered if c.kind == "epoch"})
        raise UserError(f"no model_best_* checkpoint: this run "
                        f"saved only periodic checkpoints (epochs {epochs or 'none'}, counted from 0), i.e. it was "
                        f"trained with train.checkpointer.enable_topk off; found: {_listing(ordered)}",
                        file=results_dir, field="--select",
                        fix="ask the user which epoch to use and pass --select epoch=N (or --select latest if they "
                            "asked for the latest); future runs from the train template keep the best "
                            "(train.checkpointer.enable_topk=true, monitor val_acc)")
    folders = {c.path.rpartition("/")[0] for c in bests}
    if len(folders) == 1:
        raise _ambiguous(selection, bests, results_dir,
                         "train.checkpointer.save_top_k > 1 keeps several best files whose names do not rank "
                         "them: pick one by epoch (--select epoch=N), and train with save_top_k=1")
    raise _ambiguous(selection, bests, results_dir,
                     "these are several runs' folders: point RESULTS_DIR at one train job folder, or at the AutoML "
                     "workspace (the folder holding run_<timestamp>/.automl/) to get the winning trial")


def _regular_target(entry: os.DirEntry, root_real: str) -> tuple[str | None, str | None]:
    """(target relative to root, None) for a symlink to a regular file inside root, else (None, why)."""
    target = os.path.realpath(entry.path)
    if os.path.commonpath([root_real, target]) != root_real:
        return None, "symlink out of the results folder"
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return None, "dangling symlink"
    if not stat.S_ISREG(mode):
        return None, "symlink to something that is not a regular file"
    return Path(os.path.relpath(target, root_real)).as_posix(), None


def scan_checkpoint_files(results_dir: Path) -> tuple[list[Checkpoint], list[tuple[str, str]]]:
    """Checkpoint-named regular files under results_dir, and the (path, reason) of named entries ignored.

    Walks with os.scandir without entering symlinked folders; a symlinked checkpoint counts only
    when it leads to a regular file inside results_dir (its target is what gets returned)."""
    root = Path(results_dir)
    if not root.is_dir():
        raise UserError("results folder not found", file=str(root),
                        fix="pass the train job's results folder (the one holding model_epoch_*.pth or AutoML children)", exit_code=EXIT_ENVIRONMENT)
    root_real = os.path.realpath(root)
    found: list[Checkpoint] = []
    ignored: list[tuple[str, str]] = []
    pending = [(str(root), "")]
    while pending:
        folder, prefix = pending.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                if entry.name.endswith(".pth"):
                    ignored.append((rel, "a folder, not a file"))
                pending.append((entry.path, rel + "/"))
                continue
            checkpoint = classify(rel)
            if checkpoint is None:
                continue
            if entry.is_symlink():
                target, why = _regular_target(entry, root_real)
                if target is None:
                    ignored.append((rel, why))
                    continue
                found.append(replace(checkpoint, target=target if target != rel else None))
            elif entry.is_file(follow_symlinks=False):
                found.append(checkpoint)
            else:
                ignored.append((rel, "not a regular file (FIFO, socket or device)"))
    return sorted(found, key=lambda c: c.path), sorted(ignored)


def checkpoint_record(results_dir: Path, select: str) -> dict:
    """The selected checkpoint's absolute path plus how it was chosen (what `checkpoint resolve` prints)."""
    selection = parse_selection(select)
    checkpoints, ignored = scan_checkpoint_files(results_dir)
    try:
        chosen = select_checkpoint(checkpoints, selection, results_dir=str(results_dir))
    except UserError as exc:
        if not ignored:
            raise
        shown = ", ".join(f"{path} ({why})" for path, why in ignored[:_SHOWN])
        raise UserError(f"{exc.message}; ignored (not regular files inside the folder): {shown}", file=exc.file,
                        field=exc.field, fix=exc.fix, exit_code=exc.exit_code) from None
    decided_by = None
    if selection.kind == "best":
        n_best = len(_unique_files([c for c in checkpoints if c.kind == "best"]))
        decided_by = "the only model_best_* file" if n_best == 1 else None
    return {"checkpoint": str(Path(results_dir).resolve() / chosen.file), "select": str(selection),
            "kind": chosen.kind, "epoch": chosen.epoch, "step": chosen.step, "child": chosen.child or None,
            "via_symlink": chosen.path if chosen.target else None,
            "decided_by": decided_by, "why": _why(chosen, selection, decided_by), "n_found": len(checkpoints)}


def _why(chosen: Checkpoint, selection: Selection, decided_by: str | None) -> str:
    """One sentence: which file and why (epochs named as TAO writes them, from 0)."""
    name = chosen.path.rsplit("/", 1)[-1]
    epoch_text = (f"epoch {chosen.epoch} (epochs count from 0: the {_ordinal(chosen.epoch + 1)} epoch)"
                  if chosen.epoch is not None else "")
    if selection.kind == "best":
        return f"{name}: best by {decided_by}" + (f", saved at {epoch_text}" if epoch_text else "")
    if selection.kind == "latest":
        return f"{name}: highest (epoch, step) in its folder, {epoch_text}, step {chosen.step}"
    if chosen.kind == "best":
        return (f"{name}: {epoch_text}; no periodic model_epoch_* file for that epoch, the checkpointer's "
                f"best file of that epoch holds its weights")
    return f"{name}: {epoch_text}, step {chosen.step}, as the file name says"

"""Package a results folder with its provenance: OUT/rca_config/ + manifest.json.

The package is built in a hidden staging folder inside OUT and swapped in by rename, so a rerun
refreshes it without duplicates and a failure leaves the previous package intact. Only fixed
names inside OUT are written. Sources named by the payload, run_record.json or the spec are
untrusted: only regular files under a size cap are read, and a skill folder is copied without
following symlinks that leave it. Every text file copied is passed through `redact_text`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tao_skill_bank.rca_hooks import results
from tao_skill_bank.rca_hooks.redact import redact_text

SKILL_NAME = "tao-analyze-gaps-visual-changenet"
CONFIG_DIR = "rca_config"
MANIFEST = "manifest.json"
STAGING_PREFIX = ".rca_config."
MAX_COPY_BYTES = 64 * 1024 * 1024
SKIP_PARTS = {"__pycache__", ".git"}


class PackagingError(Exception):
    """The package could not be written (e.g. OUT is read-only); `fix` says what to do."""

    def __init__(self, message: str, fix: str):
        super().__init__(f"{message} — fix: {fix}")
        self.message, self.fix = message, fix


@dataclass
class PackageRequest:
    results_dir: Path
    project_dir: Path | None = None
    transcript: Path | None = None
    plugin_root: Path | None = None      # $CLAUDE_PLUGIN_ROOT when running as a plugin hook
    hook_bank_root: Path | None = None   # the bank folder that holds the running hook script


@dataclass
class _Staging:
    root: Path
    copied: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)

    def skip(self, what: str, path, why: str) -> None:
        self.skipped.append({"what": what, "path": str(path) if path else None, "why": why})


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except (ValueError, OSError):
        return False


def _read_regular(path: Path, limit: int = MAX_COPY_BYTES) -> bytes | None:
    try:
        if not path.is_file() or path.stat().st_size > limit:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _place(staging: _Staging, rel: str, data: bytes, source: Path, what: str) -> None:
    """Write `data` (redacted when it is text) at rca_config/<rel> inside the staging folder."""
    if os.path.isabs(rel) or os.path.normpath(rel).split(os.sep)[0] == "..":
        staging.skip(what, source, "destination would leave the package folder")
        return
    dest = staging.root / rel
    redactions = 0
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        out = data
    else:
        text, redactions = redact_text(text)
        out = text.encode("utf-8")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(out)
    staging.copied.append({"path": f"{CONFIG_DIR}/{rel}", "what": what, "from": str(source),
                           "source_sha256": hashlib.sha256(data).hexdigest(), "redactions": redactions})


def _copy_file(staging: _Staging, rel: str, source: Path | None, what: str) -> bool:
    if source is None:
        staging.skip(what, None, "not recorded")
        return False
    data = _read_regular(source)
    if data is None:
        staging.skip(what, source, "missing, not a regular file, unreadable or larger than 64 MiB")
        return False
    _place(staging, rel, data, source, what)
    return True


def _leaves(path: Path, folder: Path) -> bool:
    return path.is_symlink() and not _inside(path, folder)


def _copy_skill(staging: _Staging, skill_dir: Path) -> None:
    """SKILL.md and references/, never following a symlink out of the skill folder."""
    skill_md, references = skill_dir / "SKILL.md", skill_dir / "references"
    for path, what in ((skill_md, "skill"), (references, "skill references")):
        if _leaves(path, skill_dir):
            staging.skip(what, path, "symlink leaves the skill folder")
    if not _leaves(skill_md, skill_dir):
        _copy_file(staging, f"skill/{SKILL_NAME}/SKILL.md", skill_md, "skill")
    if not references.is_dir() or _leaves(references, skill_dir):
        return
    for folder, dirs, files in os.walk(references, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_PARTS and not os.path.islink(os.path.join(folder, d)))
        for name in sorted(files):
            source = Path(folder) / name
            if _leaves(source, skill_dir):
                staging.skip("skill reference", source, "symlink leaves the skill folder")
                continue
            rel = source.relative_to(skill_dir).as_posix()
            _copy_file(staging, f"skill/{SKILL_NAME}/{rel}", source, "skill reference")


def skill_candidates(request: PackageRequest) -> list[tuple[str, Path]]:
    """Where the gap skill the agent loaded may live, most specific first."""
    candidates: list[tuple[str, Path]] = []
    if request.plugin_root:
        candidates.append(("plugin ($CLAUDE_PLUGIN_ROOT)", request.plugin_root / "skills" / SKILL_NAME))
    if request.project_dir:
        candidates.append(("project .claude/skills", request.project_dir / ".claude" / "skills" / SKILL_NAME))
        candidates.append(("project .agents/skills", request.project_dir / ".agents" / "skills" / SKILL_NAME))
    if request.hook_bank_root:
        candidates.append(("bank next to the hook script", request.hook_bank_root / "skills" / SKILL_NAME))
    from tao_skill_bank import bank
    for source, root in bank.candidate_roots():
        candidates.append((f"bank ({source})", root / "skills" / SKILL_NAME))
    return candidates


def choose_skill(request: PackageRequest, transcript_text: str) -> tuple[str, Path] | None:
    """The candidate whose SKILL.md the transcript shows being read, else the first that exists."""
    existing = [(kind, path) for kind, path in skill_candidates(request) if (path / "SKILL.md").is_file()]
    for kind, path in existing:
        if str(path / "SKILL.md") in transcript_text:
            return f"{kind}, read in the transcript", path
    return existing[0] if existing else None


def _bank_file(skill_dir: Path | None, request: PackageRequest, rel: str) -> Path | None:
    """versions.yaml / hooks/hooks.json from the bank that holds the chosen skill, else nearby."""
    roots = [skill_dir.parent.parent] if skill_dir else []
    roots += [r for r in (request.plugin_root, request.hook_bank_root) if r]
    from tao_skill_bank import bank
    roots += [root for _, root in bank.candidate_roots()]
    return next((root / rel for root in roots if (root / rel).is_file()), None)


def _transcript_text(path: Path | None) -> tuple[bytes | None, str]:
    data = _read_regular(path) if path else None
    return data, (data.decode("utf-8", errors="replace") if data else "")


def _stage(request: PackageRequest, staging: _Staging, out: Path) -> dict:
    transcript_bytes, transcript_text = _transcript_text(request.transcript)
    chosen = choose_skill(request, transcript_text)
    skill_dir = chosen[1] if chosen else None
    if chosen:
        _copy_skill(staging, skill_dir)
    else:
        staging.skip("skill", SKILL_NAME, "gap skill not found in plugin root, project or bank")
    _copy_file(staging, "versions.yaml", _bank_file(skill_dir, request, "versions.yaml"), "versions.yaml")
    _copy_file(staging, "hooks/hooks.json", _bank_file(skill_dir, request, "hooks/hooks.json"), "hooks.json")
    _copy_file(staging, results.SPEC_NAME, out / results.SPEC_NAME, "gap spec")
    _copy_file(staging, results.RUN_RECORD_NAME, out / results.RUN_RECORD_NAME, "run record")
    inputs = results.run_inputs(out, request.project_dir)
    suffix = inputs.train_config.suffix if inputs.train_config and inputs.train_config.suffix in (".yaml", ".yml") else ".yaml"
    train_copied = _copy_file(staging, f"train_config{suffix}", inputs.train_config, "train config")
    for folder, name in ((".claude", "settings.json"), (".claude", "settings.local.json"), (".codex", "hooks.json")):
        source = request.project_dir / folder / name if request.project_dir else None
        if source and source.is_file():
            _copy_file(staging, f"project/{folder.lstrip('.')}/{name}", source, f"project {folder}/{name}")
    if request.transcript is None:
        staging.skip("transcript", None, "no transcript_path in the payload")
    elif transcript_bytes is None:
        staging.skip("transcript", request.transcript, "missing, unreadable or larger than 64 MiB")
    else:
        _place(staging, "transcript.jsonl", transcript_bytes, request.transcript, "transcript")
    return {
        "skill_source": {"kind": chosen[0], "path": str(skill_dir)} if chosen else None,
        "input_csv": _csv_entry(inputs),
        "train_config": {"path": str(inputs.train_config) if inputs.train_config else None, "copied": train_copied},
    }


def _csv_entry(inputs: results.RunInputs) -> dict:
    entry = {"path": str(inputs.csv_path) if inputs.csv_path else None,
             "sha256": None, "recorded_sha256": inputs.csv_sha256_recorded}
    try:
        if inputs.csv_path and inputs.csv_path.is_file():
            entry["sha256"] = sha256_file(inputs.csv_path)
    except OSError:
        pass
    if entry["sha256"] and entry["recorded_sha256"]:
        entry["matches_record"] = entry["sha256"] == entry["recorded_sha256"]
    return entry


def _file_entry(path: Path, rel: str) -> dict:
    if path.is_symlink():
        return {"path": rel, "symlink": os.readlink(path)}
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # FIFO, socket, device: hashing could block or never end
            return {"path": rel, "special": True}
        return {"path": rel, "size": info.st_size, "sha256": sha256_file(path)}
    except OSError as exc:
        return {"path": rel, "error": exc.strerror or type(exc).__name__}


def manifest_files(out: Path, staging_root: Path) -> list[dict]:
    """Every file under OUT as it will be after the swap: the results, plus the new rca_config."""
    entries: list[dict] = []
    for folder, dirs, files in os.walk(out, followlinks=False, onerror=lambda err: None):
        here = Path(folder)
        if here == out:
            dirs[:] = [d for d in dirs if d != CONFIG_DIR and not d.startswith(STAGING_PREFIX)]
        dirs.sort()
        for name in sorted(files):
            if name.startswith(STAGING_PREFIX) or (here == out and name == CONFIG_DIR):
                continue
            path = here / name
            entries.append(_file_entry(path, path.relative_to(out).as_posix()))
        for name in sorted(d for d in dirs if (here / d).is_symlink()):
            entries.append(_file_entry(here / name, (here / name).relative_to(out).as_posix()))
    for folder, dirs, files in os.walk(staging_root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            if path == staging_root / MANIFEST:
                continue
            entries.append(_file_entry(path, f"{CONFIG_DIR}/{path.relative_to(staging_root).as_posix()}"))
    return sorted(entries, key=lambda e: e["path"])


def _swap_in(out: Path, staging_root: Path) -> None:
    final = out / CONFIG_DIR
    old = None
    if final.exists() or final.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX + "old-", dir=out)) / CONFIG_DIR
        os.rename(final, old)
    os.rename(staging_root, final)
    if old is not None:
        if old.is_symlink() or not old.is_dir():
            old.unlink()
        else:
            shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(old.parent, ignore_errors=True)


def build_package(request: PackageRequest, now: _dt.datetime | None = None) -> dict:
    """Write OUT/rca_config/ and return the manifest. Raises PackagingError when OUT cannot be
    written; nothing outside OUT is ever written."""
    out = request.results_dir.resolve()
    if not out.is_dir():
        raise PackagingError(f"{out}: results folder not found", "pass the rca_results/<timestamp> folder")
    try:
        stage_parent = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX + "new-", dir=out))
    except OSError as exc:
        raise PackagingError(f"{out}: cannot write rca_config/ ({exc.strerror or exc})",
                             f"make the results folder writable, then write RCA_Report.md again "
                             f"or run `tao-skills gaps package {out}`") from None
    staging = _Staging(stage_parent / CONFIG_DIR)
    try:
        staging.root.mkdir()
        provenance = _stage(request, staging, out)
        manifest = {
            "schema_version": 1,
            "packaged_at": (now or _dt.datetime.now(_dt.timezone.utc)).isoformat(timespec="seconds"),
            "results_dir": str(out),
            **provenance,
            "files": manifest_files(out, staging.root),
            "copied": staging.copied,
            "skipped": staging.skipped,
        }
        (staging.root / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        _swap_in(out, staging.root)
    except OSError as exc:
        raise PackagingError(f"{out}: packaging failed ({exc.strerror or exc})",
                             f"check permissions and free space, then run `tao-skills gaps package {out}`") from None
    finally:
        shutil.rmtree(stage_parent, ignore_errors=True)
    return manifest

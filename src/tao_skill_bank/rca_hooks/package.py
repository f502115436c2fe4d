"""Package a results folder with its provenance: OUT/rca_config/ + manifest.json.

By allow-list: the gap skill's SKILL.md and text references, versions.yaml and hooks.json of
the same bank, OUT's spec and run record, the train config, a *digest* of the project settings
(hooks, permissions, model, plugins, env variable names — never values or the raw files), and
the session transcript unless it is switched off. Every copied byte goes through `redact_bytes`;
the manifest records how many values were replaced per file and lists everything skipped with
the reason.

Paths are untrusted. No symlink is followed out of the folder it sits in (OUT, the project's
`.claude/`/`.codex/`, the skill folder); files that run_record.json or the spec name are read
only when they resolve inside the experiment, OUT or the project, and are regular files under
a size cap. The package is built in a hidden staging folder inside OUT and swapped in by
rename, so a rerun refreshes it without duplicates and a failure leaves the previous package
intact. Only fixed names inside OUT are written.
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

from tao_skill_bank.fsutil import sha256_file
from tao_skill_bank.gaps import contract
from tao_skill_bank.rca_hooks import results
from tao_skill_bank.rca_hooks.redact import redact_bytes

SKILL_NAME = "tao-analyze-gaps-visual-changenet"
CONFIG_DIR = contract.PACKAGE_DIR
MANIFEST = "manifest.json"
STAGING_PREFIX = ".rca_config."
MAX_COPY_BYTES = 64 * 1024 * 1024
MAX_SETTINGS_BYTES = 1024 * 1024
SKIP_PARTS = {"__pycache__", ".git"}
SKILL_TEXT_SUFFIXES = (".md", ".j2", ".yaml", ".yml", ".json", ".txt")
SETTINGS_SOURCES = ((".claude", "settings.json"), (".claude", "settings.local.json"), (".codex", "hooks.json"))
SETTINGS_DIGEST = "project/settings_digest.json"
TRANSCRIPT_SWITCH = "RCA_PACKAGE_TRANSCRIPT"  # =0: leave the session transcript out of the package


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
    include_transcript: bool = True      # `gaps package --no-transcript` / RCA_PACKAGE_TRANSCRIPT=0


@dataclass
class _Staging:
    root: Path
    copied: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)

    def skip(self, what: str, path, why: str) -> None:
        self.skipped.append({"what": what, "path": str(path) if path else None, "why": why})


def digest_text(hexdigest: str) -> str:
    """Digests are written `sha256:<hex>` (as OCI does): self-describing, and a secret scanner
    does not mistake a bare 64-hex string for a key."""
    return "sha256:" + hexdigest


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


def _refusal(path: Path, roots: list[Path], what_roots: str) -> str | None:
    """Why `path` may not be read (None = it may): it must resolve inside one of `roots` and be a
    regular file no larger than the cap. Checked before any read."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return "cannot be resolved (symlink loop?)"
    if not any(_inside(resolved, root) for root in roots):
        return ("symlink leads outside " if path.is_symlink() or resolved != Path(os.path.abspath(path)) else "lies outside ") + what_roots
    try:
        info = resolved.stat()
    except OSError:
        return "missing or unreadable"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_size > MAX_COPY_BYTES:
        return "larger than 64 MiB"
    return None


def _place(staging: _Staging, rel: str, data: bytes, source: Path, what: str) -> None:
    """Write `data` (redacted when it is text) at rca_config/<rel> inside the staging folder."""
    if os.path.isabs(rel) or os.path.normpath(rel).split(os.sep)[0] == "..":
        staging.skip(what, source, "destination would leave the package folder")
        return
    dest = staging.root / rel
    out, redactions = redact_bytes(data)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(out)
    staging.copied.append({"path": f"{CONFIG_DIR}/{rel}", "what": what, "from": str(source),
                           "source_sha256": digest_text(hashlib.sha256(data).hexdigest()), "redactions": redactions})


def _copy_file(staging: _Staging, rel: str, source: Path | None, what: str,
               roots: list[Path] | None = None, what_roots: str = "") -> bool:
    """Copy `source` (redacted) to rca_config/<rel>; with `roots`, only when it resolves inside one."""
    if source is None:
        staging.skip(what, None, "not recorded")
        return False
    if roots is not None and (why := _refusal(source, roots, what_roots)):
        staging.skip(what, source, why)
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
            if source.suffix not in SKILL_TEXT_SUFFIXES:
                staging.skip("skill reference", source, "not a skill text file (" + ", ".join(SKILL_TEXT_SUFFIXES) + ")")
                continue
            rel = source.relative_to(skill_dir).as_posix()
            _copy_file(staging, f"skill/{SKILL_NAME}/{rel}", source, "skill reference")


def project_folder_leaves(project: Path, folder: str) -> bool:
    """`.claude`/`.agents`/`.codex` is a symlink that leads out of the project: nothing is read
    through it (a skill folder symlinked *inside* it is an ordinary install and is followed)."""
    path = project / folder
    return path.is_symlink() and not _inside(path, project)


def skill_candidates(request: PackageRequest) -> list[tuple[str, Path]]:
    """Where the gap skill the agent loaded may live, most specific first."""
    candidates: list[tuple[str, Path]] = []
    if request.plugin_root:
        candidates.append(("plugin ($CLAUDE_PLUGIN_ROOT)", request.plugin_root / "skills" / SKILL_NAME))
    if request.project_dir:
        for folder in (".claude", ".agents"):
            if not project_folder_leaves(request.project_dir, folder):
                candidates.append((f"project {folder}/skills", request.project_dir / folder / "skills" / SKILL_NAME))
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


WORKSPACE_MARKERS = (".claude", ".agents", ".codex", ".git")


def containment_roots(out: Path, project: Path | None) -> list[Path]:
    """Folders that files named by run_record.json or the spec may be read from: the experiment,
    OUT, and the project when it really is one (holds .claude/.agents/.codex/.git). Never the
    filesystem root or the home folder: a run at `~/rca_results/<ts>`, or `gaps package` started
    from `/`, must not open every file on the machine."""
    too_wide = {Path(os.path.abspath(os.sep)), Path.home().resolve()}
    candidates = [experiment_dir(out), out]
    if project is not None and any((project / m).exists() for m in WORKSPACE_MARKERS):
        candidates.append(project)
    return [c.resolve() for c in candidates if c is not None and c.resolve() not in too_wide]


def experiment_dir(out: Path) -> Path | None:
    """EXP of EXP/rca_results/<timestamp> (None for a custom --out folder)."""
    return out.parent.parent if out.parent.name == "rca_results" else None


def _transcript_bytes(request: PackageRequest, staging: _Staging) -> bytes | None:
    path = request.transcript
    if not request.include_transcript:
        staging.skip("transcript", path, f"left out on request (--no-transcript / {TRANSCRIPT_SWITCH}=0)")
        return None
    if path is None:
        staging.skip("transcript", None, "no transcript_path in the payload")
        return None
    if path.is_symlink():
        staging.skip("transcript", path, "is a symlink (not followed)")
        return None
    data = _read_regular(path)
    if data is None:
        staging.skip("transcript", path, "missing, not a regular file, unreadable or larger than 64 MiB")
    return data


def _env_names(env) -> list[str]:
    return sorted(str(k) for k in env) if isinstance(env, dict) else []


def _plugin_names(settings: dict) -> list[str]:
    enabled = settings.get("enabledPlugins")
    if isinstance(enabled, dict):
        return sorted(str(k) for k, v in enabled.items() if v)
    if isinstance(enabled, list):
        return sorted(str(v) for v in enabled if isinstance(v, str))
    return []


def settings_digest(settings: dict) -> dict:
    """What provenance needs from a settings file: hooks, permissions, model, plugins, and the
    names (never the values) of the env variables it sets."""
    digest = {"hooks": settings.get("hooks"), "permissions": settings.get("permissions"),
              "model": settings.get("model") if isinstance(settings.get("model"), str) else None,
              "plugins": _plugin_names(settings), "env_names": _env_names(settings.get("env"))}
    return {k: v for k, v in digest.items() if v not in (None, [], {})}


def _settings(request: PackageRequest, staging: _Staging) -> None:
    project = request.project_dir
    if project is None:
        return
    digests = []
    for folder, name in SETTINGS_SOURCES:
        source = project / folder / name
        if not (source.exists() or source.is_symlink()):
            continue
        what = f"project {folder}/{name}"
        why = _refusal(source, [project], "the project")
        data = None if why else _read_regular(source, MAX_SETTINGS_BYTES)
        if not why and data is None:
            why = "unreadable or larger than 1 MiB"
        try:
            parsed = json.loads(data) if data is not None else None
        except (ValueError, RecursionError):
            parsed, why = None, why or "not valid JSON"
        if not why and not isinstance(parsed, dict):
            why = "not a JSON object"
        if why:
            staging.skip(what, source, why)
            continue
        digests.append({"source": f"{folder}/{name}", "sha256": digest_text(hashlib.sha256(data).hexdigest()),
                        **settings_digest(parsed)})
    if digests:
        body = json.dumps({"schema_version": 1, "project": str(project), "files": digests}, indent=2, ensure_ascii=False)
        _place(staging, SETTINGS_DIGEST, body.encode("utf-8") + b"\n", project, "project settings digest")


def _stage(request: PackageRequest, staging: _Staging, out: Path) -> dict:
    transcript_bytes = _transcript_bytes(request, staging)
    transcript_text = transcript_bytes.decode("utf-8", errors="replace") if transcript_bytes else ""
    chosen = choose_skill(request, transcript_text)
    skill_dir = chosen[1] if chosen else None
    if chosen:
        _copy_skill(staging, skill_dir)
    else:
        staging.skip("skill", SKILL_NAME, "gap skill not found in plugin root, project or bank")
    _copy_file(staging, "versions.yaml", _bank_file(skill_dir, request, "versions.yaml"), "versions.yaml")
    _copy_file(staging, "hooks/hooks.json", _bank_file(skill_dir, request, "hooks/hooks.json"), "hooks.json")
    _copy_file(staging, results.SPEC_NAME, out / results.SPEC_NAME, "gap spec", [out], "the results folder")
    _copy_file(staging, results.RUN_RECORD_NAME, out / results.RUN_RECORD_NAME, "run record", [out], "the results folder")
    inputs = results.run_inputs(out, request.project_dir)
    roots = containment_roots(out, request.project_dir)
    suffix = inputs.train_config.suffix if inputs.train_config and inputs.train_config.suffix in (".yaml", ".yml") else ".yaml"
    train_copied = _copy_file(staging, f"train_config{suffix}", inputs.train_config, "train config",
                              roots, "the experiment and the project")
    _settings(request, staging)
    for folder in (".claude", ".agents"):
        if request.project_dir and project_folder_leaves(request.project_dir, folder):
            staging.skip(f"project {folder}/skills", request.project_dir / folder, "symlink leads outside the project")
    if transcript_bytes is not None:
        _place(staging, "transcript.jsonl", transcript_bytes, request.transcript, "transcript")
    return {
        "skill_source": {"kind": chosen[0], "path": str(skill_dir)} if chosen else None,
        "input_csv": _csv_entry(inputs, roots, staging),
        "train_config": {"path": str(inputs.train_config) if inputs.train_config else None, "copied": train_copied},
    }


def _csv_entry(inputs: results.RunInputs, roots: list[Path], staging: _Staging) -> dict:
    """Path and digest of the input CSV (hashed, never copied), compared with run_record.json."""
    recorded = inputs.csv_sha256_recorded
    entry = {"path": str(inputs.csv_path) if inputs.csv_path else None, "sha256": None,
             "recorded_sha256": digest_text(recorded.removeprefix("sha256:")) if recorded else None}
    if inputs.csv_path is not None:
        why = _refusal(inputs.csv_path, roots, "the experiment and the project")
        if why:
            staging.skip("input csv (hash)", inputs.csv_path, why)
        else:
            try:
                entry["sha256"] = digest_text(sha256_file(inputs.csv_path))
            except OSError:
                staging.skip("input csv (hash)", inputs.csv_path, "unreadable")
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
        return {"path": rel, "size": info.st_size, "sha256": digest_text(sha256_file(path))}
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


MAX_MANIFEST_BYTES = 16 * 1024 * 1024


def _current_entries(out: Path) -> dict[str, dict]:
    """Manifest-style entries for OUT as it is now (the package's own files included)."""
    config = out / CONFIG_DIR
    entries = {e["path"]: e for e in manifest_files(out, config if config.is_dir() and not config.is_symlink() else out / ".none")}
    entries.pop(f"{CONFIG_DIR}/{MANIFEST}", None)
    return entries


def package_status(out: Path) -> dict:
    """Whether OUT/rca_config/ exists and is current: every file of OUT (the report, the artifacts,
    the package's own copies) is as the manifest recorded it, and the inputs it hashed (input CSV,
    train config) are unchanged. `reasons` says what differs."""
    manifest_path = out / CONFIG_DIR / MANIFEST
    if not manifest_path.is_file() or manifest_path.is_symlink():
        return {"exists": False, "current": False, "reasons": [f"{CONFIG_DIR}/{MANIFEST} does not exist"]}
    try:
        if manifest_path.stat().st_size > MAX_MANIFEST_BYTES:
            raise ValueError("too large")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        listed = {e["path"]: e for e in manifest["files"]}
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return {"exists": True, "current": False, "reasons": [f"{CONFIG_DIR}/{MANIFEST} is unreadable"]}
    now = _current_entries(out)
    reasons = [f"{rel} is new since packaging" for rel in sorted(set(now) - set(listed))]
    reasons += [f"{rel} was removed since packaging" for rel in sorted(set(listed) - set(now))]
    reasons += [f"{rel} changed since packaging" for rel in sorted(set(now) & set(listed))
                if {k: v for k, v in now[rel].items() if k != "path"} != {k: v for k, v in listed[rel].items() if k != "path"}]
    reasons += _changed_inputs(manifest)
    return {"exists": True, "current": not reasons, "packaged_at": manifest.get("packaged_at"), "reasons": reasons}


def _digest_now(path_text) -> str | None:
    try:
        path = Path(path_text)
        return digest_text(sha256_file(path)) if path.is_file() else None
    except (OSError, TypeError, ValueError):
        return None


def _changed_inputs(manifest: dict) -> list[str]:
    reasons = []
    csv = manifest.get("input_csv") or {}
    if isinstance(csv, dict) and csv.get("sha256") and _digest_now(csv.get("path")) != csv["sha256"]:
        reasons.append(f"input CSV {csv.get('path')} changed since packaging")
    for copied in manifest.get("copied") or []:
        if isinstance(copied, dict) and copied.get("what") == "train config" and \
                _digest_now(copied.get("from")) != copied.get("source_sha256"):
            reasons.append(f"train config {copied.get('from')} changed since packaging")
    return reasons


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
            "schema_version": 2,
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

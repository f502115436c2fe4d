"""Package a results folder with its provenance: OUT/rca_config/ + manifest.json.

By allow-list: the gap skill's SKILL.md and text references, versions.yaml and hooks.json of
the same bank, OUT's spec and run record, the train config, a *digest* of the project settings
(hooks, permissions, model, plugins, env variable names — never values or the raw files), and
the session transcript unless it is switched off. Every copied byte goes through `redact_bytes`;
the manifest records how many values were replaced per file and lists everything skipped with
the reason.

Paths are untrusted and every file is read through `fsutil.read_untrusted`: never a FIFO,
socket or device (not even opened), never through a symlink out of the folder it sits in (OUT,
the project's `.claude/`/`.codex/`, the skill folder), never a file with several hard links
from OUT, the experiment or the project (it could be a key linked in), never beyond its cap or
beyond the size fstat reports. Files that run_record.json or the spec name are read only when
they really lie inside the experiment, OUT or the project. OUT itself is resolved once (a
symlinked OUT or parent is packaged where it really is). The package is built in a hidden
staging folder inside OUT, under an exclusive lock on OUT, and swapped in by rename, so a rerun
refreshes the previous package without duplicates, a failure (disk full, kill) leaves it intact
and never shows a half-written one, and an `rca_config` that is not a package this code wrote
(a file, a symlink, a folder with other files) is never replaced. Only fixed names inside OUT
are written.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tao_skill_bank.errors import UserError
from tao_skill_bank.fsutil import Refused, printable, read_untrusted, sha256_untrusted, size_text
from tao_skill_bank.gaps import contract
from tao_skill_bank.rca_hooks import results
from tao_skill_bank.rca_hooks.redact import redact_bytes
from tao_skill_bank.safe_input import load_json_text

SKILL_NAME = "tao-analyze-gaps-visual-changenet"
CONFIG_DIR = contract.PACKAGE_DIR
MANIFEST = "manifest.json"
STAGING_PREFIX = ".rca_config."
MAX_COPY_BYTES = 64 * 1024 * 1024
MAX_SETTINGS_BYTES = 1024 * 1024
# Hashing is bounded so the hook ends well inside its 60 s timeout whatever OUT holds (a 5 GB
# sparse file reads at ~0.5 GB/s here): a file of OUT above its cap, or past the folder's
# budget, is listed with its size only; the input CSV (10M rows ≈ 0.7 GB) has its own cap.
MAX_HASH_BYTES = 512 * 1024 * 1024
MAX_HASH_TOTAL_BYTES = 2 * 1024 * 1024 * 1024
MAX_CSV_HASH_BYTES = 2 * 1024 * 1024 * 1024
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
LOCK_WAIT_SECONDS = 20.0                   # another packaging of the same OUT (hook and CLI at once)
TRANSCRIPT_SUFFIX = ".jsonl"               # Claude Code and Codex both write JSON lines
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
        self.skipped.append({"what": what, "path": str(path) if path else None, "why": _one_line(why)})


def plain(data):
    """`data` with every string `fsutil.printable` (file names that are not UTF-8)."""
    if isinstance(data, str):
        return printable(data)
    if isinstance(data, dict):
        return {plain(k): plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [plain(v) for v in data]
    return data


def json_bytes(data) -> bytes:
    return (json.dumps(plain(data), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def digest_text(hexdigest: str) -> str:
    """Digests are written `sha256:<hex>` (as OCI does): self-describing, and a secret scanner
    does not mistake a bare 64-hex string for a key."""
    return "sha256:" + hexdigest


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def _resolved(roots) -> tuple[Path, ...]:
    out = []
    for root in roots:
        try:
            out.append(Path(os.path.realpath(root)))
        except (OSError, ValueError):
            continue
    return tuple(out)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:300]


def _read(staging: "_Staging", what: str, source: Path, cap: int = MAX_COPY_BYTES, **rules) -> bytes | None:
    """`source`'s bytes under the rules of `fsutil.read_untrusted`, else None with the reason skipped."""
    try:
        return read_untrusted(source, cap=cap, **rules)
    except Refused as why:
        staging.skip(what, source, str(why))
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


def _copy_file(staging: _Staging, rel: str, source: Path | None, what: str, roots, what_roots: str,
               max_links: int | None = 1) -> bool:
    """Copy `source` (redacted) to rca_config/<rel> when it really lies inside one of `roots`."""
    if source is None:
        staging.skip(what, None, "not recorded")
        return False
    data = _read(staging, what, source, follow=True, inside=_resolved(roots), inside_what=what_roots,
                 max_links=max_links)
    if data is None:
        return False
    _place(staging, rel, data, source, what)
    return True


def _leaves(path: Path, folder: Path) -> bool:
    return path.is_symlink() and not _inside(path, folder)


def _copy_skill(staging: _Staging, skill_dir: Path, from_project: bool) -> None:
    """SKILL.md and references/, never following a symlink out of the skill folder (the folder
    itself may be a symlink: an ordinary install). A project's copy is the project's files, so
    hard-linked ones are refused as elsewhere; a bank's may be hard-linked by its installer."""
    skill_md, references = skill_dir / "SKILL.md", skill_dir / "references"
    rules = {"roots": [skill_dir], "what_roots": "the skill folder", "max_links": 1 if from_project else None}
    _copy_file(staging, f"skill/{SKILL_NAME}/SKILL.md", skill_md, "skill", **rules)
    if _leaves(references, skill_dir):
        staging.skip("skill references", references, "symlink leads outside the skill folder")
        return
    if not references.is_dir():
        return
    for folder, dirs, files in os.walk(references, followlinks=False):
        for name in sorted(d for d in dirs if os.path.islink(os.path.join(folder, d))):
            staging.skip("skill reference", Path(folder) / name, "symlinked folder (not followed)")
        dirs[:] = sorted(d for d in dirs if d not in SKIP_PARTS and not os.path.islink(os.path.join(folder, d)))
        for name in sorted(files):
            source = Path(folder) / name
            if source.suffix not in SKILL_TEXT_SUFFIXES:
                staging.skip("skill reference", source, "not a skill text file (" + ", ".join(SKILL_TEXT_SUFFIXES) + ")")
                continue
            rel = source.relative_to(skill_dir).as_posix()
            _copy_file(staging, f"skill/{SKILL_NAME}/{rel}", source, "skill reference", **rules)


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


def _bank_file(skill_dir: Path | None, request: PackageRequest, rel: str) -> tuple[Path, Path] | None:
    """(bank root, file): versions.yaml / hooks/hooks.json from the bank that holds the chosen
    skill, else nearby."""
    roots = [skill_dir.parent.parent] if skill_dir else []
    roots += [r for r in (request.plugin_root, request.hook_bank_root) if r]
    from tao_skill_bank import bank
    roots += [root for _, root in bank.candidate_roots()]
    return next(((root, root / rel) for root in roots if (root / rel).is_file()), None)


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


def transcript_path_problem(path: Path) -> str | None:
    """Why a transcript path is refused before anything is opened (None = it may be read): the
    runtimes hand an absolute, normalised path to a `.jsonl` file, so anything else (relative,
    `..`, /proc/self/environ, a key file) is not a transcript."""
    text = os.fspath(path)
    if not os.path.isabs(text):
        return "not an absolute path"
    if ".." in Path(text).parts:
        return "names a parent folder (..)"
    if not text.endswith(TRANSCRIPT_SUFFIX):
        return f"not a {TRANSCRIPT_SUFFIX} file"
    return None


def read_transcript(path: Path) -> bytes:
    """The transcript's bytes, else Refused: a regular `.jsonl` file, not a symlink, one link,
    at most 64 MiB, and not empty."""
    problem = transcript_path_problem(path)
    if problem:
        raise Refused(problem)
    data = read_untrusted(path, cap=MAX_COPY_BYTES, follow=False, max_links=1)
    if not data:
        raise Refused("empty")
    return data


def _transcript_bytes(request: PackageRequest, staging: _Staging) -> bytes | None:
    path = request.transcript
    if not request.include_transcript:
        staging.skip("transcript", path, f"left out on request (--no-transcript / {TRANSCRIPT_SWITCH}=0)")
        return None
    if path is None:
        staging.skip("transcript", None, "no transcript_path in the payload")
        return None
    try:
        return read_transcript(path)
    except Refused as why:
        staging.skip("transcript", path, str(why))
        return None


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
        data = _read(staging, what, source, MAX_SETTINGS_BYTES, follow=True, inside=_resolved([project]),
                     inside_what="the project")
        if data is None:
            continue
        try:  # bounded: a 1 MiB file nested 100k deep must not overflow the digest's encoder
            parsed = load_json_text(data.decode("utf-8"), source=str(source))
        except (UserError, UnicodeDecodeError):
            parsed = None
        if not isinstance(parsed, dict):
            staging.skip(what, source, "not a JSON object (or not valid, UTF-8, bounded JSON)")
            continue
        digests.append({"source": f"{folder}/{name}", "sha256": digest_text(hashlib.sha256(data).hexdigest()),
                        **settings_digest(parsed)})
    if digests:
        body = json_bytes({"schema_version": 1, "project": str(project), "files": digests})
        _place(staging, SETTINGS_DIGEST, body, project, "project settings digest")


def _stage(request: PackageRequest, staging: _Staging, out: Path) -> dict:
    transcript_bytes = _transcript_bytes(request, staging)
    transcript_text = transcript_bytes.decode("utf-8", errors="replace") if transcript_bytes else ""
    chosen = choose_skill(request, transcript_text)
    skill_dir = chosen[1] if chosen else None
    if chosen:
        _copy_skill(staging, skill_dir, from_project=chosen[0].startswith("project"))
    else:
        staging.skip("skill", SKILL_NAME, "gap skill not found in plugin root, project or bank")
    for rel, what in (("versions.yaml", "versions.yaml"), ("hooks/hooks.json", "hooks.json")):
        found = _bank_file(skill_dir, request, rel)
        _copy_file(staging, rel, found[1] if found else None, what, [found[0]] if found else [], "the bank",
                   max_links=None)
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
        try:  # hashed, never copied: hard links do not matter
            entry["sha256"] = digest_text(sha256_untrusted(inputs.csv_path, cap=MAX_CSV_HASH_BYTES, follow=True,
                                                           inside=_resolved(roots), max_links=None,
                                                           inside_what="the experiment and the project")[0])
        except Refused as why:
            staging.skip("input csv (hash)", inputs.csv_path, str(why))
    if entry["sha256"] and entry["recorded_sha256"]:
        entry["matches_record"] = entry["sha256"] == entry["recorded_sha256"]
    return entry


class _HashBudget:
    def __init__(self, total: int = MAX_HASH_TOTAL_BYTES):
        self.left = total


def _file_entry(path: Path, rel: str, budget: _HashBudget) -> dict:
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            return {"path": rel, "symlink": os.readlink(path)}
    except OSError as exc:
        return {"path": rel, "error": _one_line(exc.strerror or type(exc).__name__)}
    if not stat.S_ISREG(info.st_mode):  # FIFO, socket, device: listed, never opened
        return {"path": rel, "special": True}
    if info.st_size > budget.left:
        return {"path": rel, "size": info.st_size,
                "unhashed": f"past the {size_text(MAX_HASH_TOTAL_BYTES)} hashing budget of the results folder"}
    try:
        digest, size = sha256_untrusted(path, cap=MAX_HASH_BYTES, follow=False, max_links=None)
        budget.left -= size
        return {"path": rel, "size": size, "sha256": digest_text(digest)}
    except Refused as why:
        if info.st_size > MAX_HASH_BYTES:
            return {"path": rel, "size": info.st_size, "unhashed": str(why)}
        return {"path": rel, "error": str(why)}


def manifest_files(out: Path, staging_root: Path) -> list[dict]:
    """Every file under OUT as it will be after the swap: the results, plus the new rca_config."""
    entries: list[dict] = []
    budget = _HashBudget()

    def unreadable(err: OSError) -> None:  # a folder that cannot be listed is named, not silently dropped
        if err.filename and os.fspath(err.filename) != os.fspath(out):
            rel = Path(err.filename).relative_to(out).as_posix()
            entries.append({"path": rel + "/", "error": _one_line(f"folder cannot be listed ({err.strerror})")})

    for folder, dirs, files in os.walk(out, followlinks=False, onerror=unreadable):
        here = Path(folder)
        if here == out:
            dirs[:] = [d for d in dirs if d != CONFIG_DIR and not d.startswith(STAGING_PREFIX)]
        dirs.sort()
        for name in sorted(files):
            if name.startswith(STAGING_PREFIX) or (here == out and name == CONFIG_DIR):
                continue
            path = here / name
            entries.append(_file_entry(path, path.relative_to(out).as_posix(), budget))
        for name in sorted(d for d in dirs if (here / d).is_symlink()):
            entries.append(_file_entry(here / name, (here / name).relative_to(out).as_posix(), budget))
    own = _HashBudget()  # the package's own files (each under 64 MiB) are always hashed
    for folder, dirs, files in os.walk(staging_root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            if path == staging_root / MANIFEST:
                continue
            entries.append(_file_entry(path, f"{CONFIG_DIR}/{path.relative_to(staging_root).as_posix()}", own))
    return sorted(entries, key=lambda e: e["path"])


def _current_entries(out: Path) -> dict[str, dict]:
    """Manifest-style entries for OUT as it is now (the package's own files included)."""
    config = out / CONFIG_DIR
    entries = {e["path"]: e for e in plain(manifest_files(out, config if config.is_dir() and not config.is_symlink() else out / ".none"))}
    entries.pop(f"{CONFIG_DIR}/{MANIFEST}", None)
    return entries


def package_status(out: Path) -> dict:
    """Whether OUT/rca_config/ exists and is current: every file of OUT (the report, the artifacts,
    the package's own copies) is as the manifest recorded it, and the inputs it hashed (input CSV,
    train config) are unchanged. `reasons` says what differs."""
    manifest_path = out / CONFIG_DIR / MANIFEST
    if not manifest_path.is_file() or manifest_path.is_symlink() or (out / CONFIG_DIR).is_symlink():
        return {"exists": False, "current": False, "reasons": [f"{CONFIG_DIR}/{MANIFEST} does not exist"]}
    manifest = read_manifest(manifest_path)
    listed = {e["path"]: e for e in manifest["files"]} if manifest else None
    if manifest is None:
        return {"exists": True, "current": False, "reasons": [f"{CONFIG_DIR}/{MANIFEST} is unreadable"]}
    now = _current_entries(out)
    reasons = [f"{rel} is new since packaging" for rel in sorted(set(now) - set(listed))]
    reasons += [f"{rel} was removed since packaging" for rel in sorted(set(listed) - set(now))]
    reasons += [f"{rel} changed since packaging" for rel in sorted(set(now) & set(listed))
                if {k: v for k, v in now[rel].items() if k != "path"} != {k: v for k, v in listed[rel].items() if k != "path"}]
    reasons += _changed_inputs(manifest)
    return {"exists": True, "current": not reasons, "packaged_at": manifest.get("packaged_at"), "reasons": reasons}


def read_manifest(path: Path) -> dict | None:
    """A manifest.json this code wrote (a JSON object whose `files` are entries with a `path`),
    read within bounds, else None."""
    try:
        manifest = load_json_text(read_untrusted(path, cap=MAX_MANIFEST_BYTES, follow=False, max_links=None)
                                  .decode("utf-8"), source=str(path))
        if isinstance(manifest, dict) and isinstance(manifest.get("files"), list) and \
                all(isinstance(e, dict) and isinstance(e.get("path"), str) for e in manifest["files"]):
            return manifest
    except (Refused, UserError, UnicodeDecodeError):
        pass
    return None


def _digest_now(path_text) -> str | None:
    if not isinstance(path_text, str):
        return None
    try:
        return digest_text(sha256_untrusted(path_text, cap=MAX_CSV_HASH_BYTES, follow=True, max_links=None)[0])
    except Refused:
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


def _not_a_package(out: Path) -> str | None:
    """Why OUT/rca_config may not be replaced (None: absent, or a package this code wrote whose
    every file its manifest lists). A refresh replaces only our own package; a file, a symlink or
    a folder holding anything else is the user's and is never deleted."""
    final = out / CONFIG_DIR
    try:
        info = os.lstat(final)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{CONFIG_DIR} cannot be inspected ({exc.strerror})"
    if stat.S_ISLNK(info.st_mode):
        return f"{CONFIG_DIR} is a symlink"
    if not stat.S_ISDIR(info.st_mode):
        return f"{CONFIG_DIR} exists and is not a folder"
    manifest = read_manifest(final / MANIFEST)
    if manifest is None:
        return f"{CONFIG_DIR}/ has no readable {MANIFEST}, so it is not a package written by tao-skills"
    listed = {e["path"] for e in manifest["files"]} | {f"{CONFIG_DIR}/{MANIFEST}"}
    extra = []
    for folder, dirs, files in os.walk(final, followlinks=False):
        for name in sorted(files) + sorted(d for d in dirs if os.path.islink(os.path.join(folder, d))):
            rel = printable(f"{CONFIG_DIR}/{(Path(folder) / name).relative_to(final).as_posix()}")
            if rel not in listed:
                extra.append(rel)
    if extra:
        return f"{CONFIG_DIR}/ holds files the package did not write ({', '.join(sorted(extra)[:3])}{', …' if len(extra) > 3 else ''})"
    return None


def _swap_in(out: Path, staging_root: Path) -> None:
    """Rename the new package into place; the previous one (ours, checked under the lock) is
    moved aside first and deleted only after the new one is in place."""
    final = out / CONFIG_DIR
    old = None
    if os.path.lexists(final):
        old = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX + "old-", dir=out)) / CONFIG_DIR
        os.rename(final, old)
    try:
        os.rename(staging_root, final)
    except OSError:
        if old is not None:
            os.rename(old, final)  # put the previous package back
        raise
    if old is not None:
        shutil.rmtree(old.parent, ignore_errors=True)


def _remove_leftovers(out: Path) -> None:
    """Staging folders of a packaging that was killed (we hold the lock: none is in use)."""
    try:
        names = [n for n in os.listdir(out) if n.startswith(STAGING_PREFIX + "new-") or n.startswith(STAGING_PREFIX + "old-")]
    except OSError:
        return
    for name in names:
        path = out / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def _locked(out: Path):
    """An exclusive lock on OUT for one packaging (the hook and `gaps package` may run at once);
    flock is released by the kernel if the process dies, so a kill never leaves OUT locked."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    fd = os.open(out, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise PackagingError(f"{out}: another packaging of this folder has been running for "
                                         f"{LOCK_WAIT_SECONDS:.0f} s", f"wait for it, then run `tao-skills gaps package {out}`") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def build_package(request: PackageRequest, now: _dt.datetime | None = None) -> dict:
    """Write OUT/rca_config/ and return the manifest. Raises PackagingError when OUT cannot be
    written or holds an rca_config that is not ours; nothing outside OUT is ever written."""
    out = request.results_dir.resolve()
    if not out.is_dir():
        raise PackagingError(f"{out}: results folder not found", "pass the rca_results/<timestamp> folder")
    rerun = f"run `tao-skills gaps package {out}`"
    try:
        with _locked(out):
            refused = _not_a_package(out)
            if refused:
                raise PackagingError(f"{out}: {refused}; not replaced",
                                     f"move {out / CONFIG_DIR} out of the results folder, then {rerun}")
            _remove_leftovers(out)
            return _build_locked(request, out, now, rerun)
    except OSError as exc:
        raise PackagingError(f"{out}: packaging failed ({exc.strerror or exc})",
                             f"check permissions and free space, then {rerun}") from None


def _build_locked(request: PackageRequest, out: Path, now: _dt.datetime | None, rerun: str) -> dict:
    try:
        stage_parent = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX + "new-", dir=out))
    except OSError as exc:
        raise PackagingError(f"{out}: cannot write rca_config/ ({exc.strerror or exc})",
                             f"make the results folder writable, then write RCA_Report.md again or {rerun}") from None
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
        manifest = plain(manifest)
        with open(staging.root / MANIFEST, "wb") as handle:
            handle.write(json_bytes(manifest))
            handle.flush()
            os.fsync(handle.fileno())  # on disk before the rename makes it visible
        _swap_in(out, staging.root)
    finally:
        shutil.rmtree(stage_parent, ignore_errors=True)
    return manifest

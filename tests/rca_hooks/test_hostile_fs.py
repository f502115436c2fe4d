"""The hostile file-system matrix for packaging: every place the packager reads (slot) x every
hostile kind of file system object put there, each run through `tao-skills gaps package OUT`
and through the report hook's entry with a realistic Write payload, on the same world.

Whatever the case: it ends (timeouts), the CLI exits 0 or prints one `error:` line with a
non-zero exit, the hook returns quietly (no exception) with JSON-serialisable output, no staging
folder is left, the package holds only regular single-link files and nothing from outside
(no marker from outside, no environment), every skip has a one-line reason, the manifest is
UTF-8 JSON, the hostile object itself and everything outside OUT are left as they were.
Slot-specific expectations say what must be skipped, listed or refused."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest

from rca_results_builder import build_project, build_results_dir
from support import REPO_ROOT, assert_one_line_error, run_cli
from tao_skill_bank.rca_hooks import entry
from tao_skill_bank.rca_hooks.package import MAX_COPY_BYTES, SKILL_NAME

TIMEOUT = 20
OUTSIDE_MARKER = b"OUTSIDE-ONLY-c0ffee"   # bytes that exist only outside OUT, the experiment and the project
HUGE_MARKER = b"HUGE-HEAD-MARKER"          # the first bytes of a file far above every cap
ENV_MARKER = "ENV-ONLY-5eed"               # a value only the process environment holds
HUGE = 5 * 1024 ** 3
IS_ROOT = os.geteuid() == 0


@dataclass
class World:
    root: Path
    out: Path
    exp: Path
    project: Path
    transcript: Path
    outside: Path     # a folder outside everything packaged, holding a "key"

    @property
    def key(self) -> Path:
        return self.outside / "id_ed25519"


def make_world(root: Path) -> World:
    root.mkdir(parents=True, exist_ok=True)
    out, project = build_results_dir(root), build_project(root)
    outside = root / "outside"
    outside.mkdir()
    (outside / "id_ed25519").write_bytes(b"plain text " + OUTSIDE_MARKER + b"\n")
    (outside / "notes.md").write_bytes(OUTSIDE_MARKER + b"\n")
    return World(root, out, out.parents[1], project, root / "session.jsonl", outside)


# ---------------------------------------------------------------- hostile objects


def _bind_socket(path: Path) -> None:
    here = os.getcwd()
    os.chdir(path.parent)  # AF_UNIX paths are limited to ~108 bytes: bind the short name
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(path.name)
        sock.close()
    finally:
        os.chdir(here)


def _sparse(path: Path) -> None:
    with open(path, "wb") as handle:
        handle.write(HUGE_MARKER + b"\n")
        handle.truncate(HUGE)


def _loop(path: Path) -> None:
    os.symlink(path.name + ".loop", path)
    os.symlink(path.name, path.with_name(path.name + ".loop"))


def _device(path: Path) -> None:
    os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 5))  # a /dev/zero of our own, inside the folder


OBJECTS = {
    "fifo": lambda w, p: os.mkfifo(p),
    "socket": lambda w, p: _bind_socket(p),
    "symlink to /dev/zero": lambda w, p: os.symlink("/dev/zero", p),
    "symlink to /dev/urandom": lambda w, p: os.symlink("/dev/urandom", p),
    "symlink to /proc/self/environ": lambda w, p: os.symlink("/proc/self/environ", p),
    "char device": lambda w, p: _device(p),
    "symlink loop": lambda w, p: _loop(p),
    "dangling symlink": lambda w, p: os.symlink(w.root / "no such file", p),
    "symlink to an outside file": lambda w, p: os.symlink(w.key, p),
    "symlink to an outside folder": lambda w, p: os.symlink(w.outside, p),
    "hard link to an outside file": lambda w, p: os.link(w.key, p),
    "5 GiB sparse file": lambda w, p: _sparse(p),
    "folder": lambda w, p: p.mkdir(),
}
NEEDS_ROOT = {"char device"}


def _slot_paths(w: World) -> dict[str, Path]:
    skill = w.project / ".claude" / "skills" / SKILL_NAME
    return {
        "transcript": w.transcript,
        "spec": w.out / "vcn_aoi_spec.yaml",
        "run record": w.out / "run_record.json",
        "train config": w.exp / "train.yaml",
        "input csv": w.exp / "inference" / "inference.csv",
        "settings": w.project / ".claude" / "settings.json",
        "skill reference": skill / "references" / "pitfalls.md",
        "skill SKILL.md": skill / "SKILL.md",
        "rca_images folder": w.out / "rca_images",
        "file in OUT": w.out / "extra.bin",
        "report": w.out / "RCA_Report.md",
        "spot-check image": w.out / "rca_images" / "sample_00.png",
        "completion marker": w.out / "gap_complete.json",
        "rca_config": w.out / "rca_config",
    }


SLOTS = list(_slot_paths(World(*[Path("/")] * 6)))
COPIED = {"transcript": "transcript", "spec": "gap spec", "run record": "run record", "train config": "train config",
          "settings": "project .claude/settings.json", "skill reference": "skill reference"}
FATAL = {"completion marker", "rca_config"}   # the CLI refuses (one line), the hook blocks, nothing packaged
CASES = [(slot, kind) for slot in SLOTS for kind in OBJECTS]


def test_matrix_size():
    assert len(CASES) == len(SLOTS) * len(OBJECTS) >= 160


# ---------------------------------------------------------------- running both entry points


class _HookTimeout(Exception):
    pass


def _call_with_timeout(fn, seconds: float = TIMEOUT):
    def expire(signum, frame):
        raise _HookTimeout()
    saved = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, saved)


def hook_payload(w: World, transcript=None) -> bytes:
    report = w.out / "RCA_Report.md"
    return json.dumps({"session_id": "s1", "transcript_path": str(w.transcript) if transcript is None else transcript,
                       "cwd": str(w.project), "hook_event_name": "PostToolUse", "tool_name": "Write",
                       "tool_input": {"file_path": str(report), "content": "(the report)"},
                       "tool_response": {"filePath": str(report), "success": True}, "tool_use_id": "t1"}).encode()


def run_hook_entry(w: World, payload: bytes | None = None):
    """What hooks/_rca_hook_runner.py does after its pre-filter, in-process: an exception here
    would be a line on the hook's stderr, so none may escape; the output must print as JSON."""
    os.environ[ENV_MARKER] = ENV_MARKER
    try:
        output = _call_with_timeout(lambda: entry.report_hook(payload or hook_payload(w), env={ENV_MARKER: ENV_MARKER},
                                                              hook_bank_root=REPO_ROOT))
    finally:
        del os.environ[ENV_MARKER]
    json.dumps(output)
    return output


def run_package_cli(w: World, *extra: str):
    return run_cli("gaps", "package", w.out, "--transcript", w.transcript, *extra, cwd=w.project,
                   env={ENV_MARKER: ENV_MARKER}, timeout=TIMEOUT)


# ---------------------------------------------------------------- what must hold in every case


def _snapshot(folder: Path, skip: Path | None = None) -> dict:
    """lstat kind, size and content digest of everything under `folder` (not following links)."""
    seen = {}
    for here, dirs, files in os.walk(folder, followlinks=False):
        if skip is not None and Path(here) == skip:
            dirs[:] = []
            continue
        for name in dirs + files:
            path = Path(here) / name
            info = os.lstat(path)
            digest = None
            if stat.S_ISREG(info.st_mode) and info.st_size < 1 << 20:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            seen[str(path)] = (stat.S_IFMT(info.st_mode), info.st_size if not stat.S_ISDIR(info.st_mode) else 0, digest)
    return seen


def assert_invariants(w: World, extra_forbidden: tuple[bytes, ...] = ()) -> dict | None:
    """The package (if any) is clean; returns its manifest."""
    leftovers = [name for name in os.listdir(w.out) if name.startswith(".rca_config.")]
    assert leftovers == [], leftovers
    config = w.out / "rca_config"
    if not (config.is_dir() and not config.is_symlink() and (config / "manifest.json").is_file()):
        return None
    for path in config.rglob("*"):
        info = os.lstat(path)
        assert stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode), path
        if stat.S_ISREG(info.st_mode):
            assert info.st_nlink == 1 and info.st_size <= MAX_COPY_BYTES + (1 << 20), path
            data = path.read_bytes()
            for forbidden in (OUTSIDE_MARKER, HUGE_MARKER, ENV_MARKER.encode(), *extra_forbidden):
                assert forbidden not in data, (path, forbidden)
    manifest = json.loads((config / "manifest.json").read_bytes().decode("utf-8"))
    for skipped in manifest["skipped"]:
        assert skipped["why"] and "\n" not in skipped["why"] and len(skipped["why"]) <= 300, skipped
    return manifest


def _skips_for(manifest: dict, path: Path) -> list[dict]:
    return [s for s in manifest["skipped"] if s["path"] == str(path)]


def _copied_from(manifest: dict, path: Path) -> list[dict]:
    return [c for c in manifest["copied"] if c["from"] == str(path)]


def _slot_expectations(w: World, slot: str, kind: str, path: Path, manifest: dict) -> None:
    if slot in COPIED:
        assert not _copied_from(manifest, path), (slot, kind)
        if not (slot == "skill reference" and kind == "folder"):  # an empty folder is walked, nothing to skip
            assert _skips_for(manifest, path), (slot, kind, manifest["skipped"])
    if slot == "input csv":
        if kind == "hard link to an outside file":  # hashed only, never copied: a digest leaks nothing
            assert manifest["input_csv"]["sha256"]
        else:
            assert manifest["input_csv"]["sha256"] is None and _skips_for(manifest, path), kind
    if slot == "skill SKILL.md":  # not chosen (not a file) or chosen and refused: never copied
        assert not _copied_from(manifest, path), kind
    if slot in ("file in OUT", "report", "spot-check image", "rca_images folder"):
        rel = path.relative_to(w.out).as_posix()
        listed = {e["path"]: e for e in manifest["files"]}
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            assert listed[rel] == {"path": rel, "symlink": os.readlink(path)}
        elif stat.S_ISDIR(mode):
            assert rel not in listed
        elif not stat.S_ISREG(mode):
            assert listed[rel] == {"path": rel, "special": True}
        elif os.lstat(path).st_size > 512 * 1024 ** 2:
            assert "sha256" not in listed[rel] and listed[rel]["size"] == HUGE and "unhashed" in listed[rel]
        else:
            assert listed[rel]["sha256"].startswith("sha256:")


def _place(w: World, slot: str, kind: str) -> Path:
    path = _slot_paths(w)[slot]
    if os.path.lexists(path):
        if os.path.isdir(path) and not os.path.islink(path):
            import shutil
            shutil.rmtree(path)
        else:
            path.unlink()
    OBJECTS[kind](w, path)
    return path


@pytest.mark.parametrize("slot,kind", CASES, ids=[f"{s}-{k}" for s, k in CASES])
def test_hostile_object_in_every_slot(tmp_path, slot, kind):
    if kind in NEEDS_ROOT and not IS_ROOT:
        pytest.skip("mknod needs root")
    w = make_world(tmp_path)
    path = _place(w, slot, kind)
    placed = os.lstat(path)
    outside_before = _snapshot(w.root, skip=w.out)

    cli = run_package_cli(w)
    if slot in FATAL or slot == "transcript":  # an explicit --transcript that is refused is an error too
        assert_one_line_error(cli)
        assert cli.code in (1, 2), cli
    else:
        assert cli.code == 0 and cli.stderr == "", cli
    manifest = assert_invariants(w)
    if slot not in FATAL and slot != "transcript":
        _slot_expectations(w, slot, kind, path, manifest)

    output = run_hook_entry(w)
    manifest = assert_invariants(w)
    if slot in FATAL:
        assert output["decision"] == "block", output
        if slot == "completion marker":
            assert not os.path.lexists(w.out / "rca_config")
    else:
        text = json.dumps(output)
        assert "Packaged" in text, output
        _slot_expectations(w, slot, kind, path, manifest)

    after = os.lstat(path)  # the hostile object itself is the user's: left as it was
    assert (stat.S_IFMT(after.st_mode), after.st_ino) == (stat.S_IFMT(placed.st_mode), placed.st_ino)
    assert _snapshot(w.root, skip=w.out) == outside_before


# ---------------------------------------------------------------- file names

ODD_NAMES = [os.fsdecode(b"caf\xe9.txt"), "new\nline.txt", "tab\tand space .txt", "ü-ñ.txt", os.fsdecode(b"\xff\xfe\n.md")]


@pytest.mark.parametrize("where", ["OUT", "OUT subfolder", "skill references", "whole world"])
def test_odd_file_names_package_and_round_trip_through_gaps_check(tmp_path, where):
    w = make_world(tmp_path / "w")
    if where == "whole world":  # built, then moved under a name that is not UTF-8 (pyarrow cannot write there)
        moved = tmp_path / os.fsdecode(b"w\xe9rld\nroot")
        os.rename(w.root, moved)
        w = World(*(moved / p.relative_to(w.root) for p in (w.root, w.out, w.exp, w.project, w.transcript, w.outside)))
    skill_refs = w.project / ".claude" / "skills" / SKILL_NAME / "references"
    folder = {"OUT": w.out, "OUT subfolder": w.out / os.fsdecode(b"sub\xe9\ndir"), "skill references": skill_refs,
              "whole world": w.out}[where]
    folder.mkdir(exist_ok=True)
    for name in ODD_NAMES:
        (folder / name).write_bytes(b"content of an oddly named file\n")
    cli = run_package_cli(w)
    assert cli.code == 0 and cli.stderr == "", cli
    manifest = assert_invariants(w)
    listed = {e["path"] for e in manifest["files"]}
    if where != "skill references":
        rel = folder.relative_to(w.out).as_posix()
        assert {_printable(n if rel == "." else f"{rel}/{n}") for n in ODD_NAMES} <= listed
    else:
        copied = {c["path"] for c in manifest["copied"]}
        assert f"rca_config/skill/{SKILL_NAME}/references/{_printable(ODD_NAMES[4])}" in copied
    check = run_cli("gaps", "check", w.out, "--json", cwd=w.project)
    assert check.json()["package"]["current"] is True, check.json()["package"]
    assert "Packaged" in json.dumps(run_hook_entry(w))
    assert assert_invariants(w) is not None


def _printable(name: str) -> str:
    from tao_skill_bank.fsutil import printable
    return printable(name)


# ---------------------------------------------------------------- the transcript path of a payload

TRANSCRIPT_PATHS = {
    "relative": lambda w: "session.jsonl",
    "dot-dot": lambda w: str(w.project / ".." / "session.jsonl"),
    "a folder": lambda w: str(w.root),
    "a folder named .jsonl": lambda w: (w.root / "dir.jsonl").mkdir() or str(w.root / "dir.jsonl"),
    "/proc/self/environ": lambda w: "/proc/self/environ",
    "/dev/zero": lambda w: "/dev/zero",
    "a FIFO": lambda w: os.mkfifo(w.root / "pipe.jsonl") or str(w.root / "pipe.jsonl"),
    "a symlink": lambda w: os.symlink(w.transcript, w.root / "link.jsonl") or str(w.root / "link.jsonl"),
    "a key file": lambda w: str(w.key),
    "an empty file": lambda w: (w.root / "empty.jsonl").write_text("") or str(w.root / "empty.jsonl"),
    "NUL byte": lambda w: str(w.transcript) + "\x00.jsonl",
    "100k characters": lambda w: "/" + "a" * 100_000 + ".jsonl",
    "not a string": lambda w: ["/etc/passwd"],
}


@pytest.mark.parametrize("kind", list(TRANSCRIPT_PATHS))
def test_hostile_transcript_paths_are_skipped_by_the_hook_and_refused_by_the_cli(tmp_path, kind):
    w = make_world(tmp_path)
    given = TRANSCRIPT_PATHS[kind](w)
    output = run_hook_entry(w, hook_payload(w, transcript=given))
    assert "Packaged" in json.dumps(output)
    manifest = assert_invariants(w, extra_forbidden=(b"PATH=", b"HOME="))
    assert not (w.out / "rca_config" / "transcript.jsonl").exists()
    [skip] = [s for s in manifest["skipped"] if s["what"] == "transcript"]
    assert skip["why"], skip
    if isinstance(given, str) and "\x00" not in given and kind not in ("relative", "dot-dot"):  # the CLI makes those absolute
        cli = run_cli("gaps", "package", w.out, "--transcript", given, cwd=w.project, timeout=TIMEOUT)
        assert_one_line_error(cli, "--transcript")


# ---------------------------------------------------------------- where OUT is


@pytest.mark.parametrize("link", ["OUT itself", "the experiment", "rca_results"])
def test_symlinked_out_or_parent_is_packaged_where_it_really_is(tmp_path, link):
    w = make_world(tmp_path / "real")
    alias_root = tmp_path / "alias"
    alias_root.mkdir()
    if link == "OUT itself":
        alias = alias_root / w.out.name
        os.symlink(w.out, alias)
    elif link == "the experiment":
        os.symlink(w.exp, alias_root / "exp")
        alias = alias_root / "exp" / "rca_results" / w.out.name
    else:
        (alias_root / "exp").mkdir()
        os.symlink(w.out.parent, alias_root / "exp" / "rca_results")
        alias = alias_root / "exp" / "rca_results" / w.out.name
    before = _snapshot(tmp_path, skip=w.out)
    cli = run_cli("gaps", "package", alias, "--transcript", w.transcript, "--json", cwd=w.project, timeout=TIMEOUT)
    assert cli.code == 0, cli
    manifest = assert_invariants(w)
    assert manifest["results_dir"] == str(w.out.resolve())
    # the experiment is the real one: the train config next to the real results is packaged
    assert any(c["what"] == "train config" for c in manifest["copied"])
    payload = hook_payload(w).replace(str(w.out).encode(), str(alias).encode())
    assert "Packaged" in json.dumps(run_hook_entry(w, payload))
    assert_invariants(w)
    assert _snapshot(tmp_path, skip=w.out) == before  # nothing written beside the link


# ---------------------------------------------------------------- a previous package


def _tree_digest(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_previous_package_is_refreshed_in_place_and_leftovers_of_a_killed_run_removed(tmp_path):
    w = make_world(tmp_path)
    assert run_package_cli(w).code == 0
    (w.out / "new_note.txt").write_text("added after the first packaging")
    killed = w.out / ".rca_config.new-killed" / "rca_config"
    killed.mkdir(parents=True)
    (killed / "half.json").write_text("{")
    assert run_package_cli(w).code == 0
    manifest = assert_invariants(w)
    assert "new_note.txt" in {e["path"] for e in manifest["files"]}
    assert sorted(os.listdir(w.out / "rca_config")) == sorted(["hooks", "manifest.json", "project", "run_record.json", "skill",
                                                              "train_config.yaml", "transcript.jsonl", "vcn_aoi_spec.yaml",
                                                              "versions.yaml"])


@pytest.mark.parametrize("added", ["file", "folder", "symlink"])
def test_a_package_holding_user_files_is_never_replaced(tmp_path, added):
    w = make_world(tmp_path)
    assert run_package_cli(w).code == 0
    target = w.out / "rca_config" / "my notes.md"
    {"file": lambda: target.write_text("mine"), "folder": lambda: (target.mkdir(), (target / "a.md").write_text("mine")),
     "symlink": lambda: os.symlink(w.key, target)}[added]()
    before = _tree_digest(w.out / "rca_config")
    assert_one_line_error(run_package_cli(w), "holds files the package did not write", "my notes.md")
    assert json.loads(json.dumps(run_hook_entry(w)))["decision"] == "block"
    assert _tree_digest(w.out / "rca_config") == before and os.path.lexists(target)
    assert [n for n in os.listdir(w.out) if n.startswith(".rca_config.")] == []


@pytest.mark.parametrize("entry_point", ["cli", "hook script"])
def test_disk_full_while_packaging_leaves_the_previous_package_and_no_staging(tmp_path, entry_point):
    import resource
    import subprocess
    import sys

    w = make_world(tmp_path)
    assert run_package_cli(w).code == 0
    before = _tree_digest(w.out / "rca_config")
    with open(w.transcript, "a") as handle:  # the new copy will not fit under the file-size limit
        for i in range(4000):
            handle.write(json.dumps({"type": "user", "message": {"content": f"line {i} " + "x" * 60}}) + "\n")
    limit = 128 * 1024

    def small_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    if entry_point == "cli":
        argv = [sys.executable, "-m", "tao_skill_bank", "gaps", "package", str(w.out), "--transcript", str(w.transcript)]
        stdin = b""
    else:
        argv = [sys.executable, str(REPO_ROOT / "hooks" / "rca_report_posttooluse.py")]
        stdin = hook_payload(w)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAUDE_")}
    proc = subprocess.run(argv, input=stdin, capture_output=True, cwd=w.project, env=env, timeout=60,
                          preexec_fn=small_disk)
    stderr = proc.stderr.decode()
    if entry_point == "cli":
        assert proc.returncode == 2 and len(stderr.splitlines()) == 1 and stderr.startswith("error:"), stderr
        assert "File too large" in stderr
    else:
        assert proc.returncode == 0 and stderr == "", stderr
        assert "Packaging failed" in json.loads(proc.stdout)["reason"]
    assert _tree_digest(w.out / "rca_config") == before  # the previous package, byte for byte
    assert_invariants(w)


def test_read_only_results_folder_is_one_error_line_and_a_hook_finding(tmp_path):
    if IS_ROOT:
        pytest.skip("root writes into a read-only folder; the same path is simulated in test_package.py")
    w = make_world(tmp_path)
    w.out.chmod(0o555)
    try:
        assert_one_line_error(run_package_cli(w), "cannot write rca_config/")
        assert "make the results folder writable" in run_hook_entry(w)["reason"]
    finally:
        w.out.chmod(0o755)


def test_unreadable_inputs_are_skipped_with_the_reason(tmp_path, monkeypatch):
    w = make_world(tmp_path)
    unreadable = {w.exp / "train.yaml", w.project / ".claude" / "settings.json", w.out / "vcn_aoi_spec.yaml"}
    if IS_ROOT:  # root reads anything: the kernel's answer for another user, simulated at the open
        from tao_skill_bank import fsutil
        real_open = os.open

        def denying_open(path, flags, *args, **kwargs):
            if Path(os.fspath(path)) in unreadable:
                raise PermissionError(13, "Permission denied", os.fspath(path))
            return real_open(path, flags, *args, **kwargs)
        monkeypatch.setattr(fsutil.os, "open", denying_open)
    else:
        for path in unreadable:
            path.chmod(0)
    manifest = run_package_cli(w) and assert_invariants(w)
    for path in unreadable:
        assert [s["why"] for s in _skips_for(manifest, path)] == ["unreadable (permission denied)"], path
    assert "Packaged" in json.dumps(run_hook_entry(w))


@pytest.mark.parametrize("state", ["no marker", "claim only", "marker is a FIFO"])
def test_an_unfinished_run_is_never_packaged(tmp_path, state):
    w = make_world(tmp_path)
    (w.out / "gap_complete.json").unlink()
    if state == "claim only":
        (w.out / ".gap_claim").write_text('{"pid": 1}')
    if state == "marker is a FIFO":
        os.mkfifo(w.out / "gap_complete.json")
    assert_one_line_error(run_package_cli(w), "incomplete results folder")
    assert run_hook_entry(w)["decision"] == "block"
    assert not os.path.lexists(w.out / "rca_config")
    assert_invariants(w)


def test_concurrent_packagings_of_one_folder_all_succeed_and_leave_one_package(tmp_path):
    import subprocess
    import sys

    w = make_world(tmp_path)
    argv = [sys.executable, "-m", "tao_skill_bank", "gaps", "package", str(w.out), "--transcript", str(w.transcript)]
    procs = [subprocess.Popen(argv, cwd=w.project, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    results = [(p.wait(timeout=120), p.stderr.read().decode()) for p in procs]
    assert all(code == 0 and err == "" for code, err in results), results
    assert assert_invariants(w) is not None


# ---------------------------------------------------------------- the real hook script, one case per kind


@pytest.mark.parametrize("kind", [k for k in OBJECTS if k not in NEEDS_ROOT or IS_ROOT])
def test_the_hook_script_exits_0_quietly_on_every_kind(tmp_path, kind):
    from test_hook_scripts import REPORT_HOOK, run_hook

    w = make_world(tmp_path)
    _place(w, "transcript", kind)
    _place(w, "train config", kind)
    code, output, stderr = run_hook(REPORT_HOOK, hook_payload(w))
    assert code == 0 and stderr == "" and "Packaged" in json.dumps(output), (code, output, stderr)
    manifest = assert_invariants(w)
    assert {s["what"] for s in manifest["skipped"]} >= {"transcript", "train config"}


# ---------------------------------------------------------------- paths named by run_record.json or the spec

NAMED = {
    "/dev/zero": lambda w: "/dev/zero",
    "/dev/urandom": lambda w: "/dev/urandom",
    "/proc/self/environ": lambda w: "/proc/self/environ",
    "a FIFO inside the experiment": lambda w: os.mkfifo(w.exp / "train.fifo.yaml") or str(w.exp / "train.fifo.yaml"),
    "a folder inside the experiment": lambda w: str(w.exp),
    "a file outside": lambda w: str(w.key),
    "relative, climbing out": lambda w: "../../../outside/id_ed25519",
    "home-relative": lambda w: "~/.ssh/id_ed25519",
    "a symlink loop inside": lambda w: _loop(w.exp / "loop.yaml") or str(w.exp / "loop.yaml"),
}


@pytest.mark.parametrize("source", ["run record", "spec"])
@pytest.mark.parametrize("kind", list(NAMED))
def test_paths_named_by_the_run_record_or_spec_are_never_read_out(tmp_path, kind, source):
    w = make_world(tmp_path)
    named = NAMED[kind](w)
    if source == "run record":
        (w.out / "run_record.json").write_text(json.dumps({"train_config": named, "inference_csv": {"path": named}}))
    else:
        (w.out / "run_record.json").unlink()
        (w.out / "vcn_aoi_spec.yaml").write_text(f"inference_results_dir: {named}\ntrain_config: {named}\nmin_recall: 1.0\n")
    cli = run_package_cli(w)
    assert cli.code == 0, cli
    for manifest in (assert_invariants(w), run_hook_entry(w) and assert_invariants(w)):
        assert not any(c["what"] == "train config" for c in manifest["copied"]), kind
        assert [s for s in manifest["skipped"] if s["what"] == "train config"], kind
        assert manifest["input_csv"]["sha256"] is None


@pytest.mark.parametrize("kind", ["fifo", "symlink to /dev/zero", "5 GiB sparse file", "symlink loop"])
def test_gaps_check_reads_a_hostile_manifest_without_hanging(tmp_path, kind):
    """`gaps check` re-hashes what manifest.json names (input CSV, train config): those paths are
    the manifest's word, so they get the same reader."""
    w = make_world(tmp_path)
    assert run_package_cli(w).code == 0
    target = w.root / "named"
    OBJECTS[kind](w, target)
    manifest_path = w.out / "rca_config" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["input_csv"]["path"] = str(target)
    for copied in manifest["copied"]:
        if copied["what"] == "train config":
            copied["from"] = str(target)
    manifest_path.write_text(json.dumps(manifest))
    result = run_cli("gaps", "check", w.out, "--json", cwd=w.project, timeout=TIMEOUT)
    assert result.code == 3, result
    reasons = result.json()["package"]["reasons"]
    assert any("input CSV" in r for r in reasons) and any("train config" in r for r in reasons), reasons


@pytest.mark.parametrize("kind", ["fifo", "symlink to /dev/zero", "5 GiB sparse file", "symlink loop", "folder"])
def test_gaps_check_counts_labels_only_from_a_regular_csv(tmp_path, kind):
    """The label-count check reads the CSV run_record.json names: judged on the opened file."""
    w = make_world(tmp_path)
    target = w.root / "named.csv"
    OBJECTS[kind](w, target)
    record_path = w.out / "run_record.json"
    record = json.loads(record_path.read_text())
    record["inference_csv"]["path"] = str(target)
    record_path.write_text(json.dumps(record))
    result = run_cli("gaps", "check", w.out, "--json", cwd=w.project, timeout=TIMEOUT)
    assert result.code == 3, result
    labels = [f for f in result.json()["findings"] if f["check"] == "labels"]
    assert labels and "label counts not checked" in labels[0]["problem"] and str(target) in labels[0]["problem"], labels


def test_gaps_check_survives_a_symlink_loop_the_report_names(tmp_path):
    w = make_world(tmp_path)
    image = w.out / "rca_images" / "sample_00.png"  # a spot-check image the report links to
    assert "rca_images/sample_00.png" in (w.out / "RCA_Report.md").read_text()
    image.unlink()
    _loop(image)
    result = run_cli("gaps", "check", w.out, "--json", cwd=w.project, timeout=TIMEOUT)
    assert result.code == 3, result
    assert any("sample_00.png" in f["problem"] for f in result.json()["findings"]), result.json()["findings"]

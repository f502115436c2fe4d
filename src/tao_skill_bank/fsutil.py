"""Filesystem adapters: atomic writes, never-clobber folders and file hashes.

Outputs are written to a temporary sibling and renamed into place, so a crash or a bad input
never leaves a half-written file.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, Callable

from tao_skill_bank.errors import UserError



def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _final_mode(path))
        os.replace(tmp, path)
    except BaseException:
        _silent_unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, data: Any) -> Path:
    return atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n")


def atomic_write_with(path: str | os.PathLike, writer: Callable[[Path], None]) -> Path:
    """Let `writer` produce the file at a temp path (e.g. pandas.to_parquet), then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
        os.chmod(tmp, _final_mode(path))
        os.replace(tmp, path)
    except BaseException:
        _silent_unlink(tmp)
        raise
    return path


def create_new_dir(path: str | os.PathLike) -> Path:
    """Create a results folder that must not exist yet (never reuse a previous run's folder)."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=False)
    except FileExistsError:
        raise UserError("results folder already exists; refusing to overwrite a previous run",
                        file=str(path), fix="choose a new --out folder or let the tool pick a timestamp")
    return path


def _final_mode(path: Path) -> int:
    """The replaced file's permissions, else what a plain open() would give (mkstemp makes 0600,
    which would hide results from other users and drop a script's executable bit)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _silent_unlink(path: str | os.PathLike) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file, read in chunks (hashlib releases the GIL, so a thread can hash
    while another computes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------- reading untrusted paths
# One way to read a file whose path someone else chose (a hook payload, run_record.json, the
# spec, a results or project folder): look first without opening (a device's open() can act:
# rewind a tape, arm a watchdog), open without blocking (a FIFO) and without following a final
# symlink unless asked, then judge the opened file itself (fstat: same inode as looked at,
# regular, link count, size; where it really lives, from the kernel), and never read more than
# fstat reported (a /proc file reports 0 and would otherwise hand over the whole environment).

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


class Refused(Exception):
    """A file that is not read; str() is the one-line reason (for a manifest or a finding)."""


def size_text(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n:,} bytes"


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _lstat_reason(exc: OSError) -> str:
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        return "not found"
    if isinstance(exc, PermissionError):
        return "unreadable (permission denied)"
    if exc.errno == errno.ELOOP:
        return "symlink loop (not followed)"
    return f"cannot be read ({exc.strerror or type(exc).__name__})"


def _within(path: str, root: Path) -> bool:
    return path == str(root) or path.startswith(str(root).rstrip(os.sep) + os.sep)


def _opened_path(fd: int, given: str) -> str:
    """Where the opened file really is: the kernel's name for the descriptor (no race), else the
    resolved path (systems without /proc)."""
    try:
        real = os.readlink(f"/proc/self/fd/{fd}")
        if real.startswith(os.sep) and not real.endswith(" (deleted)"):
            return real
    except OSError:
        pass
    return os.path.realpath(given)


def open_untrusted(path: str | os.PathLike, *, cap: int, follow: bool = False, inside: tuple[Path, ...] = (),
                   inside_what: str = "", max_links: int | None = 1) -> tuple[int, os.stat_result]:
    """An fd of the regular file at `path` with its fstat, else Refused(reason). `follow`: a final
    symlink may be followed (then `inside` decides where it may lead); `inside`: resolved folders
    the file must really lie in; `max_links`: a file with more hard links could be any file on the
    same disk (a key) linked in, so it is refused unless None."""
    try:
        given = os.fspath(path)
        before = os.stat(given) if follow else os.lstat(given)
    except (ValueError, TypeError):
        raise Refused("not a usable path (embedded NUL byte)") from None
    except OSError as exc:
        raise Refused(_lstat_reason(exc)) from None
    if stat.S_ISLNK(before.st_mode):
        raise Refused("is a symlink (not followed)")
    if not stat.S_ISREG(before.st_mode):
        raise Refused(f"not a regular file ({_kind(before.st_mode)})")
    try:
        fd = os.open(given, _OPEN_FLAGS | (0 if follow else getattr(os, "O_NOFOLLOW", 0)))
    except OSError as exc:
        raise Refused(_lstat_reason(exc) if exc.errno != errno.ELOOP else "replaced by a symlink while being opened") from None
    try:
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino) != (before.st_dev, before.st_ino) or not stat.S_ISREG(info.st_mode):
            raise Refused("replaced while being opened (not read)")
        if max_links is not None and info.st_nlink > max_links:
            raise Refused(f"has {info.st_nlink} hard links (could be a file from elsewhere linked in; "
                          "copy it in as a plain file)")
        if info.st_size > cap:
            raise Refused(f"larger than {size_text(cap)}")
        if inside and not any(_within(_opened_path(fd, given), root) for root in inside):
            raise Refused(("symlink leads outside " if os.path.islink(given) else "lies outside ") + inside_what)
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def _chunks(fd: int, size: int, chunk: int = 1 << 22):
    left = size
    while left > 0:
        block = os.read(fd, min(chunk, left))
        if not block:
            return
        left -= len(block)
        yield block


def read_untrusted(path: str | os.PathLike, *, cap: int, **rules) -> bytes:
    """The bytes of `path` (at most what fstat reported, never above `cap`), else Refused; rules as
    `open_untrusted`."""
    fd, info = open_untrusted(path, cap=cap, **rules)
    try:
        return b"".join(_chunks(fd, info.st_size))
    except OSError as exc:
        raise Refused(f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    finally:
        os.close(fd)


def sha256_untrusted(path: str | os.PathLike, *, cap: int, **rules) -> tuple[str, int]:
    """(hex sha256, size) of `path` under the same rules, hashing at most `cap` bytes."""
    fd, info = open_untrusted(path, cap=cap, **rules)
    digest = hashlib.sha256()
    try:
        for block in _chunks(fd, info.st_size):
            digest.update(block)
    except OSError as exc:
        raise Refused(f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    finally:
        os.close(fd)
    return digest.hexdigest(), info.st_size


def printable(text: str) -> str:
    """A file name as UTF-8 text: bytes that are not UTF-8 (held as lone surrogates by Python)
    become `\\xNN`, so a manifest or a message stays valid UTF-8 JSON that any parser reads."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")

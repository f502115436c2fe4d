import errno
import hashlib
import os

import pytest

from tao_skill_bank import fsutil
from tao_skill_bank.errors import UserError


def test_atomic_write_leaves_no_temp_and_replaces(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    fsutil.atomic_write_text(target, "one")
    fsutil.atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert sorted(os.listdir(target.parent)) == ["out.txt"]


def test_failed_writer_keeps_previous_file_and_no_temp(tmp_path):
    target = tmp_path / "data.bin"
    target.write_bytes(b"previous")

    def broken(path):
        path.write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        fsutil.atomic_write_with(target, broken)
    assert target.read_bytes() == b"previous"
    assert sorted(os.listdir(tmp_path)) == ["data.bin"]


def test_json_refuses_nan(tmp_path):
    with pytest.raises(ValueError):
        fsutil.atomic_write_json(tmp_path / "m.json", {"x": float("nan")})
    assert not (tmp_path / "m.json").exists()


def test_create_new_dir_never_reuses(tmp_path):
    made = fsutil.create_new_dir(tmp_path / "run")
    (made / "keep.txt").write_text("results")
    with pytest.raises(UserError) as err:
        fsutil.create_new_dir(tmp_path / "run")
    assert "already exists" in err.value.one_line()
    assert (made / "keep.txt").read_text() == "results"


def test_new_files_get_the_umask_mode_and_replaced_files_keep_theirs(tmp_path):
    old_umask = os.umask(0o022)
    try:
        fsutil.atomic_write_text(tmp_path / "new.txt", "x")
        fsutil.atomic_write_with(tmp_path / "new.bin", lambda p: p.write_bytes(b"x"))
        script = tmp_path / "run.sh"
        script.write_text("old")
        script.chmod(0o755)
        fsutil.atomic_write_text(script, "new")
    finally:
        os.umask(old_umask)
    assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o644  # mkstemp alone gives 0600
    assert (tmp_path / "new.bin").stat().st_mode & 0o777 == 0o644
    assert script.stat().st_mode & 0o777 == 0o755


# ---------------------------------------------------------------- reading untrusted paths

from tao_skill_bank.fsutil import Refused, printable, read_untrusted, sha256_untrusted  # noqa: E402


def _swap_before_open(monkeypatch, target, replace):
    """Run `replace(target)` just before os.open opens `target`: the file changes between the look
    (stat) and the open, as an attacker racing the hook would make it."""
    real_open = os.open

    def racing_open(path, flags, *args, **kwargs):
        if os.fspath(path) == os.fspath(target):
            replace(target)
        return real_open(path, flags, *args, **kwargs)
    monkeypatch.setattr(fsutil.os, "open", racing_open)


def _to_fifo(path):
    path.unlink()
    os.mkfifo(path)


def _to_symlink_out(path):
    path.unlink()
    os.symlink("/etc/hostname", path)


def _to_outside_hard_link(path):
    key = path.parent.parent / "key"
    key.write_text("secret\n")
    path.unlink()
    os.link(key, path)


@pytest.mark.parametrize("replace,follow", [(_to_fifo, False), (_to_fifo, True), (_to_symlink_out, False),
                                            (_to_symlink_out, True), (_to_outside_hard_link, True)])
def test_a_file_replaced_between_look_and_open_is_refused_never_read(tmp_path, monkeypatch, replace, follow):
    (tmp_path / "exp").mkdir()
    path = tmp_path / "exp" / "train.yaml"
    path.write_text("dataset: {}\n")
    _swap_before_open(monkeypatch, path, replace)
    with pytest.raises(Refused, match="replaced"):  # a FIFO opens without blocking; the fstat tells
        read_untrusted(path, cap=1 << 20, follow=follow, inside=(tmp_path.resolve(),), max_links=None)


@pytest.mark.parametrize("make,reason", [
    (lambda p: os.mkfifo(p), "a FIFO"), (lambda p: p.mkdir(), "a folder"),
    (lambda p: os.symlink("/dev/zero", p), "symlink"), (lambda p: os.symlink(p, p), "symlink"),
    (lambda p: None, "not found")])
def test_special_files_are_refused_before_any_open(tmp_path, monkeypatch, make, reason):
    path = tmp_path / "x"
    make(path)
    opened = []
    monkeypatch.setattr(fsutil.os, "open", lambda *a, **k: opened.append(a) or (_ for _ in ()).throw(AssertionError))
    with pytest.raises(Refused, match=reason):
        read_untrusted(path, cap=1 << 20)
    assert opened == []


def test_a_followed_device_is_refused_without_opening_it(monkeypatch, tmp_path):
    link = tmp_path / "zero"
    os.symlink("/dev/zero", link)
    monkeypatch.setattr(fsutil.os, "open", lambda *a, **k: pytest.fail("a device must never be opened"))
    with pytest.raises(Refused, match="character device"):
        read_untrusted(link, cap=1 << 20, follow=True)


def test_never_reads_more_than_fstat_reported(tmp_path):
    # /proc files report size 0 and would hand over the whole environment if read to EOF
    assert read_untrusted("/proc/self/environ", cap=1 << 20, follow=True, max_links=None) == b""
    path = tmp_path / "growing.jsonl"
    path.write_bytes(b"0123456789")
    fd, info = fsutil.open_untrusted(path, cap=1 << 20)
    os.close(fd)
    assert info.st_size == 10 and read_untrusted(path, cap=10) == b"0123456789"
    with pytest.raises(Refused, match="larger than 9 bytes"):
        read_untrusted(path, cap=9)


def test_caps_are_judged_on_the_size_without_reading(tmp_path, monkeypatch):
    huge = tmp_path / "huge.jsonl"
    with open(huge, "wb") as handle:
        handle.truncate(5 * 1024 ** 3)
    monkeypatch.setattr(fsutil.os, "read", lambda *a: pytest.fail("a file above its cap must not be read"))
    with pytest.raises(Refused, match="larger than 64 MiB"):
        read_untrusted(huge, cap=64 * 1024 * 1024)
    with pytest.raises(Refused, match="larger than 1 GiB"):
        sha256_untrusted(huge, cap=1 << 30)


def test_hard_links_and_containment(tmp_path):
    inside, outside = tmp_path / "inside", tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()
    (outside / "key").write_text("secret\n")
    os.link(outside / "key", inside / "linked")
    with pytest.raises(Refused, match="2 hard links"):
        read_untrusted(inside / "linked", cap=100)
    assert read_untrusted(inside / "linked", cap=100, max_links=None) == b"secret\n"
    os.symlink(outside / "key", inside / "symlinked")
    with pytest.raises(Refused, match="symlink leads outside the folder"):
        read_untrusted(inside / "symlinked", cap=100, follow=True, inside=(inside.resolve(),), inside_what="the folder",
                       max_links=None)
    digest, size = sha256_untrusted(outside / "key", cap=100, follow=True, max_links=None)
    assert (digest, size) == (hashlib.sha256(b"secret\n").hexdigest(), 7)


def test_unreadable_file_is_refused_with_the_reason(tmp_path, monkeypatch):
    path = tmp_path / "settings.json"
    path.write_text("{}")
    if os.geteuid() != 0:
        path.chmod(0)
    else:  # root reads anything: the kernel's answer for a non-root user, simulated
        def denied(*args, **kwargs):
            raise PermissionError(errno.EACCES, "Permission denied")
        monkeypatch.setattr(fsutil.os, "open", denied)
    with pytest.raises(Refused, match=r"^unreadable \(permission denied\)$"):
        read_untrusted(path, cap=100)


def test_printable_names_stay_valid_utf8():
    name = os.fsdecode(b"caf\xe9\nx.txt")
    shown = printable(name)
    assert shown == "caf\\xe9\nx.txt" and shown.encode("utf-8")
    assert printable("plain ü") == "plain ü"

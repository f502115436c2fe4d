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

"""Bank root discovery: --bank, then $TAO_SKILL_BANK_PATH, then checkout/shipped copy."""

import shutil

import pytest

from support import RELEASE, REPO_ROOT, run_cli
from tao_skill_bank import bank
from tao_skill_bank.errors import UserError


def _make_bank(path, tag):
    (path / "skills").mkdir(parents=True)
    (path / "schemas").mkdir()
    shutil.copy(REPO_ROOT / "schemas/versions.schema.json", path / "schemas")
    text = (REPO_ROOT / "versions.yaml").read_text().replace(f"{RELEASE}-pyt", f"{tag}-pyt")
    (path / "versions.yaml").write_text(text)
    return path


def test_default_is_this_checkout(monkeypatch):
    monkeypatch.delenv(bank.ENV_VAR, raising=False)
    assert bank.find_bank_root() == REPO_ROOT.resolve()


def test_flag_beats_env(tmp_path, monkeypatch):
    flag = _make_bank(tmp_path / "flag", "1.0.0")
    env = _make_bank(tmp_path / "env", "2.0.0")
    monkeypatch.setenv(bank.ENV_VAR, str(env))
    assert bank.find_bank_root(flag) == flag.resolve()
    assert bank.find_bank_root() == env.resolve()
    out = run_cli("--bank", str(flag), "versions", "get", "images.tao_toolkit.pyt", env={bank.ENV_VAR: str(env)})
    assert out.stdout.strip().endswith(":1.0.0-pyt")


def test_env_pointing_nowhere_is_an_error_not_a_fallback(tmp_path, monkeypatch):
    monkeypatch.setenv(bank.ENV_VAR, str(tmp_path / "missing"))
    with pytest.raises(UserError) as err:
        bank.find_bank_root()
    assert err.value.exit_code == 2
    assert bank.ENV_VAR in err.value.one_line()


def test_unknown_skill_lists_known_ones(tmp_path):
    root = _make_bank(tmp_path / "b", "1.0.0")
    skill = root / "skills" / "tao-real"
    skill.mkdir()
    (skill / "SKILL.md").write_text("x")
    assert bank.skill_dir("tao-real", root) == skill.resolve()
    with pytest.raises(UserError) as err:
        bank.skill_dir("tao-fake", root)
    assert "tao-real" in err.value.one_line()

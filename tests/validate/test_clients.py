"""Codex manifest, Codex marketplace and AGENTS.md rules: one broken thing per case in the clean
tiny bank, and the real bank installed the way each client documents it."""

import json
import shutil

import pytest

from support import REPO_ROOT
from tao_skill_bank.validate import validate_bank
from tao_skill_bank.validate.runner import skill_folders

MANIFEST = ".codex-plugin/plugin.json"


def findings(root, rule):
    return [f for f in validate_bank(root) if f.rule == rule]


def only(root, rule, severity="error"):
    found = [f for f in validate_bank(root) if f.severity == severity]
    assert [f.rule for f in found] == [rule], [f.one_line() for f in found]
    return found[0]


def edit_manifest(root, **changes):
    path = root / MANIFEST
    data = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(json.dumps(data))


def test_tiny_bank_has_no_client_findings(tiny_bank):
    assert findings(tiny_bank, "codex-plugin") == [] and findings(tiny_bank, "agents-md") == []


@pytest.mark.parametrize("changes, needle", [
    ({"skills": "skills/"}, "must start with ./"),
    ({"skills": "./../skills/"}, "must stay inside the plugin root"),
    ({"skills": "./nowhere/"}, "does not exist"),
    ({"skills": "./hooks/"}, "holds no <skill>/SKILL.md"),
    ({"hooks": "./hooks/missing.json"}, "does not exist"),
    ({"name": "TAO Bank"}, "kebab-case"),
    ({"name": "other-name"}, "differs from .claude-plugin/plugin.json"),
    ({"interface": {"defaultPrompt": ["a", "b", "c", "d"]}}, "at most 3"),
    ({"interface": {"defaultPrompt": ["x" * 129]}}, "at most 128 characters"),
    ({"interface": {"logo": "/abs/logo.png"}}, "must start with ./"),
])
def test_codex_manifest_rule(tiny_bank, changes, needle):
    edit_manifest(tiny_bank, **changes)
    finding = only(tiny_bank, "codex-plugin")
    assert finding.file == MANIFEST and needle in finding.message, finding.one_line()


def test_codex_manifest_inline_hooks_are_not_paths(tiny_bank):
    edit_manifest(tiny_bank, hooks={"hooks": {}})
    assert findings(tiny_bank, "codex-plugin") == []


def test_missing_version_is_a_warning(tiny_bank):
    edit_manifest(tiny_bank, version=None)
    finding = only(tiny_bank, "codex-plugin", severity="warning")
    assert "no version" in finding.message


def test_files_beside_the_codex_manifest(tiny_bank):
    (tiny_bank / ".codex-plugin" / "hooks.json").write_text("{}")
    assert "Codex reads only plugin.json there" in only(tiny_bank, "codex-plugin").message


def test_unparsable_codex_manifest(tiny_bank):
    (tiny_bank / MANIFEST).write_text("{")
    assert "does not parse" in only(tiny_bank, "codex-plugin").message


def test_default_hooks_file_with_keys_codex_refuses(tiny_bank):
    path = tiny_bank / "hooks" / "hooks.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "$schema": "x"}))
    found = [f for f in validate_bank(tiny_bank) if f.rule == "codex-plugin"]
    assert len(found) == 1 and found[0].file == "hooks/hooks.json" and "'$schema'" in found[0].message


@pytest.mark.parametrize("source, needle", [
    ({"source": "local", "path": "./"}, "marketplace root itself"),
    ("./", "marketplace root itself"),
    ({"source": "local", "path": "bank"}, "must start with ./"),
    ({"source": "local", "path": "./skills"}, "has no .codex-plugin/plugin.json"),
    ({"source": "local"}, "no local source path"),
])
def test_codex_marketplace_rule(tiny_bank, source, needle):
    market = tiny_bank / ".agents" / "plugins" / "marketplace.json"
    market.parent.mkdir(parents=True)
    market.write_text(json.dumps({"name": "m", "plugins": [{"name": "tao-skill-bank", "source": source}]}))
    finding = only(tiny_bank, "codex-plugin")
    assert finding.file == ".agents/plugins/marketplace.json" and needle in finding.message


def test_agents_md_must_route_to_every_skill(tiny_bank):
    (tiny_bank / "AGENTS.md").write_text("# Bank\n\nInstall with `python3 -m pip install .`.\n")
    finding = only(tiny_bank, "agents-md")
    assert "does not route to skill 'tao-demo-skill'" in finding.message


def test_agents_md_must_say_how_to_install(tiny_bank):
    (tiny_bank / "AGENTS.md").write_text("Use tao-demo-skill.\n")
    assert "how to install" in only(tiny_bank, "agents-md").message


def test_agents_md_links_resolve(tiny_bank):
    with (tiny_bank / "AGENTS.md").open("a") as handle:
        handle.write("\nSee [gone](skills/tao-gone/SKILL.md) and [outside](../x.md).\n")
    found = findings(tiny_bank, "agents-md")
    assert [f.line for f in found] == [9, 9] and all("does not exist" in f.message for f in found)


def test_missing_agents_md_is_a_warning(tiny_bank):
    (tiny_bank / "AGENTS.md").unlink()
    assert "no AGENTS.md" in only(tiny_bank, "agents-md", severity="warning").message


# --- the real bank, installed the way each client documents ------------------------------------

def test_repo_agents_md_routes_every_skill_and_names_a_real_install_command():
    text = (REPO_ROOT / "AGENTS.md").read_text()
    for skill in skill_folders(REPO_ROOT):
        assert f"skills/{skill.name}/SKILL.md" in text, skill.name
    assert "python3 -m pip install /path/to/this/bank" in text
    assert findings(REPO_ROOT, "agents-md") == [] and findings(REPO_ROOT, "codex-plugin") == []


def test_codex_plugin_manifest_resolves_like_codex(tmp_path):
    """Codex copies the plugin folder into its cache and resolves manifest paths against it."""
    cache = tmp_path / "codex-home" / "plugins" / "cache" / "local" / "tao-skill-bank" / "0.1.0"
    shutil.copytree(REPO_ROOT, cache, ignore=shutil.ignore_patterns(".venv", ".cache", ".git", "__pycache__"))
    manifest = json.loads((cache / MANIFEST).read_text())
    skills_root = (cache / manifest["skills"]).resolve()
    assert skills_root.is_relative_to(cache.resolve())
    found = sorted(p.parent.name for p in skills_root.glob("*/SKILL.md"))
    assert found == sorted(s.name for s in skill_folders(REPO_ROOT))
    # No `hooks` field: Codex loads hooks/hooks.json, whose root it accepts only as description+hooks,
    # and runs each command through the shell with CLAUDE_PLUGIN_ROOT set to the plugin root.
    assert "hooks" not in manifest
    hooks = json.loads((cache / "hooks" / "hooks.json").read_text())
    assert set(hooks) <= {"description", "hooks"}
    for groups in hooks["hooks"].values():
        for group in groups:
            for handler in group["hooks"]:
                script = handler["command"].split('"')[1].replace("${CLAUDE_PLUGIN_ROOT}", str(cache))
                assert (cache / script).is_file() if not script.startswith("/") else __import__("os").path.isfile(script)
    assert "apply_patch" in hooks["hooks"]["PostToolUse"][0]["matcher"]  # Codex writes files with apply_patch
    assert validate_bank(cache) == []


def test_personal_codex_marketplace_above_the_bank_validates(tmp_path):
    """The README's Codex route: a marketplace in a folder above the bank, pointing at ./<bank>."""
    home = tmp_path / "home"
    shutil.copytree(REPO_ROOT, home / "tao-skill-bank",
                    ignore=shutil.ignore_patterns(".venv", ".cache", ".git", "__pycache__"))
    market = home / ".agents" / "plugins" / "marketplace.json"
    market.parent.mkdir(parents=True)
    (entry,) = [line.strip() for line in (REPO_ROOT / "README.md").read_text().splitlines()
                if line.strip().startswith('{"name": "tao-local"')]
    market.write_text(entry)
    assert json.loads(entry)["plugins"][0]["source"]["path"] == "./tao-skill-bank"
    from tao_skill_bank.validate.clients import codex_marketplace_findings
    from tao_skill_bank.validate.runner import BankFiles

    assert codex_marketplace_findings(BankFiles(home)) == []


def test_skills_copied_into_agents_skills_keep_working(tmp_path):
    """Codex project install: each skill folder copied into .agents/skills/ passes the validators."""
    from tao_skill_bank.validate.runner import BankFiles, link_findings

    target = tmp_path / "project" / ".agents" / "skills"
    for skill in skill_folders(REPO_ROOT):
        shutil.copytree(skill, target / skill.name)
        copied = target / skill.name
        assert (copied / "SKILL.md").is_file() and (copied / "scripts" / "tao_skills.py").is_file()
        assert link_findings(BankFiles(tmp_path / "project"), copied) == [], skill.name

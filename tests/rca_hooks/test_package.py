import hashlib
import json
import os
import shutil

import pytest

from rca_results_builder import SECRETS
from tao_skill_bank.rca_hooks.package import SKILL_NAME, PackageRequest, PackagingError, build_package


def _tree(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def _request(results_dir, project, **extra):
    return PackageRequest(results_dir=results_dir, project_dir=project,
                          transcript=project.parent / "session.jsonl", **extra)


def test_package_contents_and_provenance(results_dir, project):
    manifest = build_package(_request(results_dir, project))
    config = results_dir / "rca_config"
    for rel in (f"skill/{SKILL_NAME}/SKILL.md", f"skill/{SKILL_NAME}/references/pitfalls.md", "versions.yaml",
                "hooks/hooks.json", "vcn_aoi_spec.yaml", "train_config.yaml", "run_record.json",
                "project/settings_digest.json", "transcript.jsonl", "manifest.json"):
        assert (config / rel).is_file(), rel
    assert not (config / "project" / "claude").exists()  # settings are digested, never copied raw
    # The transcript shows the project copy of the skill being read: that is the one packaged.
    assert manifest["skill_source"]["kind"].startswith("project .claude/skills")
    assert (config / f"skill/{SKILL_NAME}/SKILL.md").read_text().endswith("Body\n")
    csv_path = results_dir.parents[1] / "inference" / "inference.csv"
    assert manifest["input_csv"]["sha256"] == "sha256:" + hashlib.sha256(csv_path.read_bytes()).hexdigest()
    assert manifest["input_csv"]["matches_record"] is False  # the fixture records a wrong digest
    assert manifest["packaged_at"].endswith("+00:00")


def test_manifest_lists_every_file_with_true_hashes(results_dir, project):
    manifest = build_package(_request(results_dir, project))
    on_disk = {p.relative_to(results_dir).as_posix() for p in results_dir.rglob("*") if p.is_file()}
    listed = {e["path"]: e for e in manifest["files"]}
    assert set(listed) == on_disk - {"rca_config/manifest.json"}
    for rel, entry in listed.items():
        data = (results_dir / rel).read_bytes()
        assert entry["size"] == len(data) and entry["sha256"] == "sha256:" + hashlib.sha256(data).hexdigest(), rel
    assert "RCA_Report.md" in listed and "rca_images/sample_09.png" in listed and "kpi_gaps.parquet" in listed


def test_secrets_are_absent_from_the_package(results_dir, project):
    build_package(_request(results_dir, project))
    config = results_dir / "rca_config"
    blob = b"\n".join(p.read_bytes() for p in config.rglob("*") if p.is_file())
    for name, secret in SECRETS.items():
        assert secret.encode() not in blob, name
    assert b"[REDACTED]" in (config / "transcript.jsonl").read_bytes()
    digest = json.loads((config / "project/settings_digest.json").read_text())
    by_source = {f["source"]: f for f in digest["files"]}
    assert by_source[".claude/settings.json"]["env_names"] == ["HF_HOME", "NGC_API_KEY"]
    assert by_source[".claude/settings.local.json"]["env_names"] == ["DB_PASSWORD", "MY_SERVICE_TOKEN"]
    assert b"/data/hf" not in (config / "project/settings_digest.json").read_bytes()  # names only, no values
    for line in (config / "transcript.jsonl").read_text().splitlines():
        json.loads(line)  # still valid JSON lines


def test_rerun_refreshes_without_duplicates(results_dir, project):
    first = build_package(_request(results_dir, project))
    tree = _tree(results_dir)
    (results_dir / "rca_images" / "extra.png").write_bytes(b"x")
    second = build_package(_request(results_dir, project))
    assert _tree(results_dir) == sorted(tree + ["rca_images/extra.png"])  # no staging or old copies left
    assert len(second["files"]) == len(first["files"]) + 1
    assert [e["path"] for e in second["files"]].count("rca_config/versions.yaml") == 1


def test_symlinks_out_of_the_skill_folder_are_not_followed(results_dir, project, tmp_path):
    outside = tmp_path / "private.md"
    outside.write_text("private notes")
    refs = project / ".claude" / "skills" / SKILL_NAME / "references"
    os.symlink(outside, refs / "leak.md")
    os.symlink(tmp_path, refs / "leakdir")
    manifest = build_package(_request(results_dir, project))
    copied = results_dir / "rca_config" / "skill" / SKILL_NAME / "references"
    assert sorted(p.name for p in copied.iterdir()) == ["pitfalls.md"]
    assert any(s["path"].endswith("leak.md") and "symlink" in s["why"] for s in manifest["skipped"])


def test_untrusted_paths_are_only_read_never_written(results_dir, project, tmp_path):
    (results_dir / "run_record.json").write_text(json.dumps({"train_config": "/dev/zero",
                                                             "inference_csv": {"path": "../../../../etc"}}))
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if results_dir not in p.parents and p != results_dir}
    manifest = build_package(PackageRequest(results_dir, project, transcript=tmp_path / "no such.jsonl"))
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if results_dir not in p.parents and p != results_dir}
    assert before == after
    reasons = {s["what"]: s["why"] for s in manifest["skipped"]}
    assert "train config" in reasons and "transcript" in reasons
    assert manifest["input_csv"]["sha256"] is None


def test_read_only_results_folder_raises_packaging_error(results_dir, project, monkeypatch):
    # Simulated: the suite may run as root, which ignores directory permissions.
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr("tao_skill_bank.rca_hooks.package.tempfile.mkdtemp", refuse)
    with pytest.raises(PackagingError, match="cannot write rca_config/ .Permission denied") as err:
        build_package(_request(results_dir, project))
    assert "make the results folder writable" in err.value.fix
    assert not (results_dir / "rca_config").exists()


def test_symlinked_references_folder_leaving_the_skill_is_not_followed(results_dir, project, tmp_path):
    private = tmp_path / "private"
    private.mkdir()
    (private / "notes.md").write_text("private notes")
    skill = project / ".claude" / "skills" / SKILL_NAME
    shutil.rmtree(skill / "references")
    os.symlink(private, skill / "references")
    manifest = build_package(_request(results_dir, project))
    assert not (results_dir / "rca_config" / "skill" / SKILL_NAME / "references").exists()
    assert (results_dir / "rca_config" / "skill" / SKILL_NAME / "SKILL.md").is_file()
    assert any(s["what"] == "skill references" and "symlink" in s["why"] for s in manifest["skipped"])


def test_special_file_in_the_results_folder_is_listed_not_read(results_dir, project):
    os.mkfifo(results_dir / "pipe")  # opening it for hashing would block the hook
    manifest = build_package(_request(results_dir, project))
    assert {"path": "pipe", "special": True} in manifest["files"]


def _skipped(manifest, what):
    return [s for s in manifest["skipped"] if s["what"] == what]


def test_settings_digest_keeps_hooks_permissions_model_plugins(results_dir, project):
    settings = {"model": "claude-opus-4", "permissions": {"allow": ["Bash(tao-skills:*)"]},
                "enabledPlugins": {"tao-skill-bank@local": True, "old@x": False},
                "hooks": {"PostToolUse": [{"matcher": "Bash", "hooks": [
                    {"type": "command", "command": "curl -H 'Authorization: Bearer opaque-hook-token-123' x"}]}]},
                "env": {"NGC_API_KEY": "nvapi-" + "Q" * 40, "WANDB_MODE": "offline"}, "apiKeyHelper": "/bin/secret-helper"}
    (project / ".claude" / "settings.json").write_text(json.dumps(settings))
    manifest = build_package(_request(results_dir, project))
    raw = (results_dir / "rca_config" / "project" / "settings_digest.json").read_text()
    entry = json.loads(raw)["files"][0]
    assert entry["model"] == "claude-opus-4" and entry["plugins"] == ["tao-skill-bank@local"]
    assert entry["permissions"] == {"allow": ["Bash(tao-skills:*)"]} and entry["env_names"] == ["NGC_API_KEY", "WANDB_MODE"]
    assert "opaque-hook-token-123" not in raw and "nvapi-" not in raw and "offline" not in raw and "secret-helper" not in raw
    assert entry["hooks"]["PostToolUse"][0]["matcher"] == "Bash"
    copied = {c["path"]: c for c in manifest["copied"]}
    assert copied["rca_config/project/settings_digest.json"]["redactions"] == 1


@pytest.mark.parametrize("link", ["settings.json", ".claude"])
def test_settings_symlinked_out_of_the_project_are_not_read(results_dir, project, tmp_path, link):
    outside = tmp_path / "elsewhere"
    (outside / ".claude").mkdir(parents=True)
    (outside / ".claude" / "settings.json").write_text(json.dumps({"env": {"OUTSIDE_ONLY_NAME": "x"}}))
    if link == "settings.json":
        (project / ".claude" / "settings.json").unlink()
        os.symlink(outside / ".claude" / "settings.json", project / ".claude" / "settings.json")
    else:
        shutil.move(str(project / ".claude"), str(tmp_path / "moved"))
        os.symlink(outside / ".claude", project / ".claude")
    manifest = build_package(_request(results_dir, project))
    blob = b"".join(p.read_bytes() for p in (results_dir / "rca_config").rglob("*") if p.is_file() and p.name != "manifest.json")
    assert b"OUTSIDE_ONLY_NAME" not in blob
    skipped = _skipped(manifest, "project .claude/settings.json")
    assert skipped and "outside the project" in skipped[0]["why"]
    if link == ".claude":  # no skill is read through the symlinked folder either
        assert not manifest["skill_source"]["kind"].startswith("project .claude")
        assert "symlink leads outside the project" in _skipped(manifest, "project .claude/skills")[0]["why"]


def test_files_named_by_the_run_record_outside_experiment_and_project_are_skipped(results_dir, project, tmp_path):
    private = tmp_path / "private" / "train.yaml"
    private.parent.mkdir()
    private.write_text("dataset: {}\npassword_hint: private-only-text\n")
    (results_dir / "run_record.json").write_text(json.dumps({"train_config": str(private),
                                                             "inference_csv": {"path": "/etc/passwd"}}))
    manifest = build_package(_request(results_dir, project))
    assert not list((results_dir / "rca_config").glob("train_config*"))
    assert "outside the experiment and the project" in _skipped(manifest, "train config")[0]["why"]
    assert manifest["input_csv"]["sha256"] is None and _skipped(manifest, "input csv (hash)")
    # A symlink inside the experiment that points out of it is refused the same way.
    link = results_dir.parents[1] / "linked_train.yaml"
    os.symlink(private, link)
    (results_dir / "run_record.json").write_text(json.dumps({"train_config": str(link)}))
    manifest = build_package(_request(results_dir, project))
    assert "symlink leads outside" in _skipped(manifest, "train config")[0]["why"]


def test_out_files_that_are_symlinks_leaving_out_are_not_copied(results_dir, project, tmp_path):
    outside = tmp_path / "outside_spec.yaml"
    outside.write_text("min_recall: 1.0\nnote: outside-only-text\n")
    (results_dir / "vcn_aoi_spec.yaml").unlink()
    os.symlink(outside, results_dir / "vcn_aoi_spec.yaml")
    manifest = build_package(_request(results_dir, project))
    assert not (results_dir / "rca_config" / "vcn_aoi_spec.yaml").exists()
    assert "symlink leads outside the results folder" in _skipped(manifest, "gap spec")[0]["why"]
    assert {"path": "vcn_aoi_spec.yaml", "symlink": str(outside)} in manifest["files"]  # listed, not followed


def test_transcript_can_be_left_out(results_dir, project):
    manifest = build_package(PackageRequest(results_dir, project, transcript=project.parent / "session.jsonl",
                                            include_transcript=False))
    assert not (results_dir / "rca_config" / "transcript.jsonl").exists()
    assert "left out on request" in _skipped(manifest, "transcript")[0]["why"]


def test_manifest_counts_redactions_per_file_and_redacts_non_utf8(results_dir, project):
    spec = results_dir / "vcn_aoi_spec.yaml"
    spec.write_bytes(spec.read_bytes() + "note: caf\xe9\n".encode("latin-1") + b"api_key: latin1-secret-value\n")
    manifest = build_package(_request(results_dir, project))
    copied = {c["what"]: c for c in manifest["copied"]}
    assert copied["gap spec"]["redactions"] == 1 and copied["versions.yaml"]["redactions"] == 0
    assert copied["transcript"]["redactions"] >= 5
    assert b"latin1-secret-value" not in (results_dir / "rca_config" / "vcn_aoi_spec.yaml").read_bytes()


def test_skill_folder_copies_only_text_files(results_dir, project):
    refs = project / ".claude" / "skills" / SKILL_NAME / "references"
    (refs / "helper.so").write_bytes(b"\x7fELF")
    manifest = build_package(_request(results_dir, project))
    assert not (results_dir / "rca_config" / "skill" / SKILL_NAME / "references" / "helper.so").exists()
    assert any(s["path"].endswith("helper.so") and "not a skill text file" in s["why"] for s in manifest["skipped"])


def test_containment_never_widens_to_the_filesystem_root_or_home(tmp_path, monkeypatch):
    from pathlib import Path

    from tao_skill_bank.rca_hooks.package import containment_roots
    home = tmp_path / "home"
    (home / "rca_results" / "2025-01-01_000000").mkdir(parents=True)
    monkeypatch.setattr(Path, "home", lambda: home)
    out = home / "rca_results" / "2025-01-01_000000"
    assert containment_roots(out, Path("/")) == [out.resolve()]  # not home (the "experiment"), not / (no markers)
    (tmp_path / "proj" / ".git").mkdir(parents=True)
    assert containment_roots(out, tmp_path / "proj") == [out.resolve(), (tmp_path / "proj").resolve()]


def test_packagings_of_one_folder_take_turns(results_dir, project, monkeypatch):
    import fcntl

    monkeypatch.setattr("tao_skill_bank.rca_hooks.package.LOCK_WAIT_SECONDS", 0.2)
    fd = os.open(results_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another packaging holds OUT
        with pytest.raises(PackagingError, match="another packaging of this folder"):
            build_package(_request(results_dir, project))
    finally:
        os.close(fd)
    assert build_package(_request(results_dir, project))["files"]  # released: it proceeds
    assert not [n for n in os.listdir(results_dir) if n.startswith(".rca_config.")]


def test_hard_links_are_refused_from_the_project_but_not_from_a_bank(results_dir, tmp_path):
    plugin = tmp_path / "plugin"
    skill = plugin / "skills" / SKILL_NAME
    skill.mkdir(parents=True)
    store = tmp_path / "installer-store.md"  # an installer's cache, hard-linked into the plugin
    store.write_text("---\nname: tao-analyze-gaps-visual-changenet\ndescription: plugin copy\n---\n")
    os.link(store, skill / "SKILL.md")
    manifest = build_package(PackageRequest(results_dir, None, plugin_root=plugin))
    assert manifest["skill_source"]["kind"] == "plugin ($CLAUDE_PLUGIN_ROOT)"
    assert (results_dir / "rca_config" / "skill" / SKILL_NAME / "SKILL.md").read_text().endswith("plugin copy\n---\n")
    project = tmp_path / "proj2"
    pskill = project / ".claude" / "skills" / SKILL_NAME
    pskill.mkdir(parents=True)
    os.link(store, pskill / "SKILL.md")
    manifest = build_package(PackageRequest(results_dir, project))
    assert manifest["skill_source"]["kind"].startswith("project .claude/skills")
    assert "has 3 hard links" in _skipped(manifest, "skill")[0]["why"]
    assert not (results_dir / "rca_config" / "skill" / SKILL_NAME / "SKILL.md").exists()

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
                "project/claude/settings.json", "project/claude/settings.local.json", "transcript.jsonl", "manifest.json"):
        assert (config / rel).is_file(), rel
    # The transcript shows the project copy of the skill being read: that is the one packaged.
    assert manifest["skill_source"]["kind"].startswith("project .claude/skills")
    assert (config / f"skill/{SKILL_NAME}/SKILL.md").read_text().endswith("Body\n")
    csv_path = results_dir.parents[1] / "inference" / "inference.csv"
    assert manifest["input_csv"]["sha256"] == hashlib.sha256(csv_path.read_bytes()).hexdigest()
    assert manifest["input_csv"]["matches_record"] is False  # the fixture records a wrong digest
    assert manifest["packaged_at"].endswith("+00:00")


def test_manifest_lists_every_file_with_true_hashes(results_dir, project):
    manifest = build_package(_request(results_dir, project))
    on_disk = {p.relative_to(results_dir).as_posix() for p in results_dir.rglob("*") if p.is_file()}
    listed = {e["path"]: e for e in manifest["files"]}
    assert set(listed) == on_disk - {"rca_config/manifest.json"}
    for rel, entry in listed.items():
        data = (results_dir / rel).read_bytes()
        assert entry["size"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest(), rel
    assert "RCA_Report.md" in listed and "rca_images/sample_09.png" in listed and "kpi_gaps.parquet" in listed


def test_secrets_are_absent_from_the_package(results_dir, project):
    build_package(_request(results_dir, project))
    config = results_dir / "rca_config"
    blob = b"\n".join(p.read_bytes() for p in config.rglob("*") if p.is_file())
    for name, secret in SECRETS.items():
        assert secret.encode() not in blob, name
    assert b"[REDACTED]" in (config / "transcript.jsonl").read_bytes()
    settings = json.loads((config / "project/claude/settings.json").read_text())
    assert settings["env"] == {"NGC_API_KEY": "[REDACTED]", "HF_HOME": "/data/hf"}
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

"""detect-secrets (Yelp; every built-in plugin) as an independent judge of the RCA package: the
planted-secret corpus goes into every source the package reads, and afterwards nothing the
scanner flags may remain under rca_config/ except values that are provably digests of real files."""

import hashlib
import json
from pathlib import Path

import pytest

from secret_corpus import KINDS, run_record_json, settings_json, transcript_jsonl, yaml_file
from tao_skill_bank.rca_hooks.package import PackageRequest, build_package

detect_secrets = pytest.importorskip("detect_secrets")
from detect_secrets import SecretsCollection  # noqa: E402
from detect_secrets.settings import default_settings  # noqa: E402

pytestmark = pytest.mark.external

# What a real Claude Code transcript line carries besides the corpus: message/tool ids, a thinking
# signature, a base64 image — high-entropy strings the scanner flags.
REAL_LINES = [
    {"type": "assistant", "message": {"id": "msg_01XaBcDeFgHiJkLmNoPqRsTuVw", "content": [
        {"type": "thinking", "thinking": "plan", "signature": "EqQBCkYIBxgCKkBxR2vT9mZpLq8sN3wY4uE7hJ6kF5dG1cA0bV"},
        {"type": "tool_use", "id": "toolu_01HGt5vJ8kKQxPZ3sR7mNwYb", "name": "Bash", "input": {"command": "ls"}}]},
     "requestId": "req_011CVaBcDeFgHiJkLmNoPqRs", "uuid": "3f2a9c1e-8b7d-4e6f-a5c4-1d2e3f4a5b6c"},
    {"type": "user", "message": {"content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                                            "data": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg"}}]}},
]


def _scan(folder: Path) -> list[tuple[str, str, str]]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.settings import get_settings
    found = []
    with default_settings():
        assert len(get_settings().plugins) == len(get_mapping_from_secret_type_to_class()) >= 20  # every plugin
        collection = SecretsCollection()
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            collection.scan_file(str(path))
        for filename, secret in collection:
            found.append((Path(filename).name, secret.type, secret.secret_value))
    return found


def _plant(results_dir: Path, project: Path) -> Path:
    claude = project / ".claude"
    (claude / "settings.json").write_text(settings_json())
    (claude / "settings.local.json").write_text(settings_json())
    spec = results_dir / "vcn_aoi_spec.yaml"
    spec.write_text(spec.read_text() + yaml_file())
    train = results_dir.parents[1] / "train.yaml"
    train.write_text(train.read_text() + yaml_file())
    record = json.loads((results_dir / "run_record.json").read_text())
    record.update(json.loads(run_record_json()))
    record["inference_csv"]["sha256"] = hashlib.sha256((results_dir.parents[1] / "inference" / "inference.csv").read_bytes()).hexdigest()
    (results_dir / "run_record.json").write_text(json.dumps(record, indent=1))
    transcript = project.parent / "session.jsonl"
    transcript.write_text(transcript.read_text() + transcript_jsonl() + "".join(json.dumps(l) + "\n" for l in REAL_LINES))
    return transcript


def _digests_of_files(root: Path) -> set[str]:
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}


def test_detect_secrets_finds_nothing_left_in_the_package(results_dir, project, tmp_path):
    transcript = _plant(results_dir, project)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for source in (project / ".claude" / "settings.json", results_dir / "vcn_aoi_spec.yaml", transcript,
                   results_dir / "run_record.json", results_dir.parents[1] / "train.yaml"):
        (inputs / source.name).write_bytes(source.read_bytes())
    before = _scan(inputs)
    assert len(before) >= 100  # the judge is awake: it sees the planted secrets in the sources

    build_package(PackageRequest(results_dir, project, transcript=transcript))
    config = results_dir / "rca_config"
    after = _scan(config)
    real_digests = _digests_of_files(tmp_path)
    left = [f for f in after if f[2] not in real_digests]
    assert left == []
    # The only findings allowed are digests of real files (run_record.json's input CSV sha256).
    assert all(f[1] == "Hex High Entropy String" for f in after)


def test_no_planted_value_is_left_anywhere_in_the_package(results_dir, project):
    transcript = _plant(results_dir, project)
    build_package(PackageRequest(results_dir, project, transcript=transcript))
    blob = b"\n".join(p.read_bytes() for p in (results_dir / "rca_config").rglob("*") if p.is_file())
    leaked = [k.kind for k in KINDS for leak in k.leaks() if leak.encode() in blob]
    assert leaked == []
    for line in (results_dir / "rca_config" / "transcript.jsonl").read_text().splitlines():
        json.loads(line)

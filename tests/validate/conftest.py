"""A tiny but complete bank in tmp_path that validates clean; tests break one thing at a time."""

import json
import shutil
from pathlib import Path

import pytest

from support import REPO_ROOT

SKILL = "tao-demo-skill"

SKILL_MD = """---
name: tao-demo-skill
description: >-
  Demo skill for validator tests. Use when asked to demo: anything.
license: Apache-2.0
compatibility: Python 3.10+
metadata:
  version: "1.0"
allowed-tools: Read Bash
---
# Demo

See [the guide](references/guide.md#usage) and [the web](https://example.com).
Run `[not a link](missing.md)` inside code.

```
[also not a link](missing.md)
```
"""

SKILL_INFO = """skill: tao-demo-skill
network_arch: optical_inspection
automl_enabled: true
container_image: tao_toolkit.pyt
data_format: default
data_sources:
  train:
    dataset.train_dataset.csv_path: {source: train_datasets, path: dataset.csv}
actions:
  train:
    command: optical_inspection train -e {config_path}
    config_format: yaml
    template: references/spec_template_train.yaml
    results_subdir: train
    outputs:
      results_dir: {type: folder}
    spec_params:
      - {spec_key: results_dir, resolver: output_dir}
"""

EVALS = {"skill_name": SKILL, "evals": [
    {"id": 1, "prompt": "train it", "expected_output": "a trained model",
     "expectations": ["runs tao-skills container run"], "expected_script": "tao-skills container run"}]}

AGENTS_MD = """# Demo bank

| task | skill |
|---|---|
| demo | [tao-demo-skill](skills/tao-demo-skill/SKILL.md) |

Install: `python3 -m pip install /path/to/bank`.
"""

HOOKS = {"hooks": {"PostToolUse": [{"matcher": "Write|Edit", "hooks": [
    {"type": "command", "command": "python3 ${CLAUDE_PLUGIN_ROOT}/hooks/check.py", "timeout": 30}]}]}}


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))


@pytest.fixture
def tiny_bank(tmp_path) -> Path:
    root = tmp_path / "bank"
    shutil.copytree(REPO_ROOT / "schemas", root / "schemas")
    shutil.copy(REPO_ROOT / "versions.yaml", root / "versions.yaml")
    shutil.copytree(REPO_ROOT / ".claude-plugin", root / ".claude-plugin")
    shutil.copytree(REPO_ROOT / ".codex-plugin", root / ".codex-plugin")
    (root / "AGENTS.md").write_text(AGENTS_MD)
    skill = root / "skills" / SKILL
    (skill / "references").mkdir(parents=True)
    (skill / "SKILL.md").write_text(SKILL_MD)
    (skill / "references" / "guide.md").write_text("# Guide\n\nBack to [the skill](../SKILL.md).\n")
    (skill / "references" / "spec_template_train.yaml").write_text("train:\n  num_epochs: 10\n")
    (skill / "references" / "skill_info.yaml").write_text(SKILL_INFO)
    # TAO-format schemas hold Infinity, which Python's json accepts.
    (skill / "schemas").mkdir()
    (skill / "schemas" / "train.schema.json").write_text('{"type": "object", "maximum": Infinity}')
    write_json(skill / "schemas" / "manifest.json", {"actions": {"train": {
        "schema": "schemas/train.schema.json", "template": "references/spec_template_train.yaml"}}})
    write_json(skill / "evals" / "evals.json", EVALS)
    write_json(root / "hooks" / "hooks.json", HOOKS)
    (root / "hooks" / "check.py").write_text("print('ok')\n")
    return root


@pytest.fixture
def demo_skill(tiny_bank) -> Path:
    return tiny_bank / "skills" / SKILL

"""skills/tao-run-automl: every documented command and flag exists, links resolve, and the plan +
dry-run commands of SKILL.md run as written (the full run is tests/oi/test_automl_e2e.py)."""

from __future__ import annotations

import json
import re

import pytest

from support import REPO_ROOT, bash_blocks, documented_commands, make_oi_split, run_bash_block, unknown_flags

SKILL_DIR = REPO_ROOT / "skills" / "tao-run-automl"
DOCS = [SKILL_DIR / "SKILL.md", *sorted((SKILL_DIR / "references").glob("*.md"))]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_documented_commands_flags_and_links_exist(path):
    text = path.read_text()
    for command in documented_commands(text):
        assert unknown_flags(command) == [], command
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        assert "://" in target or (path.parent / target).exists(), f"{path.name}: broken link {target}"


def test_the_documented_plan_and_dry_run_run_as_written(tmp_path):
    body = (SKILL_DIR / "SKILL.md").read_text()
    plan_block = bash_blocks(body.split("## 1–2. Plan")[1])[0]
    run_block = bash_blocks(body.split("## 3. Confirm")[1])[0]
    dry_run = "\n".join(l for l in run_block.splitlines() if "--dry-run" in l or l.startswith("PLAN="))
    ws = tmp_path / "ws"
    for split in ("train", "val"):
        make_oi_split(ws / "data", split)
    proc = run_bash_block(plan_block + "\n" + dry_run, tmp_path / "shim",
                          {"WS": ws, "SKILL": "tao-train-optical-inspection"}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads((ws / "automl" / "oi_sweep_1" / "automl_plan.json").read_text())
    assert plan["ready"] and plan["automl_settings"]["automl_max_recommendations"] == 6
    dry = json.loads(proc.stdout.strip().splitlines()[-1])
    assert dry["dry_run"] and dry["command"][-2:] == ["--platform", "docker"]

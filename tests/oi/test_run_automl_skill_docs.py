"""skills/tao-run-automl: every documented command and flag exists, links resolve, and the plan +
dry-run commands of SKILL.md run as written (the full run is tests/oi/test_automl_e2e.py)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from support import REPO_ROOT, make_oi_split, tao_skills_on_path
from tao_skill_bank import cli

SKILL_DIR = REPO_ROOT / "skills" / "tao-run-automl"
DOCS = [SKILL_DIR / "SKILL.md", *sorted((SKILL_DIR / "references").glob("*.md"))]


def _commands(text: str) -> list[str]:
    found = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            for part in re.split(r"\$\(|\||;|&&", line):
                if "tao-skills " in part:
                    found.append(part[part.index("tao-skills "):].split("#")[0].strip().rstrip(")"))
    return found


def _parser(words):
    parser = cli.build_parser()
    for word in words:
        sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
        parser = sub.choices[word]
    return parser


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_documented_commands_flags_and_links_exist(path):
    text = path.read_text()
    for command in _commands(text):
        words = shlex.split(command.replace("$", "X"))[1:]
        parser = _parser([w for w in words[:2] if not w.startswith("-")])
        known = {opt for action in parser._actions for opt in action.option_strings}
        assert all(w.split("=")[0] in known for w in words if w.startswith("--")), command
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        assert "://" in target or (path.parent / target).exists(), f"{path.name}: broken link {target}"


def test_the_documented_plan_and_dry_run_run_as_written(tmp_path):
    body = (SKILL_DIR / "SKILL.md").read_text()
    plan_block = re.findall(r"```bash\n(.*?)```", body.split("## 1–2. Plan")[1], flags=re.S)[0]
    run_block = re.findall(r"```bash\n(.*?)```", body.split("## 3. Confirm")[1], flags=re.S)[0]
    dry_run = "\n".join(l for l in run_block.splitlines() if "--dry-run" in l or l.startswith("PLAN="))
    ws = tmp_path / "ws"
    for split in ("train", "val"):
        make_oi_split(ws / "data", split)
    env = {**os.environ, "PATH": tao_skills_on_path(tmp_path / "shim") + os.environ["PATH"], "WS": str(ws),
           "SKILL": "tao-train-optical-inspection"}
    proc = subprocess.run(["bash", "-euc", plan_block + "\n" + dry_run], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads((ws / "automl" / "oi_sweep_1" / "automl_plan.json").read_text())
    assert plan["ready"] and plan["automl_settings"]["automl_max_recommendations"] == 6
    dry = json.loads(proc.stdout.strip().splitlines()[-1])
    assert dry["dry_run"] and dry["command"][-2:] == ["--platform", "docker"]

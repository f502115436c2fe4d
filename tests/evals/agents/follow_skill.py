#!/usr/bin/env python3
"""Scripted stand-in for an agent CLI that follows the gap-analysis skill when it is installed in
the workspace (.claude/skills or .agents/skills) and does nothing useful otherwise. Usage, as
`tao-skills evals run` calls it: follow_skill.py PROMPT. No model, no network."""
import json
import subprocess
import sys
from pathlib import Path

SKILL = "tao-analyze-gaps-visual-changenet"


def launcher():
    for base in (".claude/skills", ".agents/skills"):
        path = Path(base) / SKILL / "scripts" / "tao_skills.py"
        if path.is_file() and (path.parents[1] / "SKILL.md").is_file():
            return path
    return None


def tao(script, *args):
    proc = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True)
    print(f"$ tao-skills {' '.join(args)}  (exit {proc.returncode})")
    return proc


def main(prompt):
    script = launcher()
    if script is None or "gap analysis" not in prompt.lower():
        print("I do not know a TAO gap-analysis workflow; no skill is loaded.")
        return 0
    tao(script, "gaps", "example", "vcn_demo")
    run = tao(script, "gaps", "run", "--exp-dir", "vcn_demo", "--dataset-root", "vcn_demo/images")
    out = next(line.split(": ", 1)[1] for line in run.stdout.splitlines() if line.startswith("results_dir: "))
    tao(script, "gaps", "spotcheck", out)
    spot = Path(out) / "spotcheck.json"
    data = json.loads(spot.read_text())
    for sample in data["samples"]:
        sample["verdict"], sample["note"] = "mislabeled", "stand-in verdict"
    spot.write_text(json.dumps(data))
    threshold = (Path(out) / "threshold.txt").read_text().strip()
    print(f"Done. The chosen threshold is {float(threshold):.4f}; results in {out}.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

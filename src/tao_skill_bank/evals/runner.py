"""Run a skill's evals against an agent CLI: one scratch workspace per (eval, condition), the
skill installed only for `with_skill`, the agent's output and its `tao-skills` commands recorded,
then graded by code (grading.py) and summarised (report.py).

The agent command is a template: `claude -p {prompt}` or `codex exec {prompt}`. It is split like
a shell line and `{prompt}` / `{workspace}` are filled in per argument, so the prompt stays one
argument whatever it holds; it runs in the workspace with no shell.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tao_skill_bank.errors import EXIT_BAD_INPUT, EXIT_ENVIRONMENT, UserError
from tao_skill_bank.evals.grading import RunEvidence, grade

WITH_SKILL, WITHOUT_SKILL = "with_skill", "without_skill"
CONDITIONS = (WITH_SKILL, WITHOUT_SKILL)
COMMAND_LOG_ENV = "TAO_SKILL_BANK_COMMAND_LOG"  # the CLI appends each command it runs (cli.py)
SKILL_INSTALL_DIRS = (".claude/skills", ".agents/skills")  # Claude Code, Codex
MAX_OUTPUT_CHARS = 2_000_000


@dataclass(frozen=True)
class EvalCase:
    skill: str
    skill_dir: Path
    case: dict

    @property
    def id(self) -> int:
        return self.case["id"]


def load_cases(bank: Path, skills: list[str] | None, eval_ids: list[int] | None) -> list[EvalCase]:
    from tao_skill_bank.validate.runner import skill_folders

    available = {p.name: p for p in skill_folders(bank) if (p / "evals" / "evals.json").is_file()}
    chosen = skills or sorted(available)
    unknown = [s for s in chosen if s not in available]
    if unknown:
        raise UserError(f"no evals/evals.json for skill {unknown[0]!r}", file=str(bank / "skills"), field="--skill",
                        fix=f"use one of: {', '.join(sorted(available)) or '(none)'}")
    cases = []
    for skill in chosen:
        path = available[skill] / "evals" / "evals.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot read evals: {exc}", file=str(path), fix="run tao-skills bank validate") from None
        for case in data.get("evals", []):
            if eval_ids is None or case.get("id") in eval_ids:
                cases.append(EvalCase(skill, available[skill], case))
    if not cases:
        raise UserError("no eval matches the selection", field="--eval",
                        fix="check the ids in skills/<skill>/evals/evals.json")
    return cases


def agent_argv(template: str, prompt: str, workspace: Path) -> list[str]:
    try:
        parts = shlex.split(template)
    except ValueError as exc:
        raise UserError(f"cannot split the agent command: {exc}", field="--agent-cmd",
                        fix="quote it like a shell line, e.g. --agent-cmd 'claude -p {prompt}'") from None
    if not parts or not any("{prompt}" in p for p in parts):
        raise UserError("the agent command has no {prompt} placeholder", field="--agent-cmd",
                        fix="e.g. --agent-cmd 'claude -p {prompt}' or --agent-cmd 'codex exec {prompt}'",
                        exit_code=EXIT_BAD_INPUT)
    return [p.replace("{prompt}", prompt).replace("{workspace}", str(workspace)) for p in parts]


def check_agent(template: str) -> None:
    program = agent_argv(template, "x", Path("."))[0]
    if shutil.which(program) is None and not Path(program).is_file():
        raise UserError(f"agent program {program!r} not found", field="--agent-cmd",
                        fix="install the agent CLI (claude, codex) or give its full path", exit_code=EXIT_ENVIRONMENT)


def prepare_workspace(case: EvalCase, condition: str, run_dir: Path, bank: Path) -> Path:
    """A new scratch workspace: the eval's files copied in, its setup commands run, and — only
    for with_skill — the skill folder installed where Claude Code and Codex look for skills."""
    workspace = run_dir / "workspace"
    workspace.mkdir(parents=True)
    for rel in case.case.get("files", []):
        source = (case.skill_dir / rel).resolve()
        if not source.is_relative_to(case.skill_dir.resolve()) or not source.exists():
            raise UserError(f"eval {case.id} names file {rel!r}, which is not in the skill folder",
                            file=str(case.skill_dir / "evals" / "evals.json"), field=f"evals[id={case.id}].files",
                            fix="give paths relative to the skill folder")
        target = workspace / Path(rel).name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, target)
    for step in case.case.get("setup", []):
        _run_setup(step, workspace, bank, case)
    if condition == WITH_SKILL:
        for folder in SKILL_INSTALL_DIRS:
            shutil.copytree(case.skill_dir, workspace / folder / case.skill,
                            ignore=shutil.ignore_patterns("evals", "__pycache__"))
    return workspace


def _run_setup(step: list[str], workspace: Path, bank: Path, case: EvalCase) -> None:
    """A fixture step: `tao-skills` arguments, run before the agent and not logged as its command."""
    argv = [sys.executable, "-m", "tao_skill_bank", "--bank", str(bank), *[a.replace("{workspace}", str(workspace)) for a in step]]
    env = {k: v for k, v in os.environ.items() if k != COMMAND_LOG_ENV}
    proc = subprocess.run(argv, cwd=workspace, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise UserError(f"eval {case.id} setup `tao-skills {shlex.join(step)}` failed: {proc.stderr.strip()[-300:]}",
                        file=str(case.skill_dir / "evals" / "evals.json"), field=f"evals[id={case.id}].setup",
                        fix="fix the setup step", exit_code=EXIT_ENVIRONMENT)


def run_agent(template: str, case: EvalCase, workspace: Path, run_dir: Path, timeout: float) -> dict:
    """Run the agent once; write transcript.txt, stderr.txt, commands.jsonl into run_dir."""
    prompt = case.case["prompt"].replace("{workspace}", str(workspace))
    argv = agent_argv(template, prompt, workspace)
    log = run_dir / "commands.jsonl"
    env = dict(os.environ, **{COMMAND_LOG_ENV: str(log)})
    started = time.monotonic()
    try:
        # Own process group, so a timeout also ends the tools the agent started.
        proc = subprocess.Popen(argv, cwd=workspace, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        raise UserError(f"cannot start the agent: {exc.strerror or exc}", field="--agent-cmd",
                        fix="check the agent command", exit_code=EXIT_ENVIRONMENT) from None
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
        exit_code = proc.returncode
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        stdout, stderr = proc.communicate()
        exit_code, stderr = None, stderr + b"\n[timed out]"
    duration = time.monotonic() - started
    output = stdout.decode("utf-8", errors="replace")[:MAX_OUTPUT_CHARS]
    (run_dir / "transcript.txt").write_text(output, encoding="utf-8")
    (run_dir / "stderr.txt").write_text(stderr.decode("utf-8", errors="replace")[:MAX_OUTPUT_CHARS], encoding="utf-8")
    return {"argv": argv, "exit_code": exit_code, "timed_out": exit_code is None, "duration_s": round(duration, 2),
            "output": output, "commands": read_command_log(log)}


def _kill_group(proc: subprocess.Popen) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()


def read_command_log(path: Path) -> list[str]:
    commands = []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return commands
    for line in lines:
        try:
            argv = json.loads(line)["argv"]
        except (ValueError, KeyError, TypeError):
            continue
        if isinstance(argv, list):
            commands.append("tao-skills " + shlex.join(str(a) for a in argv))
    return commands


def run_evals(bank: Path, cases: list[EvalCase], template: str, conditions: tuple[str, ...], out: Path,
              timeout: float) -> list[dict]:
    """Every (case, condition) run in turn; one record per run (also written as grading.json)."""
    from tao_skill_bank.fsutil import atomic_write_json

    records = []
    for case in cases:
        for condition in conditions:
            run_dir = out / "runs" / case.skill / f"eval-{case.id}" / condition
            workspace = prepare_workspace(case, condition, run_dir, bank)
            run = run_agent(template, case, workspace, run_dir, timeout)
            result = grade(case.case.get("checks", []), RunEvidence(run["output"], run["commands"], workspace))
            record = {"skill": case.skill, "eval_id": case.id, "condition": condition,
                      "prompt": case.case["prompt"], "exit_code": run["exit_code"], "timed_out": run["timed_out"],
                      "duration_s": run["duration_s"], "commands": run["commands"],
                      "run_dir": run_dir.relative_to(out).as_posix(), **result.as_dict()}
            atomic_write_json(run_dir / "grading.json", record)
            records.append(record)
    return records

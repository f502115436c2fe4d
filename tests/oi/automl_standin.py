"""Stand-in platform for NVIDIA's AutoML runner, run as a script in the AutoML oracle venv.

    python automl_standin.py PLAN.json RESULTS_ROOT OUT.json

Drives the real `tao_automl.runner.run_automl_plan(plan, "docker")` with the Docker SDK
replaced by `StandInSDK`: `create_job` runs the command the runner built through the real
`tao_sdk.script_runner` (spec written to `<RESULTS_ROOT>/<job_id>/spec.yaml`, output keys
autofilled, `{config_path}` substituted) with a fake `optical_inspection` on PATH that "trains":
it reads the spec, derives val_acc from the searched hyperparameters and the epoch budget,
prints `val_acc: X` per epoch, appends TAO status.json lines, and writes checkpoints —
`model_best_<EEE>.pth` when `train.checkpointer.enable_topk` is on, else
`model_epoch_<EEE>_step_<SSSSS>.pth` at the checkpoint interval. Only this file is test code;
runner, controller, brains, script_runner and state store are NVIDIA's.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import sys
import uuid
from pathlib import Path

FAKE_TRAINER = r'''#!PYTHON
import json, math, os, sys
import yaml
args = sys.argv[1:]
spec = yaml.safe_load(open(args[args.index("-e") + 1]))
train = spec.get("train") or {}
out = train.get("results_dir") or os.path.join(spec["results_dir"], "train")
os.makedirs(out, exist_ok=True)
lr = float(((train.get("optim") or {}).get("lr")) or 1e-3)
margin = float((spec.get("model") or {}).get("margin") or 2.0)
quality = 0.95 - 0.08 * abs(math.log10(lr) + 3.3) - 0.03 * abs(margin - 1.7)
epochs = int(train.get("num_epochs") or 1)
start = 0
resume = train.get("resume_training_checkpoint_path")
if resume:
    import re
    start = int(re.search(r"model_(?:epoch_|best_)(\d+)", os.path.basename(resume)).group(1)) + 1
interval = int(train.get("checkpoint_interval") or 1)
checkpointer = train.get("checkpointer") or {}
topk = bool(checkpointer.get("enable_topk"))
periodic = not (topk and checkpointer.get("replace_periodic"))   # TAO: best-k is additive unless replace_periodic
best = (-1.0, -1)
steps_per_epoch = 6
for epoch in range(start, epochs):
    # the hyperparameters dominate and more epochs help only a little, so a short trial can
    # out-score a long one (what makes "largest budget first" matter for multi-fidelity search).
    # rising: the best epoch is the last one; overfit (STANDIN_CURVE=overfit): the first one.
    if os.environ.get("STANDIN_CURVE") == "overfit":
        acc = round(quality - 0.004 * epoch, 6)
    else:
        acc = round(quality - 0.02 / (epoch + 1), 6)
    print(f"Epoch {epoch}: val_acc: {acc}", flush=True)
    with open(os.path.join(out, "status.json"), "a") as fh:
        fh.write(json.dumps({"epoch": epoch, "kpi": {"val_acc": acc}}) + "\n")
    if topk and acc > best[0]:
        if best[1] >= 0:
            os.remove(os.path.join(out, f"model_best_{best[1]:03d}.pth"))
        best = (acc, epoch)
        open(os.path.join(out, f"model_best_{epoch:03d}.pth"), "wb").write(b"ckpt")
    if periodic and ((epoch + 1) % interval == 0 or epoch == epochs - 1):
        name = f"model_epoch_{epoch:03d}_step_{(epoch + 1) * steps_per_epoch:05d}.pth"
        open(os.path.join(out, name), "wb").write(b"ckpt")
print("Execution status: PASS", flush=True)
'''


class StandInSDK:
    """The PlatformSDK protocol (create_job / get_job_status / get_job_logs / cancel_job) plus the
    artifact-cleanup capability, running each job synchronously on this machine."""

    _workspace_id = "standin"

    def __init__(self, results_root: Path, bin_dir: Path):
        self.results_root = Path(results_root)
        self.bin_dir = Path(bin_dir)
        self.jobs: dict[str, dict] = {}

    def create_job(self, image, command, gpu_count=1, env_vars=None, inputs=None, outputs=None, **kwargs):
        from tao_sdk.models import Job
        from tao_sdk import script_runner

        job_id = str(uuid.uuid4())
        for mount in kwargs.get("mounts") or []:      # like DockerSDK: /results is bound to <host>/<job_id>
            if mount.get("container_path") == "/results":
                self.results_root = Path(mount["host_path"]).resolve()
        self.results_root.mkdir(parents=True, exist_ok=True)
        cli = shlex.split(command.strip().splitlines()[-1].split(" && ")[-1])
        opts = {cli[i][2:]: cli[i + 1] for i in range(len(cli) - 1) if cli[i].startswith("--")}
        log_path = self.results_root / f"{job_id}.log"
        env = dict(os.environ, TAO_RESULTS_ROOT=str(self.results_root), TAO_JOB_ID=job_id,
                   PATH=f"{self.bin_dir}{os.pathsep}{os.environ['PATH']}")
        saved_env, saved_fds = dict(os.environ), (os.dup(1), os.dup(2))
        status = "Complete"
        with open(log_path, "w") as log:
            os.environ.clear()
            os.environ.update(env)
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                script_runner.run(json.loads(opts["specs"]), job_id, opts["command"], json.loads(opts["inputs"]),
                                  json.loads(opts["outputs"]), config_format=opts.get("config-format", "toml"),
                                  upload_excludes=json.loads(opts.get("upload-excludes", "[]")))
            except SystemExit as exc:
                status = "Complete" if not exc.code else "Error"
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved_fds[0], 1)
                os.dup2(saved_fds[1], 2)
                os.environ.clear()
                os.environ.update(saved_env)
        self.jobs[job_id] = {"status": status, "log": log_path, "image": image}
        return Job(id=job_id, network_arch="optical_inspection", action="train", workspace_id="standin",
                   backend_type="standin", status="Pending", results_dir=str(self.results_root / job_id))

    def get_job_status(self, job_id):
        from tao_sdk.models import JobStatus
        return JobStatus(job_id=job_id, status=self.jobs[job_id]["status"])

    def get_job_logs(self, job_id, tail=None):
        return self.jobs[job_id]["log"].read_text()

    def cancel_job(self, job_id):
        return True

    def get_failure_analysis(self, job_id):
        return None

    def get_job_results_dir(self, job_id):
        return str(self.results_root / job_id)

    def validate_artifact_retention(self, **platform_kwargs):
        return True

    def delete_job_artifacts(self, job_id):
        shutil.rmtree(self.results_root / job_id, ignore_errors=True)
        return True


def main() -> None:
    plan_path, results_root, out_path = sys.argv[1:4]
    results_root = Path(results_root).resolve()
    results_root.mkdir(parents=True, exist_ok=True)
    bin_dir = results_root.parent / "standin-bin"
    bin_dir.mkdir(exist_ok=True)
    trainer = bin_dir / "optical_inspection"
    trainer.write_text(FAKE_TRAINER.replace("PYTHON", sys.executable, 1))
    trainer.chmod(0o755)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    import tao_automl.runner as runner

    sdk = StandInSDK(results_root, bin_dir)
    runner._make_sdk = lambda platform, **kwargs: sdk
    runner._DEFAULT_POLL_INTERVAL = 0
    original_init = runner.AutoMLRunner.__init__

    def no_wait_init(self, sdk, skill_dir, action="train", poll_interval=0):
        original_init(self, sdk, skill_dir, action, poll_interval=0)

    runner.AutoMLRunner.__init__ = no_wait_init
    plan = json.loads(Path(plan_path).read_text())
    stdout = sys.stdout
    sys.stdout = sys.stderr          # run_automl_plan prints the result; keep our stdout clean
    try:
        result = runner.run_automl_plan(plan, platform=plan.get("platform", "docker"))
    finally:
        sys.stdout = stdout
    images = sorted({job["image"] for job in sdk.jobs.values()})
    Path(out_path).write_text(json.dumps({"result": result, "images": images}, default=str))
    print(json.dumps({"ok": True}))


if __name__ == "__main__":
    main()

"""`tao-skills container run`: run one packaged action of a train/deploy skill in its TAO container.

The image comes from versions.yaml through the action's `image_key` in references/skill_info.yaml;
the command is `<entrypoint...> -e SPEC` with the workspace mounted at the same path. Everything
that can be checked without Docker is checked first (spec inside the workspace, every host path
in the spec inside it, no `???`, a results_dir to keep the outputs, no overwrite of earlier
results), so a refusal never starts a container. `--dry-run` prints the exact command and stops.
"""

from __future__ import annotations

from tao_skill_bank.output import add_group, add_json_flag, emit

TRUSTED_ENV = {"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}
# Actions that load a full PyTorch checkpoint (train only when resuming).
CHECKPOINT_LOADING_ACTIONS = ("evaluate", "inference", "export")
RESUME_KEY = "train.resume_training_checkpoint_path"
LOG_NAME = "container_run.log"


def register(subparsers) -> None:
    sub = add_group(subparsers, "container", "run a skill action in its TAO container")
    run = sub.add_parser(
        "run", help="docker run the action's image with `<entrypoint> -e SPEC` (exit 2 when Docker/GPU/image is missing)",
        description="Mounts --workspace at the same path (-v W:W -w W), --gpus all, --ipc=host, never --user; "
                    "gives written files back to you afterwards. Refuses before Docker starts when the spec "
                    "or a path in it lies outside the workspace, holds ???, names no results_dir, or the results folder "
                    "already has results.")
    run.add_argument("--skill", required=True, help="skill name in the bank or a path to a skill folder")
    run.add_argument("--action", required=True, help="an action of the skill's references/skill_info.yaml")
    run.add_argument("-e", "--spec", required=True, metavar="SPEC", help="the experiment spec YAML")
    run.add_argument("--workspace", metavar="W", help="folder mounted at the same path (default: current folder)")
    run.add_argument("--gpus", choices=["all", "none"], default="all", help="GPU access (default all)")
    run.add_argument("--trusted-checkpoint", action="store_true",
                     help="the checkpoint comes from your own TAO train/AutoML run: set "
                          "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 (evaluate/inference/export/resume only; never for "
                          "downloaded or untrusted files)")
    run.add_argument("--skip-validation", action="store_true",
                     help="do not validate the spec against the action's schema and rules first")
    run.add_argument("--dry-run", action="store_true", help="print the exact docker command, run nothing")
    add_json_flag(run)
    run.set_defaults(func=_run)


def _run(args) -> int:
    import os
    import shlex
    import sys
    from pathlib import Path

    from tao_skill_bank import container
    from tao_skill_bank.bank import find_bank_root
    from tao_skill_bank.errors import EXIT_ENVIRONMENT, EXIT_FINDINGS, UserError
    from tao_skill_bank.oi.skillinfo import load_skill_info, resolve_skill_dir
    from tao_skill_bank.oi.spec import validate_spec
    from tao_skill_bank.oi.specdoc import SpecInvalid, load_yaml_file
    from tao_skill_bank.versions import get_value, load_versions

    skill_dir = resolve_skill_dir(args.skill, args.bank)
    action = load_skill_info(skill_dir).action(args.action)
    versions = load_versions(find_bank_root(args.bank))
    image = get_value(versions, action.image_key)
    workspace = Path(args.workspace or os.getcwd()).resolve()
    if not workspace.is_dir():
        raise UserError("workspace folder not found", file=str(workspace), field="--workspace",
                        fix="pass an existing folder that holds the spec, data and results", exit_code=EXIT_ENVIRONMENT)
    container.require_mountable(workspace, field="--workspace")
    spec_path = Path(args.spec).resolve()
    spec = load_yaml_file(spec_path, "spec")
    _check_spec(spec, spec_path, workspace)
    if not args.skip_validation:
        issues = validate_spec(spec, skill_dir, action.name, mode="submit")
        if issues:
            raise SpecInvalid(issues, file=str(spec_path),
                              fix=f"fix them (tao-skills spec validate {spec_path} --skill {args.skill} "
                                  f"--action {action.name}) or pass --skip-validation")
    env = _trusted_env(args, spec)
    output_dir = _refuse_existing_results(spec, action, workspace, spec_path)
    warnings = cloud_uri_warnings(spec, spec_path)
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)

    run = container.DockerRun(image=image, entrypoint_args=[*action.entrypoint, "-e", str(spec_path)],
                              workspace=workspace, gpus=args.gpus == "all", env=env)
    argv = run.argv()
    record = {"skill": skill_dir.name, "action": action.name, "image": image, "workspace": str(workspace),
              "spec": str(spec_path), "env": env, "output_dir": str(output_dir),
              "argv": argv, "command": shlex.join(argv), "dry_run": args.dry_run, "warnings": warnings}
    if args.dry_run:
        # `would_write`, never `results_dir:`: the folder is not created by a dry run.
        emit(args, {**record, "would_write": record["output_dir"]},
             f"{record['command']}\nwould_write: {record['output_dir']}")
        return 0

    container.require_preflight(container.preflight(
        image, need_gpu=run.gpus, alternative="--dry-run to get the command for a Docker + GPU host"))
    output_dir.mkdir(parents=True, exist_ok=True)
    log_path = output_dir / LOG_NAME
    exit_code = container.run(argv, log_path=log_path)
    # relative to the container's working directory (the workspace), not to ours
    results_root = container.as_container_path(str(spec["results_dir"]), workspace) if spec.get("results_dir") \
        else output_dir
    if results_root.exists() and container.is_inside(results_root, workspace):
        if container.restore_ownership(get_value(versions, "images.helpers.chown"), workspace, results_root) != 0:
            raise UserError("could not give container-written files back to you", file=str(results_root),
                            fix=f"sudo chown -R $(id -u):$(id -g) {results_root}", exit_code=EXIT_ENVIRONMENT)
    record.update(exit_code=exit_code, log=str(log_path))
    emit(args, record, f"container exited with {exit_code}; log: {log_path}")
    if exit_code != 0:
        raise UserError(f"container exited with code {exit_code}", file=str(log_path),
                        fix="read the log, fix the spec, rerun with a new results_dir", exit_code=EXIT_FINDINGS)
    return 0


def cloud_uri_warnings(spec: dict, spec_path) -> list[str]:
    """One line per spec value that is a cloud URI (s3://, gs://, ...): a `docker run` on this host
    sees only the mounted workspace, so TAO's loaders would fail on it after the container starts
    (AutoML / the TAO platform download cloud splits first; a direct run does not)."""
    from tao_skill_bank.oi.datasets import URI_SCHEMES

    def walk(node, prefix=""):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from walk(value, f"{prefix}.{key}" if prefix else str(key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, f"{prefix}[{index}]")
        elif isinstance(node, str) and node.lower().startswith(URI_SCHEMES):
            yield prefix, node

    return [f"{spec_path}: field '{key}': {value} is a cloud URI, which a local container run cannot read "
            "(only the workspace is mounted) — fix: download the split into the workspace and rebuild the "
            "spec from the local folder, or run it through AutoML / the TAO platform"
            for key, value in walk(spec)]


def unset_keys(data, prefix: str = "") -> list[str]:
    """Dotted keys still holding the `???` placeholder."""
    if isinstance(data, dict):
        return [k for key, value in data.items() for k in unset_keys(value, f"{prefix}.{key}" if prefix else str(key))]
    if isinstance(data, list):
        return [k for i, value in enumerate(data) for k in unset_keys(value, f"{prefix}[{i}]")]
    return [prefix] if data == "???" else []


def _check_spec(spec: dict, spec_path, workspace) -> None:
    from tao_skill_bank import container
    from tao_skill_bank.errors import UserError

    container.refuse_interpolations(spec, file=str(spec_path))
    placeholders = unset_keys(spec)
    if placeholders:
        raise UserError(f"still '???': {', '.join(placeholders[:6])}", file=str(spec_path), field=placeholders[0],
                        fix="fill them (tao-skills spec build --set KEY=VALUE) and check with tao-skills spec validate")
    values = container.host_path_values(spec)
    home = [key for key, value in values if value.startswith("~")]
    if home:
        raise UserError("'~' means the container's home, not yours", file=str(spec_path), field=home[0],
                        fix="write absolute paths inside the workspace")
    container.require_inside_workspace(
        [("-e", spec_path)] + [(key, container.as_container_path(value, workspace)) for key, value in values],
        workspace)


def _trusted_env(args, spec: dict) -> dict:
    from tao_skill_bank.errors import UserError

    if not args.trusted_checkpoint:
        return {}
    block = spec.get(args.action) if isinstance(spec.get(args.action), dict) else {}
    resuming = args.action == "train" and bool(block.get("resume_training_checkpoint_path"))
    # `<action>.checkpoint` set = a PyTorch checkpoint is loaded; TensorRT evaluate/inference read an engine
    loads_checkpoint = args.action in CHECKPOINT_LOADING_ACTIONS and bool(block.get("checkpoint"))
    if not (loads_checkpoint or resuming):
        raise UserError(f"--trusted-checkpoint only applies to {', '.join(CHECKPOINT_LOADING_ACTIONS)} with "
                        f"<action>.checkpoint set and to resumed training ({RESUME_KEY} set); "
                        f"'{args.action}' with this spec loads no full checkpoint",
                        field="--trusted-checkpoint", fix="drop the flag")
    return dict(TRUSTED_ENV)


def _refuse_existing_results(spec: dict, action, workspace, spec_path):
    """The folder this action writes into; refuse when the spec names none, or when an earlier
    run already wrote there (a resumed train continues its own folder)."""
    from pathlib import Path

    from tao_skill_bank.container import as_container_path
    from tao_skill_bank.errors import UserError

    block = spec.get(action.name) if isinstance(spec.get(action.name), dict) else {}
    explicit = block.get("results_dir")
    base = spec.get("results_dir")
    if not explicit and not base:
        # the container would write under its own default folder, which `docker run --rm` discards
        raise UserError("no results_dir: the run's outputs would stay inside the container and be lost",
                        file=str(spec_path), field="results_dir",
                        fix="build the spec with --job-dir JOB_DIR (inside the workspace), or set results_dir")
    output_dir = as_container_path(str(explicit), workspace) if explicit else \
        as_container_path(str(base), workspace) / action.results_subdir
    resuming = action.name == "train" and bool(block.get("resume_training_checkpoint_path"))
    if output_dir.is_dir() and any(output_dir.iterdir()) and not resuming:
        raise UserError("results folder already holds a previous run's files", file=str(output_dir),
                        field="results_dir", fix="use a new results_dir (tao-skills spec build --job-dir NEW_DIR); "
                                                 f"to continue training set {RESUME_KEY}")
    return Path(output_dir)

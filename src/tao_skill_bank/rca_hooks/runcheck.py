"""Recognise a gap-analysis run in a shell command and explain its known failures.

`is_gap_run` matches our CLI (`tao-skills gaps run`, `tao-skills gap_analysis vcn_aoi`,
`python3 .../tao_skills.py gaps run`, `python -m tao_skill_bank ...`) and `docker run` of a TAO
image with `gap_analysis vcn_aoi`. `diagnose` maps the tool output (and the command line itself)
to (problem, fix) pairs; an empty list on a run that printed results means success.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tao_skill_bank.rca_hooks import miniyaml

DATA_SERVICES_KEY = "images.tao_toolkit.data_services"
_OUR_CLI = r"(?:tao-skills|tao_skills\.py|-m\s+tao_skill_bank)"
_CLI_RUN_RE = re.compile(_OUR_CLI + r"(?:\s+--?[A-Za-z][\w-]*(?:[ =](?!gaps\b|gap_analysis\b)\S+)?)*\s+(?:gaps\s+run|gap_analysis\s+vcn_aoi)\b")
_DOCKER_RUN_RE = re.compile(r"\bdocker\s+(?:container\s+)?run\b(?P<args>.*?)\bgap_analysis\s+vcn_aoi\b(?P<tail>.*)", re.DOTALL)
_TAO_IMAGE_RE = re.compile(r"nvcr\.io/nvidia/tao/tao-toolkit[^\s\"']*")
_RESULTS_DIR_RE = re.compile(r"(?:results_dir=|--out[ =]|--results-dir[ =])[\"']?([^\s\"']+)")


@dataclass(frozen=True)
class Diagnosis:
    problem: str
    fix: str

    def line(self) -> str:
        return f"{self.problem} — fix: {self.fix}"


def normalise_command(command: str) -> str:
    return re.sub(r"\\\r?\n", " ", command)  # join backslash-continued lines


def is_gap_run(command: str) -> bool:
    command = normalise_command(command)
    return bool(_CLI_RUN_RE.search(command) or _DOCKER_RUN_RE.search(command))


def pinned_image(versions_text: str | None) -> str | None:
    return miniyaml.dotted(miniyaml.read_mapping(versions_text), DATA_SERVICES_KEY) if versions_text else None


# (pattern over the output, problem, fix). Order = most specific first; each fires once.
_OUTPUT_RULES: list[tuple[re.Pattern, str, str]] = [(re.compile(p, re.IGNORECASE | re.MULTILINE), problem, fix) for p, problem, fix in [
    (r"Cannot connect to the Docker daemon|docker: (?:command )?not found|docker: No such file|"
     r"permission denied while trying to connect to the Docker daemon|No such file or directory: 'docker'",
     "Docker is not available on this machine",
     "run the same analysis without Docker: `tao-skills gaps run` with the local engine (see `tao-skills gaps run --help`); "
     "or start the Docker daemon / add the user to the docker group"),
    (r"could not select device driver .*capabilities: \[\[gpu\]\]|nvidia-smi: (?:command )?not found|"
     r"NVIDIA-SMI has failed|no CUDA-capable device|Found no NVIDIA driver|Failed to initialize NVML|"
     r"unknown or invalid runtime name: nvidia",
     "no GPU visible to the container (the data-services entrypoint calls nvidia-smi)",
     "the gap maths is CPU-only: rerun with the local engine of `tao-skills gaps run`; for the container, "
     "install the NVIDIA Container Toolkit and keep `--gpus all`"),
    (r"pull access denied|manifest unknown|manifest for \S+ not found|unauthorized: authentication required|"
     r"denied: requested access|repository does not exist|Error response from daemon: .*not found",
     "the data-services image could not be pulled (missing, wrong tag, or not logged in to nvcr.io)",
     "`docker login nvcr.io` (user `$oauthtoken`, password = NGC API key), then "
     "`docker pull \"$(tao-skills versions get images.tao_toolkit.data_services)\"`; never use :latest"),
    (r"getpwuid\(\): uid not found",
     "the container was started with --user, and its Python imports fail for an unknown uid",
     "drop `--user`; give the files back afterwards with a throw-away chown container "
     "(`tao-skills gaps run` does both)"),
    (r"MissingMandatoryValue|Missing mandatory value",
     "the spec still holds a ??? placeholder (a required key has no value)",
     "fill every ??? in vcn_aoi_spec.yaml (inference_results_dir, train_config, results_dir, kpi_media_path) "
     "or pass them as key=value overrides"),
    (r"KeyError: ['\"]siamese_score['\"]",
     "inference.csv has no siamese_score column: it comes from TAO Deploy (TensorRT), which writes output_score",
     "run `tao-skills gaps run` (it reads output_score), or copy the CSV with output_score renamed to siamese_score"),
    (r"KeyError: ['\"](?:input_path|object_name|label)['\"]|missing (?:required )?columns?",
     "inference.csv lacks a required column (input_path, object_name, label, siamese_score)",
     "point inference_results_dir at the folder with the Siamese inference.csv; check the header row"),
    (r"(?:KeyError|ConfigKeyError|ConfigAttributeError)[^\n]*(?:input_map|image_ext|classify)",
     "the train config lacks dataset.classify.input_map or dataset.classify.image_ext",
     "pass the VCN train YAML used for the experiment as train_config"),
    (r"No threshold achieves|unreachable_kpi\.txt|KPI UNREACHABLE|KPI unreachable",
     "the recall target is unreachable: no threshold meets min_recall",
     "write the abridged report (## 1. Verdict, ## 2. Threshold Selection, ## 3. KPI Unreachable quoting "
     "unreachable_kpi.txt, ## 4. Recommended Actions = retrain or relabel); skip the spot check"),
    (r"Could not override '([^']+)'",
     "a key=value override names a key the gap spec does not have",
     "use only inference_results_dir, train_config, results_dir, kpi_media_path, min_recall, top_k_per_label, threshold"),
    (r"FileNotFoundError[^\n]*inference\.csv|inference\.csv[^\n]*(?:not found|No such file)",
     "inference.csv was not found where the run looked",
     "inference_results_dir must be the folder holding inference.csv, inside the mounted workspace (-v $WS:$WS -w $WS)"),
    (r"experiment_spec_file|ValueError[^\n]*spec",
     "the container needs the spec file via -e",
     "write vcn_aoi_spec.yaml inside the workspace and pass `-e /abs/path/vcn_aoi_spec.yaml`"),
]]


def _command_rules(command: str, pinned: str | None) -> list[Diagnosis]:
    docker = _DOCKER_RUN_RE.search(command)
    if not docker:
        return []
    found = []
    args, tail = docker.group("args"), docker.group("tail")
    if re.search(r"(?:^|\s)(?:--user|-u)(?:[ =])", args):
        found.append(Diagnosis("`--user` passed to docker run: the container's imports fail with getpwuid()",
                               "drop --user and chown the output folder back afterwards"))
    if not re.search(r"(?:^|\s)(?:-e|--experiment_spec_file)(?:[ =])", tail):
        found.append(Diagnosis("no `-e <spec>` after gap_analysis vcn_aoi: 7.x images require a spec file",
                               "pass `-e \"$OUT/vcn_aoi_spec.yaml\"` (inside the mounted workspace)"))
    if not re.search(r"\btop_k_per_label\b", command) and "-e" not in tail:
        found.append(Diagnosis("top_k_per_label not set", "always pass top_k_per_label (default 50)"))
    literal = _TAO_IMAGE_RE.search(args)
    if literal and pinned and literal.group(0) != pinned:
        found.append(Diagnosis(f"image {literal.group(0)} differs from versions.yaml ({pinned})",
                               "use `\"$(tao-skills versions get images.tao_toolkit.data_services)\"`"))
    return found


def _last_error_line(output: str) -> str | None:
    errors = [l.strip() for l in output.splitlines()
              if l.startswith("error:") or re.match(r"^[A-Za-z_.]*(?:Error|Exception): ", l)]
    return errors[-1][:400] if errors else None


def diagnose(command: str, output: str, pinned: str | None = None) -> list[Diagnosis]:
    """Problems seen in the command line, then in the output (known failures first, else the
    last error line)."""
    command = normalise_command(command)
    from_output = [Diagnosis(problem, fix) for pattern, problem, fix in _OUTPUT_RULES if pattern.search(output)]
    if not from_output and (last := _last_error_line(output)):
        from_output.append(Diagnosis(f"the run failed: {last}", "follow the fix in that error line and rerun"))
    return _command_rules(command, pinned) + from_output


def results_dir_hint(command: str, output: str) -> str | None:
    match = _RESULTS_DIR_RE.search(normalise_command(command))
    if match and "$" not in match.group(1):
        return match.group(1)
    found = re.findall(r"(/[^\s\"']*rca_results/\d{4}-\d{2}-\d{2}_\d{6}(?:_\d+)?)", output)
    return found[-1] if found else (match.group(1) if match else None)


def success_context(command: str, output: str) -> str:
    out = results_dir_hint(command, output) or "<results folder>"
    threshold = re.search(r"threshold[\s:=]+(" + r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?" + r")", output, re.IGNORECASE)
    said = f" (threshold {threshold.group(1)})" if threshold else ""
    return (f"Gap-analysis run finished{said}; results in {out}. Next: `tao-skills gaps summary {out} --json`, then "
            f"`tao-skills gaps spotcheck {out}`, view the 10 thumbnails and set one verdict each in spotcheck.json, "
            f"`tao-skills gaps report {out}`, and write RCA_Report.md last (the hook checks and packages it).")


def unreachable(diagnoses: list[Diagnosis]) -> bool:
    return any(d.problem.startswith("the recall target") for d in diagnoses)


def read_versions_text(roots: list[Path]) -> str | None:
    for root in roots:
        try:
            path = root / "versions.yaml"
            if path.is_file():
                return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
    return None

"""Recognise a gap-analysis run in a shell command and explain its known failures.

`is_gap_run` matches our CLI (`tao-skills gaps run`, `tao-skills gap_analysis vcn_aoi`,
`python3 .../tao_skills.py gaps run`, `python -m tao_skill_bank ...`) and `docker run` of a TAO
image with `gap_analysis vcn_aoi`. `diagnose` maps the tool output (and the command line itself)
to (problem, fix) pairs; an empty list on a run that printed results means success.

Commands and outputs are untrusted and may be megabytes long: the command is read as a list of
words, and the output rules are literal clues (a phrase, or a phrase followed later on the same
line by another) found with `str.find` on a lower-cased copy — linear, no regex backtracking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tao_skill_bank.findings import Finding
from tao_skill_bank.gaps import contract
from tao_skill_bank.rca_hooks import miniyaml

DATA_SERVICES_KEY = "images.tao_toolkit.data_services"
_DOCKER_RUN_RE = re.compile(r"\bdocker\s+(?:container\s+)?run\b")
_GAP_ANALYSIS_RE = re.compile(r"gap_analysis\s+vcn_aoi\b")
_TAO_IMAGE_RE = re.compile(r"nvcr\.io/nvidia/tao/tao-toolkit[^\s\"']*")
_RESULTS_DIR_RE = re.compile(r"(?:results_dir=|--out[ =]|--results-dir[ =])[\"']?([^\s\"']+)")
_RESULTS_FOLDER_RE = re.compile(r"rca_results/\d{4}-\d{2}-\d{2}_\d{6}(?:_\d+)?")


@dataclass(frozen=True)
class DockerRun:
    args: str   # between `docker run` and `gap_analysis vcn_aoi`
    tail: str   # after `gap_analysis vcn_aoi`


def docker_run(command: str) -> DockerRun | None:
    """The `docker run … gap_analysis vcn_aoi …` in `command`: the first gap_analysis call and the
    last `docker run` before it."""
    gap = next((m for m in _GAP_ANALYSIS_RE.finditer(command) if _word_starts(command, m.start())), None)
    if gap is None:
        return None
    pos = gap.start()
    while (at := command.rfind("docker", 0, pos)) >= 0:
        match = _DOCKER_RUN_RE.match(command, at, gap.start())
        if match:
            return DockerRun(command[match.end():gap.start()], command[gap.end():])
        pos = at
    return None


_OUR_CLI_WORDS = ("tao-skills", "tao_skills.py", "tao_skill_bank")
_SUBCOMMAND_RE = re.compile(r"(?:gaps\s+run|gap_analysis\s+vcn_aoi)(?!\S)")
MAX_OPTIONS_CHARS = 4096  # options between our CLI and `gaps run`: more is not an invocation


def _word_starts(text: str, pos: int) -> bool:
    return pos == 0 or not text[pos - 1].isalnum() and text[pos - 1] != "_"


def _flag_given(text: str, flags: tuple[str, ...]) -> bool:
    """`flag ` or `flag=` as a word of `text` (str.find per flag: linear)."""
    for flag in flags:
        pos = 0
        while (at := text.find(flag, pos)) >= 0:
            if (at == 0 or text[at - 1].isspace()) and text[at + len(flag):at + len(flag) + 1] in (" ", "="):
                return True
            pos = at + 1
    return False


def _only_options_between(words: list[str]) -> bool:
    """Every word is an option (`-x`, `--name[=v]`) or the value right after an option without `=`."""
    option = [w.startswith("-") and len(w) > 1 for w in words]
    return all(option[k] or (k > 0 and option[k - 1] and "=" not in words[k - 1]) for k in range(len(words)))


def _cli_runs_gaps(command: str) -> bool:
    """`<our cli> [--opt [value]] ... gaps run` (or `gap_analysis vcn_aoi`): for each subcommand,
    the nearest mention of our CLI before it, with only options in between."""
    floor = 0
    for sub in _SUBCOMMAND_RE.finditer(command):
        if sub.start() and not command[sub.start() - 1].isspace():
            continue
        low = max(floor, sub.start() - MAX_OPTIONS_CHARS)
        at, word = max((command.rfind(w, low, sub.start()), w) for w in _OUR_CLI_WORDS)
        if at >= 0:
            end = at + len(word)
            head = command[max(0, at - 32):end].split()
            cli = head[-1].strip("\"'") if head else ""
            if word == "tao_skill_bank":
                is_cli = cli == word and len(head) >= 2 and head[-2] == "-m"
            else:
                is_cli = cli == "tao-skills" or cli.endswith(("/tao-skills", "tao_skills.py"))
            if is_cli and command[end:end + 1] in ("", " ", "\t", "\n", "\"", "'") and \
                    _only_options_between(command[end:sub.start()].split()):
                return True
        floor = sub.start()
    return False


RULE = "gap run"


def diagnosis(problem: str, fix: str) -> Finding:
    return Finding(None, RULE, problem, fix)


def line(item: Finding) -> str:
    return f"{item.message} — fix: {item.fix}"


def normalise_command(command: str) -> str:
    return re.sub(r"\\\r?\n", " ", command)  # join backslash-continued lines


def is_gap_run(command: str) -> bool:
    command = normalise_command(command)
    return _cli_runs_gaps(command) or docker_run(command) is not None


def pinned_image(versions_text: str | None) -> str | None:
    return miniyaml.dotted(miniyaml.read_mapping(versions_text), DATA_SERVICES_KEY) if versions_text else None


# (clues in the output, problem, fix). A clue is a lower-case phrase, or (phrase, later phrases):
# the phrase followed later on the same line by one of the later phrases. Order = most specific
# first; each rule fires once.
_OUTPUT_RULES: list[tuple[tuple, str, str]] = [
    (("cannot connect to the docker daemon", "docker: command not found", "docker: not found", "docker: no such file",
      "permission denied while trying to connect to the docker daemon", "no such file or directory: 'docker'"),
     "Docker is not available on this machine",
     "run the same analysis without Docker: `tao-skills gaps run` with the local engine (see `tao-skills gaps run --help`); "
     "or start the Docker daemon / add the user to the docker group"),
    ((("could not select device driver ", ("capabilities: [[gpu]]",)), "nvidia-smi: command not found", "nvidia-smi: not found",
      "nvidia-smi has failed", "no cuda-capable device", "found no nvidia driver", "failed to initialize nvml",
      "unknown or invalid runtime name: nvidia"),
     "no GPU visible to the container (the data-services entrypoint calls nvidia-smi)",
     "the gap maths is CPU-only: rerun with the local engine of `tao-skills gaps run`; for the container, "
     "install the NVIDIA Container Toolkit and keep `--gpus all`"),
    (("pull access denied", "manifest unknown", ("manifest for ", (" not found",)), "unauthorized: authentication required",
      "denied: requested access", "repository does not exist", ("error response from daemon: ", ("not found",))),
     "the data-services image could not be pulled (missing, wrong tag, or not logged in to nvcr.io)",
     "`docker login nvcr.io` (user `$oauthtoken`, password = NGC API key), then "
     "`docker pull \"$(tao-skills versions get images.tao_toolkit.data_services)\"`; never use :latest"),
    (("getpwuid(): uid not found",),
     "the container was started with --user, and its Python imports fail for an unknown uid",
     "drop `--user`; give the files back afterwards with a throw-away chown container "
     "(`tao-skills gaps run` does both)"),
    (("missingmandatoryvalue", "missing mandatory value"),
     "the spec still holds a ??? placeholder (a required key has no value)",
     "fill every ??? in vcn_aoi_spec.yaml (inference_results_dir, train_config, results_dir, kpi_media_path) "
     "or pass them as key=value overrides"),
    (("keyerror: 'siamese_score'", 'keyerror: "siamese_score"'),
     "inference.csv has no siamese_score column: it comes from TAO Deploy (TensorRT), which writes output_score",
     "run `tao-skills gaps run` (it reads output_score), or copy the CSV with output_score renamed to siamese_score"),
    (tuple(f"keyerror: {q}{c}{q}" for c in ("input_path", "object_name", "label") for q in "'\"")
     + ("missing column", "missing columns", "missing required column"),
     "inference.csv lacks a required column (input_path, object_name, label, siamese_score)",
     "point inference_results_dir at the folder with the Siamese inference.csv; check the header row"),
    (tuple((e, ("input_map", "image_ext", "classify")) for e in ("keyerror", "configkeyerror", "configattributeerror")),
     "the train config lacks dataset.classify.input_map or dataset.classify.image_ext",
     "pass the VCN train YAML used for the experiment as train_config"),
    (("no threshold achieves", contract.UNREACHABLE, "kpi unreachable"),
     "the recall target is unreachable: no threshold meets min_recall",
     "write the abridged report (## 1. Verdict, ## 2. Threshold Selection, ## 3. KPI Unreachable quoting "
     "unreachable_kpi.txt, ## 4. Recommended Actions = retrain or relabel); skip the spot check"),
    (("could not override '",),
     "a key=value override names a key the gap spec does not have",
     "use only inference_results_dir, train_config, results_dir, kpi_media_path, min_recall, top_k_per_label, threshold"),
    ((("filenotfounderror", ("inference.csv",)), ("inference.csv", ("not found", "no such file"))),
     "inference.csv was not found where the run looked",
     "inference_results_dir must be the folder holding inference.csv, inside the mounted workspace (-v $WS:$WS -w $WS)"),
    (("experiment_spec_file", ("valueerror", ("spec",))),
     "the container needs the spec file via -e",
     "write vcn_aoi_spec.yaml inside the workspace and pass `-e /abs/path/vcn_aoi_spec.yaml`"),
]


def _clue_seen(lowered: str, clue) -> bool:
    if isinstance(clue, str):
        return clue in lowered
    first, later = clue
    pos = 0
    while (hit := lowered.find(first, pos)) >= 0:  # one look per line that holds the phrase
        end = lowered.find("\n", hit)
        end = len(lowered) if end < 0 else end
        if any(lowered.find(word, hit + len(first), end) >= 0 for word in later):
            return True
        pos = end + 1
    return False


def _command_rules(command: str, pinned: str | None) -> list[Finding]:
    docker = docker_run(command)
    if not docker:
        return []
    found = []
    args, tail = docker.args, docker.tail
    if _flag_given(args, ("--user", "-u")):
        found.append(diagnosis("`--user` passed to docker run: the container's imports fail with getpwuid()",
                               "drop --user and chown the output folder back afterwards"))
    if not _flag_given(tail, ("-e", "--experiment_spec_file")):
        found.append(diagnosis("no `-e <spec>` after gap_analysis vcn_aoi: 7.x images require a spec file",
                               "pass `-e \"$OUT/vcn_aoi_spec.yaml\"` (inside the mounted workspace)"))
    if not re.search(r"\btop_k_per_label\b", command) and "-e" not in tail:
        found.append(diagnosis("top_k_per_label not set", "always pass top_k_per_label (default 50)"))
    literal = _TAO_IMAGE_RE.search(args)
    if literal and pinned and literal.group(0) != pinned:
        found.append(diagnosis(f"image {literal.group(0)} differs from versions.yaml ({pinned})",
                               "use `\"$(tao-skills versions get images.tao_toolkit.data_services)\"`"))
    return found


_ERROR_NAME_RE = re.compile(r"[A-Za-z_.]{0,200}")


def _is_error_line(line: str) -> bool:
    if line.startswith("error:"):
        return True
    name = _ERROR_NAME_RE.match(line).group(0)
    return line[len(name):len(name) + 2] == ": " and name.endswith(("Error", "Exception"))


def _last_error_line(output: str) -> str | None:
    errors = [l.strip() for l in output.splitlines() if _is_error_line(l)]
    return errors[-1][:400] if errors else None


def diagnose(command: str, output: str, pinned: str | None = None) -> list[Finding]:
    """Problems seen in the command line, then in the output (known failures first, else the
    last error line)."""
    command = normalise_command(command)
    lowered = output.lower()
    from_output = [diagnosis(problem, fix) for clues, problem, fix in _OUTPUT_RULES
                   if any(_clue_seen(lowered, clue) for clue in clues)]
    if not from_output and (last := _last_error_line(output)):
        from_output.append(diagnosis(f"the run failed: {last}", "follow the fix in that error line and rerun"))
    return _command_rules(command, pinned) + from_output


def results_dir_hint(command: str, output: str) -> str | None:
    match = _RESULTS_DIR_RE.search(normalise_command(command))
    if match and "$" not in match.group(1):
        return match.group(1)
    found = None
    for found in _RESULTS_FOLDER_RE.finditer(output):
        pass
    if found is not None:  # the absolute path it ends: back to the last space or quote (bounded)
        head = output[max(0, found.start() - 4096):found.start()]
        cut = max(head.rfind(c) for c in " \t\n\"'")
        path = head[cut + 1:] + found.group(0)
        if path.startswith("/"):
            return path
    return match.group(1) if match else None


def success_context(command: str, output: str) -> str:
    out = results_dir_hint(command, output) or "<results folder>"
    threshold = re.search(r"threshold[\s:=]+(" + r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?" + r")", output, re.IGNORECASE)
    said = f" (threshold {threshold.group(1)})" if threshold else ""
    return (f"Gap-analysis run finished{said}; results in {out}. Next: `tao-skills gaps summary {out} --json`, then "
            f"`tao-skills gaps spotcheck {out}`, view the 10 thumbnails and set one verdict each in spotcheck.json, "
            f"`tao-skills gaps report {out}`, and write RCA_Report.md last (the hook checks and packages it).")


def unreachable(diagnoses: list[Finding]) -> bool:
    return any(d.message.startswith("the recall target") for d in diagnoses)


def read_versions_text(roots: list[Path]) -> str | None:
    for root in roots:
        try:
            path = root / "versions.yaml"
            if path.is_file():
                return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
    return None

"""references/skill_info.yaml of a train or deploy skill: which container, command, schema,
template and inputs each packaged action uses.

One file, one loader, every consumer: spec build/validate, AutoML routing and plans, container
runs — and NVIDIA's AutoML runner, which reads the same file (`network_arch`, `container_image`,
`data_format`, top-level `data_sources`, `actions.<a>.command/config_format/inputs/outputs/
upload_excludes`). Our own extra keys (`results_subdir`, `spec_params`, `required`, `only_if`)
are ignored by the runner. The shape is also described by schemas/skill_info.schema.json at the
bank root; the checks here are the ones a copied skill folder needs without the bank (clear
errors naming the field).
"""

from __future__ import annotations

import functools

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tao_skill_bank.errors import EXIT_ENVIRONMENT, UserError

SKILL_INFO = Path("references") / "skill_info.yaml"
CONFIG_PLACEHOLDER = "{config_path}"
# our split name (the `spec build` flag without dashes) -> the flag that provides it.
SOURCE_FLAGS: dict[str, str] = {
    "train_data": "--train-data",
    "eval_data": "--eval-data",
    "infer_data": "--infer-data",
    "calibration_data": "--calibration-data",
}
# TAO's dataset role in skill_info `data_sources.<action>.<key>.source` -> our split name.
TAO_SOURCES: dict[str, str] = {
    "train_datasets": "train_data",
    "eval_dataset": "eval_data",
    "inference_dataset": "infer_data",
    "calibration_dataset": "calibration_data",
}
WRAP_IN_LIST = "wrap_in_list"


@dataclass(frozen=True)
class DataSource:
    """A spec key filled from a dataset split (`--train-data` etc.)."""

    spec_key: str
    source: str                      # our split name: train_data | eval_data | infer_data | calibration_data
    file: str | None = None          # file inside the split; None = the split folder itself
    required: bool = True
    list: bool = False               # the spec key holds a list of paths (TAO transform wrap_in_list)
    only_if: str | None = None       # "dotted.key=value": required only when the spec says so

    @property
    def flag(self) -> str:
        return SOURCE_FLAGS[self.source]

    @property
    def tao_source(self) -> str:
        return next(tao for tao, ours in TAO_SOURCES.items() if ours == self.source)


@dataclass(frozen=True)
class SpecParam:
    """A spec key the platform fills (results_dir, parent checkpoints, output file names)."""

    spec_key: str
    resolver: str


@dataclass(frozen=True)
class ActionInfo:
    name: str
    command: str                     # e.g. "optical_inspection train -e {config_path}"
    image_key: str                   # versions.yaml key, e.g. images.tao_toolkit.pyt
    schema: str
    template: str
    results_subdir: str
    config_format: str = "yaml"
    data_sources: list[DataSource] = field(default_factory=list)
    spec_params: list[SpecParam] = field(default_factory=list)
    inputs: dict[str, dict] = field(default_factory=dict)
    outputs: dict[str, dict] = field(default_factory=dict)
    description: str = ""

    def argv(self, config_path: str) -> list[str]:
        """The container command line with the spec path filled in."""
        return [arg.replace(CONFIG_PLACEHOLDER, config_path) for arg in shlex.split(self.command)]

    @property
    def entrypoint(self) -> list[str]:
        """The command's arguments before `-e {config_path}`."""
        return shlex.split(self.command)[:-2]


@dataclass(frozen=True)
class SkillInfo:
    skill: str
    network: str                     # network_arch: the TAO network name
    automl_enabled: bool
    actions: dict[str, ActionInfo]
    skill_dir: Path
    data_format: str = ""
    monitoring_metric: str = ""      # what AutoML optimises by default
    description: str = ""

    @property
    def path(self) -> Path:
        return self.skill_dir / SKILL_INFO

    def action(self, name: str) -> ActionInfo:
        if name not in self.actions:
            raise UserError(f"unknown action '{name}' for {self.skill}", file=str(self.path),
                            field="actions", fix=f"use one of: {', '.join(self.actions)}")
        return self.actions[name]


_TOP_REQUIRED = ("skill", "network_arch", "automl_enabled", "actions")
_ACTION_REQUIRED = ("command", "config_format", "results_subdir")
_SHAPE_FIX = "see schemas/skill_info.schema.json for the shape"


def default_template(action: str) -> str:
    return f"references/spec_template_{action}.yaml"


def default_schema(action: str) -> str:
    return f"schemas/{action}.schema.json"


def image_key_for(ref: str) -> str | None:
    """versions.yaml key of a `container_image` value (a key under `images:`), None for a literal image."""
    if not ref or "/" in ref or ":" in ref:
        return None
    return f"images.{ref}"


def load_skill_info(skill_dir: str | Path) -> SkillInfo:
    """Parse references/skill_info.yaml; UserError naming the field on any shape problem.
    Parsed once per file version (path, mtime, size): one command reads it several times."""
    import copy

    path = Path(skill_dir) / SKILL_INFO
    try:
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        version = None
    return copy.deepcopy(_load_skill_info(str(Path(skill_dir)), version))


@functools.lru_cache(maxsize=16)
def _load_skill_info(skill_dir_text: str, _version) -> SkillInfo:
    from tao_skill_bank.safe_input import load_yaml_file

    skill_dir = Path(skill_dir_text)
    path = skill_dir / SKILL_INFO
    if not path.is_file():
        raise UserError("references/skill_info.yaml not found", file=str(path),
                        fix="pass --skill with a train or deploy skill (one that packages actions)",
                        exit_code=EXIT_ENVIRONMENT)
    raw = load_yaml_file(path, what="skill_info.yaml")
    if not isinstance(raw, dict):
        raise UserError("top level must be a mapping", file=str(path), fix="start with `skill:`")
    for key in _TOP_REQUIRED:
        if key not in raw:
            raise UserError("missing key", file=str(path), field=key, fix=_SHAPE_FIX)
    if not isinstance(raw["actions"], dict) or not raw["actions"]:
        raise UserError("must map action names to their settings", file=str(path), field="actions",
                        fix="add at least one action, e.g. `train:`")
    all_sources = raw.get("data_sources") or {}
    if not isinstance(all_sources, dict):
        raise UserError("must map action names to {spec_key: {source, path}}", file=str(path),
                        field="data_sources", fix=_SHAPE_FIX)
    for name in all_sources:
        if name not in raw["actions"]:
            raise UserError(f"data sources for an action that is not declared ('{name}')", file=str(path),
                            field=f"data_sources.{name}", fix=f"declare actions.{name} or remove the entry")
    model_image = raw.get("container_image") or ""
    actions = {name: _parse_action(path, name, body, model_image, all_sources.get(name))
               for name, body in raw["actions"].items()}
    return SkillInfo(skill=str(raw["skill"]), network=str(raw["network_arch"]),
                     automl_enabled=bool(raw["automl_enabled"]), actions=actions, skill_dir=skill_dir,
                     data_format=str(raw.get("data_format") or ""),
                     monitoring_metric=str(raw.get("monitoring_metric") or ""), description=str(raw.get("description") or ""))


def _parse_action(path: Path, name: str, body: Any, model_image: str, sources: Any) -> ActionInfo:
    where = f"actions.{name}"
    if not isinstance(body, dict):
        raise UserError("must be a mapping", file=str(path), field=where, fix=_SHAPE_FIX)
    for key in _ACTION_REQUIRED:
        if key not in body:
            fix = ("the AutoML runner writes TOML when it is absent: set `config_format: yaml`"
                   if key == "config_format" else _SHAPE_FIX)
            raise UserError("missing key", file=str(path), field=f"{where}.{key}", fix=fix)
    command = body["command"]
    try:
        tokens = shlex.split(command) if isinstance(command, str) else []
    except ValueError:
        tokens = []
    if len(tokens) < 3 or tokens[-2:] != ["-e", CONFIG_PLACEHOLDER]:
        raise UserError("must be the container command ending in `-e {config_path}`", file=str(path),
                        field=f"{where}.command", fix=f"e.g. `optical_inspection {name} -e {{config_path}}`")
    image_ref = str(body.get("container_image") or model_image)
    image_key = image_key_for(image_ref)
    if image_key is None:
        raise UserError(f"needs a versions.yaml image key, got '{image_ref}'", file=str(path),
                        field=f"{where}.container_image" if body.get("container_image") else "container_image",
                        fix="use a key under `images:` in versions.yaml, e.g. `container_image: tao_toolkit.pyt`")
    inputs, outputs = (_io_table(path, f"{where}.{key}", body.get(key)) for key in ("inputs", "outputs"))
    spec_params = []
    for i, item in enumerate(body.get("spec_params") or []):
        if not isinstance(item, dict) or "spec_key" not in item or "resolver" not in item:
            raise UserError("needs spec_key and resolver", file=str(path), field=f"{where}.spec_params[{i}]",
                            fix="e.g. {spec_key: results_dir, resolver: output_dir}")
        spec_params.append(SpecParam(spec_key=str(item["spec_key"]), resolver=str(item["resolver"])))
    return ActionInfo(name=name, command=command, image_key=image_key,
                      schema=str(body.get("schema") or default_schema(name)),
                      template=str(body.get("template") or default_template(name)),
                      results_subdir=str(body["results_subdir"]), config_format=str(body["config_format"]),
                      data_sources=_parse_sources(path, name, sources), spec_params=spec_params,
                      inputs=inputs, outputs=outputs, description=str(body.get("description") or ""))


def _io_table(path: Path, where: str, value: Any) -> dict[str, dict]:
    if value is None:
        return {}
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return {v: {} for v in value}
    if not isinstance(value, dict) or not all(isinstance(v, dict) or v is None for v in value.values()):
        raise UserError("must map spec keys to {type: file|folder, optional: bool}", file=str(path), field=where,
                        fix="e.g. `results_dir: {type: folder}`")
    return {str(k): dict(v or {}) for k, v in value.items()}


def _parse_sources(path: Path, action: str, sources: Any) -> list[DataSource]:
    if sources is None:
        return []
    where = f"data_sources.{action}"
    if not isinstance(sources, dict):
        raise UserError("must map spec keys to {source, path}", file=str(path), field=where, fix=_SHAPE_FIX)
    parsed = []
    for spec_key, rule in sources.items():
        field_name = f"{where}.{spec_key}"
        if not isinstance(rule, dict) or rule.get("source") not in TAO_SOURCES:
            raise UserError("needs a source", file=str(path), field=field_name,
                            fix=f"source is one of: {', '.join(TAO_SOURCES)}")
        only_if = rule.get("only_if")
        if only_if is not None and "=" not in str(only_if):
            raise UserError("must read `dotted.key=value`", file=str(path), field=f"{field_name}.only_if",
                            fix="e.g. gen_trt_engine.tensorrt.data_type=int8")
        transform = rule.get("transform")
        if transform not in (None, WRAP_IN_LIST):
            raise UserError(f"unknown transform '{transform}'", file=str(path), field=f"{field_name}.transform",
                            fix=f"use `transform: {WRAP_IN_LIST}` or drop it")
        parsed.append(DataSource(spec_key=str(spec_key), source=TAO_SOURCES[rule["source"]],
                                 file=rule.get("path"), required=bool(rule.get("required", True)),
                                 list=transform == WRAP_IN_LIST,
                                 only_if=str(only_if) if only_if is not None else None))
    return parsed


def resolve_skill_dir(skill: str, bank: str | None = None) -> Path:
    """`--skill` is a skill name in the bank, or a path to a skill folder (a copied skill)."""
    from tao_skill_bank.bank import skill_dir

    candidate = Path(skill).expanduser()
    if ("/" in skill or skill.startswith(".")) and (candidate / "SKILL.md").is_file():
        return candidate.resolve()
    return skill_dir(skill, bank)

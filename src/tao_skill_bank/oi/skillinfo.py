"""references/skill_info.yaml of a train or deploy skill: which container, entrypoint, schema,
template and inputs each packaged action uses.

One loader for every consumer (spec build/validate, AutoML routing, container runs). The shape
is also described by schemas/skill_info.schema.json at the bank root; the checks here are the
ones a copied skill folder needs without the bank (clear errors naming the field).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tao_skill_bank.errors import EXIT_ENVIRONMENT, UserError

SKILL_INFO = Path("references") / "skill_info.yaml"
# skill_info `source` name -> the `spec build` flag that provides it.
SOURCE_FLAGS: dict[str, str] = {
    "train_data": "--train-data",
    "eval_data": "--eval-data",
    "infer_data": "--infer-data",
    "calibration_data": "--calibration-data",
}


@dataclass(frozen=True)
class DataSource:
    """A spec key filled from a dataset split (`--train-data` etc.)."""

    spec_key: str
    source: str
    file: str | None = None          # file inside the split; None = the split folder itself
    required: bool = True
    list: bool = False               # the spec key holds a list of paths
    only_if: str | None = None       # "dotted.key=value": required only when the spec says so

    @property
    def flag(self) -> str:
        return SOURCE_FLAGS[self.source]


@dataclass(frozen=True)
class SpecParam:
    """A spec key the platform fills (results_dir, parent checkpoints, output file names)."""

    spec_key: str
    resolver: str


@dataclass(frozen=True)
class ActionInfo:
    name: str
    image_key: str
    entrypoint: list[str]
    schema: str
    template: str
    results_subdir: str
    data_sources: list[DataSource] = field(default_factory=list)
    spec_params: list[SpecParam] = field(default_factory=list)
    description: str = ""


@dataclass(frozen=True)
class SkillInfo:
    skill: str
    network: str
    automl_enabled: bool
    actions: dict[str, ActionInfo]
    skill_dir: Path
    description: str = ""

    @property
    def path(self) -> Path:
        return self.skill_dir / SKILL_INFO

    def action(self, name: str) -> ActionInfo:
        if name not in self.actions:
            raise UserError(f"unknown action '{name}' for {self.skill}", file=str(self.path),
                            field="actions", fix=f"use one of: {', '.join(self.actions)}")
        return self.actions[name]


_ACTION_REQUIRED = ("image_key", "entrypoint", "schema", "template", "results_subdir")


def load_skill_info(skill_dir: str | Path) -> SkillInfo:
    """Parse references/skill_info.yaml; UserError naming the field on any shape problem."""
    import yaml

    skill_dir = Path(skill_dir)
    path = skill_dir / SKILL_INFO
    if not path.is_file():
        raise UserError("references/skill_info.yaml not found", file=str(path),
                        fix="pass --skill with a train or deploy skill (one that packages actions)",
                        exit_code=EXIT_ENVIRONMENT)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UserError(f"not valid YAML ({str(exc).splitlines()[0]})", file=str(path),
                        fix="repair the YAML syntax")
    if not isinstance(raw, dict):
        raise UserError("top level must be a mapping", file=str(path), fix="start with `skill:`")
    for key in ("skill", "network", "automl_enabled", "actions"):
        if key not in raw:
            raise UserError("missing key", file=str(path), field=key,
                            fix="see schemas/skill_info.schema.json for the shape")
    if not isinstance(raw["actions"], dict) or not raw["actions"]:
        raise UserError("must map action names to their settings", file=str(path), field="actions",
                        fix="add at least one action, e.g. `train:`")
    actions = {name: _parse_action(path, name, body) for name, body in raw["actions"].items()}
    return SkillInfo(skill=str(raw["skill"]), network=str(raw["network"]),
                     automl_enabled=bool(raw["automl_enabled"]), actions=actions,
                     skill_dir=skill_dir, description=str(raw.get("description") or ""))


def _parse_action(path: Path, name: str, body: Any) -> ActionInfo:
    where = f"actions.{name}"
    if not isinstance(body, dict):
        raise UserError("must be a mapping", file=str(path), field=where, fix="see schemas/skill_info.schema.json")
    for key in _ACTION_REQUIRED:
        if key not in body:
            raise UserError("missing key", file=str(path), field=f"{where}.{key}",
                            fix="see schemas/skill_info.schema.json for the shape")
    entrypoint = body["entrypoint"]
    if not isinstance(entrypoint, list) or not all(isinstance(a, str) for a in entrypoint):
        raise UserError("must be a list of strings", file=str(path), field=f"{where}.entrypoint",
                        fix="e.g. [optical_inspection, train]")
    data_sources = []
    for i, item in enumerate(body.get("data_sources") or []):
        field_name = f"{where}.data_sources[{i}]"
        if not isinstance(item, dict) or "spec_key" not in item or item.get("source") not in SOURCE_FLAGS:
            raise UserError("needs spec_key and a source", file=str(path), field=field_name,
                            fix=f"source is one of: {', '.join(SOURCE_FLAGS)}")
        only_if = item.get("only_if")
        if only_if is not None and "=" not in str(only_if):
            raise UserError("must read `dotted.key=value`", file=str(path), field=f"{field_name}.only_if",
                            fix="e.g. gen_trt_engine.tensorrt.data_type=int8")
        data_sources.append(DataSource(spec_key=str(item["spec_key"]), source=item["source"],
                                       file=item.get("file"), required=bool(item.get("required", True)),
                                       list=bool(item.get("list", False)),
                                       only_if=str(only_if) if only_if is not None else None))
    spec_params = []
    for i, item in enumerate(body.get("spec_params") or []):
        if not isinstance(item, dict) or "spec_key" not in item or "resolver" not in item:
            raise UserError("needs spec_key and resolver", file=str(path), field=f"{where}.spec_params[{i}]",
                            fix="e.g. {spec_key: results_dir, resolver: output_dir}")
        spec_params.append(SpecParam(spec_key=str(item["spec_key"]), resolver=str(item["resolver"])))
    return ActionInfo(name=name, image_key=str(body["image_key"]), entrypoint=list(entrypoint),
                      schema=str(body["schema"]), template=str(body["template"]),
                      results_subdir=str(body["results_subdir"]), data_sources=data_sources,
                      spec_params=spec_params, description=str(body.get("description") or ""))


def resolve_skill_dir(skill: str, bank: str | None = None) -> Path:
    """`--skill` is a skill name in the bank, or a path to a skill folder (a copied skill)."""
    from tao_skill_bank.bank import skill_dir

    candidate = Path(skill).expanduser()
    if ("/" in skill or skill.startswith(".")) and (candidate / "SKILL.md").is_file():
        return candidate.resolve()
    return skill_dir(skill, bank)

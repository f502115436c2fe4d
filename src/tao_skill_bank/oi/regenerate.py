"""Maintainer regeneration of the generated skill files: TAO-format schemas, spec templates and
schemas/manifest.json, from the public nvidia-tao-core wheel in an isolated venv.

World part: `generate_raw` runs `generate_schema(network, action)` in the venv's python (a
subprocess; the wheel never enters our process). Pure part: `canonical_schema` makes the output
deterministic, `planned_files` renders every file as bytes. `regenerate` writes, `check` compares.
"""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tao_skill_bank.errors import EXIT_ENVIRONMENT, UserError
from tao_skill_bank.oi.experiment_config import CONFIG_FILE

NETWORK = "optical_inspection"
TAO_CORE_PACKAGE = "nvidia-tao-core"
TAO_DEPLOY_PACKAGE = "nvidia-tao-deploy"
VENV_NAME = "schema-tao-core"
MANIFEST = "schemas/manifest.json"
GENERATOR_COMMAND = "tao-skills schemas regenerate"


@dataclass(frozen=True)
class GeneratedAction:
    skill: str
    action: str
    schema: str       # relative to the skill folder
    template: str


# Which files regeneration owns. Anything else in a manifest (e.g. the deploy skill's
# hand-written TensorRT evaluate/inference schemas) is kept as it is.
GENERATED: list[GeneratedAction] = [
    GeneratedAction("tao-train-optical-inspection", action, f"schemas/{action}.schema.json",
                    f"references/spec_template_{action}.yaml")
    for action in ("train", "evaluate", "inference", "export")
] + [
    GeneratedAction("tao-deploy-optical-inspection", "gen_trt_engine", "schemas/gen_trt_engine.schema.json",
                    "references/spec_template_deploy_gen_trt_engine.yaml"),
]

# The ExperimentConfig each skill's container merges specs into (oi/experiment_config.py):
# skill -> (wheel, module). Written to <skill>/schemas/experiment_config.json.
CONFIG_SOURCES: dict[str, tuple[str, str]] = {
    "tao-train-optical-inspection": (TAO_CORE_PACKAGE, "nvidia_tao_core.config.optical_inspection.default_config"),
    "tao-deploy-optical-inspection": (TAO_DEPLOY_PACKAGE, "nvidia_tao_deploy.config.optical_inspection.default_config"),
}

# Node keys whose list values the generator builds from Python sets (order changes with
# PYTHONHASHSEED); found by generating under different hash seeds. Sorted before writing.
SET_DERIVED_LISTS = ("automl_default_parameters", "automl_disabled_parameters", "popular")
# Root keys whose nested mappings come from sets too: their keys are sorted recursively.
SET_DERIVED_MAPPINGS = ("popular",)

# Runs inside the isolated venv: one JSON object {action: schema} on stdout. Python's json
# writes Infinity for unbounded maxima and reads it back.
_DRIVER = r"""
import contextlib, json, sys
from nvidia_tao_core.scripts.generate_schema import generate_schema
network, actions = sys.argv[1], sys.argv[2:]
with contextlib.redirect_stdout(sys.stderr):
    out = {action: generate_schema(network, action) for action in actions}
sys.stdout.write(json.dumps(out))
"""

# Runs inside the isolated venv: the ExperimentConfig dataclass tree each container merges specs
# into, as data (see oi/experiment_config.py for the node shapes). One JSON object {module: root}.
_CONFIG_DRIVER = r"""
import dataclasses, enum, importlib, json, sys
from omegaconf import DictConfig, ListConfig, OmegaConf

SCALAR = {"IntegerNode": "int", "FloatNode": "float", "BooleanNode": "bool", "StringNode": "str", "AnyNode": "any"}
TYPES = {int: "int", float: "float", bool: "bool", str: "str"}

def type_name(t):
    if t in TYPES:
        return TYPES[t]
    if t is None or getattr(t, "__name__", "") == "Any" or str(t) == "typing.Any":
        return "any"
    raise SystemExit(f"unsupported element type {t!r}")

def plain(value):
    return value.name if isinstance(value, enum.Enum) else value

def describe(node):
    optional = node._is_optional()
    md = node._metadata
    if isinstance(node, DictConfig):
        cls = md.object_type if dataclasses.is_dataclass(md.object_type) else md.ref_type
        if dataclasses.is_dataclass(cls):
            fields = {}
            if not node._is_none():
                fields = {k: describe(node._get_node(k)) for k in node.keys()}
            return {"type": "struct", "optional": optional, "fields": fields}
        default = None if node._is_none() else ("???" if node._is_missing() else OmegaConf.to_container(node))
        return {"type": "dict", "optional": optional, "key": type_name(md.key_type),
                "value": type_name(md.element_type), "default": default}
    if isinstance(node, ListConfig):
        default = None if node._is_none() else ("???" if node._is_missing() else OmegaConf.to_container(node))
        return {"type": "list", "optional": optional, "item": type_name(md.element_type), "default": default}
    kind = type(node).__name__
    if kind not in SCALAR:
        raise SystemExit(f"unsupported config node {kind}")
    value = node._value()
    return {"type": SCALAR[kind], "optional": optional, "default": plain(value)}

out = {name: describe(OmegaConf.structured(importlib.import_module(name).ExperimentConfig)) for name in sys.argv[1:]}
sys.stdout.write(json.dumps(out))
"""


def tao_core_version(bank_root: Path) -> str:
    """The release the schemas come from: versions.yaml `tao_version` (one release everywhere)."""
    from tao_skill_bank.versions import VERSIONS_FILE, load_versions, tao_release

    return tao_release(load_versions(bank_root), str(bank_root / VERSIONS_FILE))


def venv_steps(version: str) -> list[list[str]]:
    # --no-deps: the wheels declare a large dependency list; schema generation and reading the
    # config dataclasses need only these. nvidia-tao-deploy holds the Deploy image's config.
    return [["--no-deps", f"{TAO_CORE_PACKAGE}=={version}", f"{TAO_DEPLOY_PACKAGE}=={version}"],
            ["omegaconf==2.3.0", "pyyaml", "requests"]]


def schema_python(bank_root: Path, cache_root: Path | None = None) -> Path:
    from tao_skill_bank.venvs import ensure_venv

    return ensure_venv(VENV_NAME, venv_steps(tao_core_version(bank_root)), cache_root=cache_root)


def generate_raw(python: Path, actions: list[str], *, env: dict | None = None,
                 timeout: float = 600.0) -> dict[str, dict]:
    """{action: TAO schema} exactly as the wheel generates it."""
    return _run_driver(python, _DRIVER, [NETWORK, *actions], env=env, timeout=timeout)


def config_trees(python: Path, modules: list[str], *, timeout: float = 600.0) -> dict[str, dict]:
    """{module: root node} of each module's ExperimentConfig, read through OmegaConf in the venv."""
    return _run_driver(python, _CONFIG_DRIVER, modules, timeout=timeout)


def _run_driver(python: Path, driver: str, argv: list[str], *, env: dict | None = None,
                timeout: float = 600.0) -> dict:
    import os

    try:
        proc = subprocess.run([str(python), "-c", driver, *argv], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=timeout,
                              env={**os.environ, **(env or {})})
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UserError(f"schema generator did not run ({type(exc).__name__})", file=str(python),
                        fix="delete the schema venv under the cache folder and rerun", exit_code=EXIT_ENVIRONMENT)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"schema generator failed: {last}", file=str(python),
                        fix="check tao_version in versions.yaml", exit_code=EXIT_ENVIRONMENT)
    return json.loads(proc.stdout)


def render_config_tree(skill: str, root: dict, version: str) -> str:
    package, module = CONFIG_SOURCES[skill]
    data = {"generated_by": GENERATOR_COMMAND, "source": f"{package}=={version}",
            "config": f"{module}.ExperimentConfig",
            "about": "the dataclass tree this skill's container merges every spec into "
                     "(types, Optional, runtime defaults); read by tao-skills spec validate/build",
            "root": root}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def canonical_schema(schema: dict) -> dict:
    """The schema with every set-derived list sorted and set-derived mappings key-sorted;
    nothing else changes (TAO AutoML reads this file)."""
    out = copy.deepcopy(schema)
    _sort_node(out)
    for key in SET_DERIVED_MAPPINGS:
        if isinstance(out.get(key), dict):
            out[key] = _sorted_mapping(out[key])
    return out


def _sort_node(node: dict) -> None:
    for key in SET_DERIVED_LISTS:
        value = node.get(key)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            node[key] = sorted(value)
    for child in (node.get("properties") or {}).values():
        if isinstance(child, dict):
            _sort_node(child)


def _sorted_mapping(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted_mapping(value[k]) for k in sorted(value)}
    return value


def render_schema(schema: dict) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def render_template(template: dict, item: GeneratedAction, version: str, applied: list[str]) -> str:
    import yaml

    import textwrap

    overrides = "Template overrides (docs/schemas.md): " + (", ".join(applied) if applied else "none") + "."
    header = [
        f"# Spec template: {NETWORK} {item.action} ({item.skill}).",
        f"# Generated by `{GENERATOR_COMMAND}` from the {TAO_CORE_PACKAGE} {version} schema default;",
        "# do not edit by hand.",
        *textwrap.wrap(overrides, width=98, initial_indent="# ", subsequent_indent="#   "),
        "# `???` marks values to fill: `tao-skills spec build` fills them and validates the result.",
    ]
    body = yaml.safe_dump(template, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100)
    return "\n".join(header) + "\n" + body


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def selected(skill: str | None) -> list[GeneratedAction]:
    if skill is None:
        return list(GENERATED)
    items = [g for g in GENERATED if g.skill == skill]
    if not items:
        known = sorted({g.skill for g in GENERATED})
        raise UserError(f"skill '{skill}' has no generated schemas", field="--skill",
                        fix=f"use one of: {', '.join(known)}")
    return items


def planned_files(bank_root: Path, items: list[GeneratedAction], raw: dict[str, dict],
                  version: str, trees: dict[str, dict] | None = None) -> dict[str, str]:
    """{path relative to the bank root: text} for every generated file, manifests included."""
    from tao_skill_bank.oi.overrides import apply_template_decisions

    files: dict[str, str] = {}
    manifest_entries: dict[str, dict[str, dict]] = {}
    for item in items:
        schema = canonical_schema(raw[item.action])
        schema_text = render_schema(schema)
        template, applied = apply_template_decisions(schema.get("default") or {},
                                                     source=f"{item.action} schema default")
        template_text = render_template(template, item, version, applied)
        base = f"skills/{item.skill}"
        files[f"{base}/{item.schema}"] = schema_text
        files[f"{base}/{item.template}"] = template_text
        manifest_entries.setdefault(item.skill, {})[item.action] = {
            "schema": item.schema, "template": item.template, "format": "tao",
            "generated_by": GENERATOR_COMMAND, "source": f"{TAO_CORE_PACKAGE}=={version}",
            "schema_sha256": _sha256(schema_text), "template_sha256": _sha256(template_text),
            "template_overrides": applied,
        }
    config_entries: dict[str, dict] = {}
    for skill, root in (trees or {}).items():
        text = render_config_tree(skill, root, version)
        files[f"skills/{skill}/{CONFIG_FILE}"] = text
        config_entries[skill] = {"file": CONFIG_FILE, "generated_by": GENERATOR_COMMAND,
                                 "source": f"{CONFIG_SOURCES[skill][0]}=={version}", "sha256": _sha256(text)}
    for skill, entries in manifest_entries.items():
        files[f"skills/{skill}/{MANIFEST}"] = render_manifest(bank_root / "skills" / skill / MANIFEST,
                                                              skill, entries, config_entries.get(skill))
    return files


def render_manifest(existing_path: Path, skill: str, generated: dict[str, dict],
                    experiment_config: dict | None = None) -> str:
    """Merge generated entries into the skill's manifest, keeping hand-written entries."""
    actions: dict[str, dict] = {}
    if existing_path.is_file():
        try:
            existing = json.loads(existing_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise UserError(f"not valid JSON ({exc.msg})", file=str(existing_path),
                            fix="repair it or delete it and rerun regenerate")
        for name, entry in (existing.get("actions") or {}).items():
            if isinstance(entry, dict) and entry.get("generated_by") != GENERATOR_COMMAND:
                actions[name] = entry
    actions.update(generated)
    manifest = {"skill": skill, "network": NETWORK,
                "actions": {name: actions[name] for name in sorted(actions)}}
    if experiment_config is not None:
        manifest["experiment_config"] = experiment_config
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


@dataclass
class RegenerateResult:
    written: list[str]
    unchanged: list[str]
    drifted: list[str]

    def as_dict(self) -> dict:
        return {"written": self.written, "unchanged": self.unchanged, "drifted": self.drifted}


def _plan(bank_root: Path, skill: str | None, cache_root: Path | None) -> dict[str, str]:
    items = selected(skill)
    version = tao_core_version(bank_root)
    python = schema_python(bank_root, cache_root)
    raw = generate_raw(python, sorted({i.action for i in items}))
    skills = sorted({i.skill for i in items if i.skill in CONFIG_SOURCES})
    modules = config_trees(python, [CONFIG_SOURCES[s][1] for s in skills])
    trees = {s: modules[CONFIG_SOURCES[s][1]] for s in skills}
    return planned_files(bank_root, items, raw, version, trees)


def regenerate(bank_root: Path, skill: str | None = None, cache_root: Path | None = None) -> RegenerateResult:
    """Write every generated file whose bytes changed (atomic writes; others untouched)."""
    from tao_skill_bank.fsutil import atomic_write_text

    files = _plan(bank_root, skill, cache_root)
    written, unchanged = [], []
    for rel, text in files.items():
        path = bank_root / rel
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            unchanged.append(rel)
        else:
            atomic_write_text(path, text)
            written.append(rel)
    return RegenerateResult(written=written, unchanged=unchanged, drifted=[])


def check(bank_root: Path, skill: str | None = None, cache_root: Path | None = None) -> RegenerateResult:
    """Regenerate into a temporary folder and list the bank files that differ or are missing."""
    files = _plan(bank_root, skill, cache_root)
    drifted, unchanged = [], []
    with tempfile.TemporaryDirectory(prefix="tao-schemas-check-") as tmp:
        for rel, text in files.items():
            fresh = Path(tmp) / rel
            fresh.parent.mkdir(parents=True, exist_ok=True)
            fresh.write_text(text, encoding="utf-8")
            current = bank_root / rel
            if current.is_file() and current.read_bytes() == fresh.read_bytes():
                unchanged.append(rel)
            else:
                drifted.append(rel)
    return RegenerateResult(written=[], unchanged=unchanged, drifted=drifted)

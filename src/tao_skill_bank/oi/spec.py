"""Spec validation and building for the optical inspection train and deploy skills.

`validate_spec` checks a spec against the skill's TAO schema (translated to JSON Schema 2020-12)
plus the skill's semantic rules and reports every problem as dotted path + expected vs got.
`build_spec` assembles a runnable spec: template, mandatory data sources, `--set` overrides,
platform-filled parameters, then validation in submit mode. Both are pure over dicts except for
reading the skill's files and, for local data sources, looking at the split folders.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tao_skill_bank import safe_input
from tao_skill_bank.errors import EXIT_ENVIRONMENT, UserError
from tao_skill_bank.suggest import did_you_mean
from tao_skill_bank.oi.specdoc import (PLACEHOLDER, URI_PREFIXES, SpecInvalid, SpecIssue, describe_value, get_dotted,
                                       load_yaml_file, set_dotted)

TARBALL = "images.tar.gz"
_ABSENT = object()


# ---------------------------------------------------------------- skill files

def load_tao_schema(skill_dir: Path, action: str) -> dict:
    from tao_skill_bank.oi.skillinfo import load_skill_info

    info = load_skill_info(skill_dir)
    path = Path(skill_dir) / info.action(action).schema
    return _read_schema(str(path), path.stat().st_mtime_ns if path.is_file() else 0)


@functools.lru_cache(maxsize=32)
def _read_schema(path: str, _mtime: int) -> dict:
    if not Path(path).is_file():
        raise UserError("schema not found", file=path,
                        fix="run `tao-skills schemas regenerate` (maintainers) or reinstall the skill")
    try:
        return safe_input.load_json_file(path, what="schema")   # Python json reads Infinity
    except UserError as err:
        raise UserError(err.message, file=path, fix="run `tao-skills schemas regenerate`") from None


def json_schema_for(skill_dir: Path, action: str, mode: str) -> dict:
    from tao_skill_bank.oi.jsonschema_translate import to_json_schema

    return to_json_schema(load_tao_schema(skill_dir, action), mode)


# ---------------------------------------------------------------- validation

def validate_spec(spec: dict, skill_dir: str | Path, action: str, mode: str = "submit") -> list[SpecIssue]:
    """Every schema problem and semantic-rule finding, sorted by path."""
    import jsonschema

    from tao_skill_bank.oi import rules
    from tao_skill_bank.oi.skillinfo import load_skill_info

    skill_dir = Path(skill_dir)
    info = load_skill_info(skill_dir)
    act = info.action(action)
    if not isinstance(spec, dict):
        return [SpecIssue("(root)", "a mapping", describe_value(spec), "a spec is a YAML mapping of sections")]
    schema = json_schema_for(skill_dir, action, mode)
    validator = jsonschema.Draft202012Validator(schema)
    hints = _fill_hints(act)
    issues: list[SpecIssue] = []
    for error in validator.iter_errors(spec):
        issues.extend(_issues_from_error(error, hints))
    issues.extend(rules.check(info.skill, action, spec))
    return sorted(issues, key=lambda i: i.path)


def _fill_hints(act) -> dict[str, str]:
    """How to fill each key the skill knows about, for `???` messages."""
    hints = {ds.spec_key: f"pass {ds.flag} SPLIT_DIR|URI to `tao-skills spec build`" for ds in act.data_sources}
    for param in act.spec_params:
        source = "--parent-job PARENT_JOB_DIR" if param.resolver.startswith("parent") else "--job-dir JOB_DIR"
        hints.setdefault(param.spec_key, f"pass {source} to `tao-skills spec build`, or --set {param.spec_key}=VALUE")
    return hints


def _format_path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def _issues_from_error(error, hints: dict[str, str]) -> list[SpecIssue]:
    path = _format_path(error.absolute_path)
    if error.validator == "additionalProperties":
        known = list((error.schema.get("properties") or {}).keys())
        issues = []
        for key in sorted(k for k in error.instance if k not in known):
            full = f"{path}.{key}" if path != "(root)" else key
            near = did_you_mean(key, known, limit=1)
            hint = f"did you mean '{near[0]}'?" if near else f"valid keys here: {', '.join(known[:12])}"
            issues.append(SpecIssue(full, f"a key of {path if path != '(root)' else 'the spec'}", "unknown key",
                                    hint))
        return issues
    if error.instance == PLACEHOLDER:
        fix = hints.get(path, f"--set {path}=VALUE")
        expected = _describe_schema({k: v for k, v in error.schema.items() if k != "not"})
        return [SpecIssue(path, f"{expected} (a real value)", repr(PLACEHOLDER), f"still the template placeholder — {fix}")]
    if error.validator == "anyOf" and error.instance is not None:
        # The first alternative is the real type; the others are null / the placeholder.
        base = [e for e in error.context if e.relative_schema_path and e.relative_schema_path[0] == 0]
        if base:
            return [issue for e in base for issue in _issues_from_error(e, hints)]
    expected = _describe_schema(error.schema if error.validator in ("anyOf", "not") else
                                {k: v for k, v in error.schema.items() if k not in ("anyOf",)})
    return [SpecIssue(path, expected, describe_value(error.instance), _short_message(error))]


def _short_message(error) -> str:
    messages = {"type": "wrong type", "enum": "not an allowed value", "minimum": "below the minimum",
                "maximum": "above the maximum", "anyOf": "does not match the allowed forms",
                "minItems": "too few items", "maxItems": "too many items", "const": "wrong value"}
    return messages.get(error.validator, error.message.splitlines()[0][:120])


def _describe_schema(schema: dict) -> str:
    if "anyOf" in schema:
        return " or ".join(_describe_schema(s) for s in schema["anyOf"])
    if "const" in schema:
        return repr(schema["const"])
    parts = []
    if "enum" in schema:
        parts.append("one of " + ", ".join(map(str, schema["enum"])))
    elif "type" in schema:
        kind = schema["type"]
        if kind == "array" and isinstance(schema.get("items"), dict) and "type" in schema["items"]:
            kind = f"array of {schema['items']['type']}"
        if kind == "array" and schema.get("minItems") is not None and schema.get("minItems") == schema.get("maxItems"):
            kind += f" with {schema['minItems']} items"
        parts.append(kind)
    if "minimum" in schema:
        parts.append(f">= {schema['minimum']}")
    if "maximum" in schema:
        parts.append(f"<= {schema['maximum']}")
    return " ".join(parts) or "a value"


# ---------------------------------------------------------------- building

@dataclass
class SpecBuild:
    spec: dict
    data: dict[str, Any] = field(default_factory=dict)        # spec key -> value from a data source
    overrides: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)      # spec key -> platform-filled value
    pruned: list[str] = field(default_factory=list)           # placeholders the action never reads


def resolve_data_value(value: str, file: str | None, flag: str) -> str:
    """The spec value for one data source: `<uri>/<file>` for URIs; for a local split, the
    extracted images folder (images.tar.gz) or `<split>/<file>`, which must exist."""
    if value.startswith(URI_PREFIXES):
        return f"{value.rstrip('/')}/{file}" if file else value
    split = Path(value).expanduser().resolve()
    if not split.is_dir():
        raise UserError("split folder not found", file=str(split), field=flag,
                        fix=f"pass the extracted split folder (holding dataset.csv and the images) or an s3:// URI to {flag}", exit_code=EXIT_ENVIRONMENT)
    if file is None:
        return str(split)
    if file == TARBALL:
        from tao_skill_bank.oi.datasets import find_images_dir

        return str(find_images_dir(split))
    target = split / file
    if not target.exists():
        raise UserError(f"{file} not found in the split folder", file=str(target), field=flag,
                        fix=f"check the folder with `tao-skills dataset check {split}`", exit_code=EXIT_ENVIRONMENT)
    return str(target)


def _condition_holds(spec: dict, condition: str | None) -> bool:
    if condition is None:
        return True
    key, _, wanted = condition.partition("=")
    return str(get_dotted(spec, key.strip(), "")).strip().lower() == wanted.strip().lower()


def _is_unset(value: Any) -> bool:
    return value is None or value == PLACEHOLDER or value == "" or value == [] or value == [PLACEHOLDER]


def build_spec_report(skill_dir: str | Path, action: str, *, data: dict[str, str],
                      overrides: dict[str, Any], parent_job: Path | None = None,
                      job_dir: Path | None = None) -> SpecBuild:
    from tao_skill_bank.oi.skillinfo import SOURCE_FLAGS, load_skill_info

    skill_dir = Path(skill_dir)
    info = load_skill_info(skill_dir)
    act = info.action(action)
    data = {k.lstrip("-").replace("-", "_"): v for k, v in data.items() if v}
    used_sources = {ds.source for ds in act.data_sources}
    for source in data:
        if source not in used_sources:
            flag = SOURCE_FLAGS.get(source, source)
            wanted = ", ".join(SOURCE_FLAGS[s] for s in sorted(used_sources)) or "no data flags"
            raise UserError(f"{action} does not read {flag}", field=flag,
                            fix=f"drop {flag}; {info.skill} {action} takes {wanted}")
    spec = copy.deepcopy(load_yaml_file(skill_dir / act.template, "template"))
    build = SpecBuild(spec=spec, overrides=dict(overrides))

    for ds in act.data_sources:
        if ds.source in data:
            value = resolve_data_value(data[ds.source], ds.file, ds.flag)
            build.data[ds.spec_key] = [value] if ds.list else value
            set_dotted(spec, ds.spec_key, build.data[ds.spec_key])
    for key, value in overrides.items():
        set_dotted(spec, key, value)
    inactive_blocks = []
    for ds in act.data_sources:
        active = ds.required and _condition_holds(spec, ds.only_if)
        if active and ds.source not in data and _is_unset(get_dotted(spec, ds.spec_key)):
            raise UserError(f"{info.skill} {action} needs {ds.source} for {ds.spec_key}", field=ds.spec_key,
                            fix=f"add {ds.flag} SPLIT_DIR|URI (a split with dataset.csv and images.tar.gz "
                                f"or its extracted images)")
        if not active and ds.source not in data:
            inactive_blocks.append(ds.spec_key.rsplit(".", 1)[0])

    if parent_job is not None or job_dir is not None:
        from tao_skill_bank.oi.params import apply_spec_params

        before = {p.spec_key: get_dotted(spec, p.spec_key, _ABSENT) for p in act.spec_params}
        spec = apply_spec_params(spec, info, action, parent_job=parent_job, job_dir=job_dir)
        build.spec = spec
        build.params = {k: get_dotted(spec, k) for k, v in before.items() if get_dotted(spec, k, _ABSENT) != v}

    needed = {ds.spec_key for ds in act.data_sources} | {p.spec_key for p in act.spec_params}
    build.pruned = prune_placeholders(spec, keep_prefix=f"{action}.", keep=needed, drop_prefixes=inactive_blocks)
    issues = validate_spec(spec, skill_dir, action, mode="submit")
    if issues:
        raise SpecInvalid(issues, file=str(skill_dir / act.template))
    return build


def build_spec(skill_dir, action, *, data: dict[str, str], overrides: dict[str, Any],
               parent_job: Path | None = None, job_dir: Path | None = None) -> dict:
    """Template + data sources + overrides + platform params, validated in submit mode."""
    return build_spec_report(skill_dir, action, data=data, overrides=overrides,
                             parent_job=parent_job, job_dir=job_dir).spec


def prune_placeholders(spec: dict, *, keep_prefix: str, keep: set[str], drop_prefixes: list[str]) -> list[str]:
    """Remove `???` leaves the action never reads (other actions' dataset splits, ...), so the
    container falls back to its own defaults for them. Kept: the action's own block and the
    keys skill_info names, except inside the block of an optional data source not in use
    (e.g. int8 calibration of an fp16 engine). Returns the removed keys."""
    removed: list[str] = []

    def needed(key: str) -> bool:
        if any(key == p or key.startswith(p + ".") for p in drop_prefixes):
            return False
        return key in keep or key.startswith(keep_prefix)

    def walk(node: dict, prefix: str) -> None:
        for name in list(node):
            key = f"{prefix}{name}"
            value = node[name]
            if isinstance(value, dict):
                walk(value, key + ".")
            elif (value == PLACEHOLDER or value == [PLACEHOLDER]) and not needed(key):
                del node[name]
                removed.append(key)

    walk(spec, "")
    return removed

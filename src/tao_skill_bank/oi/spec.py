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


# ---------------------------------------------------------------- validation

def validate_spec(spec: dict, skill_dir: str | Path, action: str, mode: str = "submit") -> list[SpecIssue]:
    """Every reason the container would refuse the spec or fail on it, sorted by path:
    - the merge into the container's ExperimentConfig (oi/experiment_config.py): unknown keys,
      types as the merge converts them, null only for Optional fields;
    - submit mode: `???` placeholders still to fill, and the runtime rules (oi/runtime_rules.py)
      judged on the config the container runs with, local split sizes included;
    - the skill's own rules (oi/rules.py, oi/deploy_rules.py)."""
    from tao_skill_bank.oi import rules
    from tao_skill_bank.oi.experiment_config import load_config_tree, merge_issues
    from tao_skill_bank.oi.skillinfo import load_skill_info

    skill_dir = Path(skill_dir)
    info = load_skill_info(skill_dir)
    act = info.action(action)
    if not isinstance(spec, dict):
        return [SpecIssue("(root)", "a mapping", describe_value(spec), "a spec is a YAML mapping of sections")]
    tree = load_config_tree(skill_dir)
    issues = merge_issues(spec, tree)
    if mode == "submit":
        issues.extend(placeholder_issues(spec, _fill_hints(act)))
        issues.extend(_runtime_issues(spec, tree, act))
    issues.extend(rules.check(info.skill, action, spec))
    return sorted(issues, key=lambda i: i.path)


def _runtime_issues(spec: dict, tree: dict, act) -> list[SpecIssue]:
    from tao_skill_bank.oi import runtime_rules
    from tao_skill_bank.oi.experiment_config import merged_config

    image = runtime_rules.DEPLOY if act.image_key.endswith(".deploy") else runtime_rules.PYT
    ctx = runtime_rules.RuleContext(act.name, image, spec)
    cfg = merged_config(spec, tree)
    return runtime_rules.check(ctx, cfg) + runtime_rules.split_rules(ctx, cfg, local_split_sizes(ctx, cfg))


def local_split_sizes(ctx, cfg: dict) -> list:
    """Rows and defect rows of each split the action reads from a local CSV, counted the way TAO's
    loader counts them (oi.datasets.count_split); URIs and missing files are skipped."""
    from tao_skill_bank.oi import runtime_rules
    from tao_skill_bank.oi.datasets import count_split

    sizes = []
    for split in runtime_rules.READ_SPLITS.get((ctx.image, ctx.action), ()):
        key = f"dataset.{split}.csv_path"
        value = get_dotted(cfg, key)
        if not isinstance(value, str) or value == PLACEHOLDER:
            continue
        counts = count_split(value)
        if counts is not None:
            sizes.append(runtime_rules.SplitSize(key, counts.rows, counts.defect_rows))
    return sizes


def placeholder_issues(spec: dict, hints: dict[str, str]) -> list[SpecIssue]:
    """`???` values (OmegaConf's MISSING) still in a spec about to run, with how to fill each."""
    issues = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key))
        elif node == PLACEHOLDER or (isinstance(node, list) and PLACEHOLDER in node):
            fix = hints.get(path, f"--set {path}=VALUE")
            issues.append(SpecIssue(path, "a real value", repr(node), f"still the template placeholder — {fix}"))

    walk(spec, "")
    return issues


def _fill_hints(act) -> dict[str, str]:
    """How to fill each key the skill knows about, for `???` messages."""
    hints = {ds.spec_key: f"pass {ds.flag} SPLIT_DIR|URI to `tao-skills spec build`" for ds in act.data_sources}
    for param in act.spec_params:
        source = "--parent-job PARENT_JOB_DIR" if param.resolver.startswith("parent") else "--job-dir JOB_DIR"
        hints.setdefault(param.spec_key, f"pass {source} to `tao-skills spec build`, or --set {param.spec_key}=VALUE")
    return hints


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
    """assemble_spec_report, then submit-mode validation: any issue raises SpecInvalid."""
    build = assemble_spec_report(skill_dir, action, data=data, overrides=overrides, parent_job=parent_job,
                                 job_dir=job_dir)
    issues = validate_spec(build.spec, skill_dir, action, mode="submit")
    if issues:
        from tao_skill_bank.oi.skillinfo import load_skill_info

        raise SpecInvalid(issues, file=str(Path(skill_dir) / load_skill_info(Path(skill_dir)).action(action).template))
    return build


def assemble_spec_report(skill_dir: str | Path, action: str, *, data: dict[str, str],
                         overrides: dict[str, Any], parent_job: Path | None = None,
                         job_dir: Path | None = None) -> SpecBuild:
    """Template + data sources + overrides + platform params, placeholders the action never reads
    removed; not validated (UserError only for inputs that give no spec at all)."""
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
    spec = copy.deepcopy(_template(skill_dir / act.template))
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
    return build


def _template(path: Path) -> dict:
    """The parsed template, once per file version (callers deep-copy it)."""
    try:
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        version = None
    return _read_template(str(path), version)


@functools.lru_cache(maxsize=32)
def _read_template(path: str, _version) -> dict:
    return load_yaml_file(path, "template")


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

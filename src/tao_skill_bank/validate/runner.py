"""Walk a bank and apply every validator rule; the only module here that reads files.

Each parsed file is loaded once (`BankFiles`); a file that does not parse is reported by the
parse rule alone, and the rules that need its content skip it instead of repeating the error.
"""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

from tao_skill_bank.bank import skill_folders
from tao_skill_bank.errors import UserError
from tao_skill_bank.findings import WARNING, Finding
from tao_skill_bank.validate import findings as rules
from tao_skill_bank.validate.clients import client_findings
from tao_skill_bank.validate.frontmatter import body_findings, frontmatter_findings, parse_skill_md
from tao_skill_bank.validate.links import relative_link_targets

PARSED_SUFFIXES = {".json", ".yaml", ".yml"}
PARSED_FOLDERS = ("skills", "hooks", "schemas", ".claude-plugin")
PLUGIN_ROOT_VARS = ("${CLAUDE_PLUGIN_ROOT}", "$CLAUDE_PLUGIN_ROOT")
STANDARD_HOOKS = "hooks/hooks.json"  # loaded from a plugin root without being named
MAX_SCHEMA_ERRORS_PER_FILE = 20
_UNPARSED = object()


class BankFiles:
    """Parsed JSON/YAML files of one bank, loaded at most once, with paths shown relative to it."""

    def __init__(self, root: Path):
        self.root = root
        self._cache: dict[Path, tuple[Any, str | None]] = {}

    def rel(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(path)

    def load(self, path: Path) -> tuple[Any, str | None]:
        """(data, None) or (_UNPARSED, one-line reason)."""
        if path not in self._cache:
            self._cache[path] = _parse(path)
        return self._cache[path]

    def data(self, path: Path) -> Any:
        """Parsed content, or _UNPARSED when the file is missing or broken (reported elsewhere)."""
        if not path.is_file():
            return _UNPARSED
        return self.load(path)[0]


def _parse(path: Path) -> tuple[Any, str | None]:
    from tao_skill_bank import safe_input

    try:
        if path.suffix == ".json":
            return safe_input.load_json_file(path), None  # Python's json accepts the Infinity TAO schemas hold
        return safe_input.load_yaml_file(path), None
    except UserError as err:
        return _UNPARSED, err.message[:300]
    except OSError as exc:
        return _UNPARSED, " ".join(str(exc).split())[:300]


def validate_bank(root: Path) -> list[Finding]:
    files = BankFiles(root)
    found: list[Finding] = []
    found += parse_findings(files)
    for skill in skill_folders(root):
        found += skill_findings(files, skill)
    found += hooks_findings(files)
    found += plugin_findings(files)
    found += client_findings(files)
    found += versions_findings(root)
    return found


def skill_findings(files: BankFiles, skill: Path) -> list[Finding]:
    skill_md = skill / "SKILL.md"
    if not skill_md.is_file():
        return [Finding(files.rel(skill), rules.SKILL_FOLDER, "skill folder has no SKILL.md",
                        "add SKILL.md with name/description frontmatter, or remove the folder")]
    found = []
    text = skill_md.read_text(encoding="utf-8", errors="replace")
    meta, body, parse_problems = parse_skill_md(text, files.rel(skill_md))
    found += parse_problems
    if meta is not None:
        found += frontmatter_findings(meta, skill.name, files.rel(skill_md))
    found += body_findings(body, files.rel(skill_md))
    found += link_findings(files, skill)
    found += schema_template_findings(files, skill)
    found += skill_info_findings(files, skill)
    found += evals_findings(files, skill)
    return found


# --- rule 2: links -----------------------------------------------------------------------------

def link_findings(files: BankFiles, skill: Path) -> list[Finding]:
    documents = [skill / "SKILL.md", *sorted((skill / "references").glob("*.md"))]
    found = []
    skill_root = skill.resolve()
    for doc in documents:
        for line, target in relative_link_targets(doc.read_text(encoding="utf-8", errors="replace")):
            resolved = (doc.parent / target).resolve()
            if not resolved.is_relative_to(skill_root):
                found.append(Finding(files.rel(doc), rules.LINK, f"link '{target}' leaves the skill folder",
                                     "copy the content into references/ (a skill copied alone must keep its links)",
                                     line=line))
            elif not resolved.exists():
                found.append(Finding(files.rel(doc), rules.LINK, f"link target '{target}' does not exist",
                                     "fix the relative path or add the file", line=line))
    return found


# --- rule 3: schemas/<action>.schema.json, templates, manifest ---------------------------------

def template_candidates(skill: Path, action: str) -> list[Path]:
    """Train skills use spec_template_<action>.yaml, the deploy skill spec_template_deploy_<action>.yaml."""
    return [skill / "references" / f"spec_template_{action}.yaml",
            skill / "references" / f"spec_template_deploy_{action}.yaml"]


def schema_template_findings(files: BankFiles, skill: Path) -> list[Finding]:
    schemas_dir = skill / "schemas"
    action_schemas = sorted(schemas_dir.glob("*.schema.json"))
    manifest_path = schemas_dir / "manifest.json"
    if not action_schemas and not manifest_path.exists():
        return []
    manifest_rel = files.rel(manifest_path)
    if not manifest_path.is_file():
        return [Finding(manifest_rel, rules.SCHEMA_TEMPLATE, "schemas/manifest.json is missing",
                        "regenerate it: tao-skills schemas regenerate --skill " + skill.name)]
    manifest = files.data(manifest_path)
    if manifest is _UNPARSED:
        return []
    found = []
    listed: set[Path] = set()
    for entry in _path_strings(manifest):
        resolved = _resolve_in_skill(skill, entry)
        if resolved is None:
            found.append(Finding(manifest_rel, rules.SCHEMA_TEMPLATE, f"manifest entry '{entry}' does not exist",
                                 "regenerate the manifest or add the missing file"))
        else:
            listed.add(resolved)
    for schema in action_schemas:
        action = schema.name[: -len(".schema.json")]
        templates = [t for t in template_candidates(skill, action) if t.is_file()]
        if not templates:
            found.append(Finding(files.rel(schema), rules.SCHEMA_TEMPLATE,
                                 f"action '{action}' has no references/spec_template_{action}.yaml "
                                 f"(or spec_template_deploy_{action}.yaml)",
                                 "regenerate the template from the schema defaults"))
        if schema.resolve() not in listed:
            found.append(Finding(manifest_rel, rules.SCHEMA_TEMPLATE, f"manifest does not list schemas/{schema.name}",
                                 "add the schema to schemas/manifest.json (or regenerate it)"))
        if templates and not any(t.resolve() in listed for t in templates):
            found.append(Finding(manifest_rel, rules.SCHEMA_TEMPLATE,
                                 f"manifest does not list the template of action '{action}'",
                                 f"add references/{templates[0].name} to schemas/manifest.json"))
    return found


def _path_strings(node: Any) -> Iterator[str]:
    """Every string in the manifest that names a JSON/YAML file, whatever the manifest's shape."""
    if isinstance(node, dict):
        for value in node.values():
            yield from _path_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _path_strings(value)
    elif isinstance(node, str) and Path(node).suffix in PARSED_SUFFIXES:
        yield node


def _resolve_in_skill(skill: Path, entry: str) -> Path | None:
    """A manifest path may be relative to the skill folder, schemas/ or references/."""
    for base in (skill, skill / "schemas", skill / "references"):
        candidate = (base / entry).resolve()
        if candidate.is_file() and candidate.is_relative_to(skill.resolve()):
            return candidate
    return None


# --- rules 5 and 7: documents validated against the bank's own JSON Schemas -------------------

def schema_errors(files: BankFiles, data: Any, schema_name: str) -> list[str] | None:
    """`path: message` lines of `data` against schemas/<schema_name>; None when the schema is unusable."""
    import jsonschema

    schema = files.data(files.root / "schemas" / schema_name)
    if schema is _UNPARSED:
        return None
    validator = jsonschema.Draft202012Validator(schema)
    messages = []
    for err in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        where = ".".join(str(p) for p in err.absolute_path) or "(root)"
        messages.append(f"{where}: {err.message}"[:400])
    return messages[:MAX_SCHEMA_ERRORS_PER_FILE]


def _document_findings(files: BankFiles, path: Path, schema_name: str, rule: str) -> tuple[Any, list[Finding]]:
    """(data if it is worth checking further, schema findings) for one document."""
    data = files.data(path)
    if data is _UNPARSED:
        return _UNPARSED, []
    messages = schema_errors(files, data, schema_name)
    if messages is None:
        return _UNPARSED, [Finding(files.rel(path), rule, f"cannot check it: schemas/{schema_name} is missing or broken",
                                   f"restore schemas/{schema_name} from the bank")]
    found = [Finding(files.rel(path), rule, message, f"match schemas/{schema_name}") for message in messages]
    return data, found


def skill_info_findings(files: BankFiles, skill: Path) -> list[Finding]:
    path = skill / "references" / "skill_info.yaml"
    if not path.is_file():
        return []
    data, found = _document_findings(files, path, "skill_info.schema.json", rules.SKILL_INFO)
    if not isinstance(data, dict):
        return found
    rel = files.rel(path)
    if isinstance(data.get("skill"), str) and data["skill"] != skill.name:
        found.append(Finding(rel, rules.SKILL_INFO, f"skill '{data['skill']}' differs from the folder name",
                             f"set `skill: {skill.name}`"))
    versions = _versions_keys(files.root)
    actions = data.get("actions") if isinstance(data.get("actions"), dict) else {}
    model_image = data.get("container_image")
    for action, spec in actions.items():
        if not isinstance(spec, dict):
            continue
        # the AutoML runner (and our loader) read these two files by convention unless named
        for field, default in (("schema", f"schemas/{action}.schema.json"),
                               ("template", f"references/spec_template_{action}.yaml")):
            target = spec.get(field, default)
            if isinstance(target, str) and not (skill / target).is_file():
                found.append(Finding(rel, rules.SKILL_INFO, f"actions.{action}.{field} '{target}' does not exist",
                                     "give a path relative to the skill folder, or regenerate the file"))
        image = spec.get("container_image", model_image)
        where = f"actions.{action}.container_image" if "container_image" in spec else "container_image"
        if image is None:
            found.append(Finding(rel, rules.SKILL_INFO, f"actions.{action} has no container image",
                                 "set `container_image: <versions.yaml key under images:>`, e.g. tao_toolkit.pyt"))
        elif isinstance(image, str) and versions is not None and not isinstance(versions.get(f"images.{image}"), str):
            found.append(Finding(rel, rules.SKILL_INFO, f"{where} '{image}' is not a key under images: in versions.yaml",
                                 "use a key `tao-skills versions get images.KEY` knows, e.g. tao_toolkit.pyt"))
    return found


def _versions_keys(root: Path) -> dict | None:
    from tao_skill_bank.errors import UserError
    from tao_skill_bank.versions import leaf_keys, load_versions

    try:
        return leaf_keys(load_versions(root))
    except UserError:
        return None  # reported by the versions rule


def evals_findings(files: BankFiles, skill: Path) -> list[Finding]:
    path = skill / "evals" / "evals.json"
    if not path.is_file():
        return [Finding(files.rel(skill), rules.EVALS, "no evals/evals.json",
                        "add behaviour tests (shape: docs/evals.md)", severity=WARNING)]
    data, found = _document_findings(files, path, "evals.schema.json", rules.EVALS)
    if not isinstance(data, dict):
        return found
    rel = files.rel(path)
    if isinstance(data.get("skill_name"), str) and data["skill_name"] != skill.name:
        found.append(Finding(rel, rules.EVALS, f"skill_name '{data['skill_name']}' differs from the folder name",
                             f"set \"skill_name\": \"{skill.name}\""))
    ids = [e.get("id") for e in data.get("evals", []) if isinstance(e, dict)]
    duplicates = sorted({i for i in ids if ids.count(i) > 1}, key=str)
    if duplicates:
        found.append(Finding(rel, rules.EVALS, f"duplicate eval ids {duplicates}", "give every eval its own id"))
    from tao_skill_bank.evals.grading import pattern_problems

    for case in data.get("evals", []) if isinstance(data.get("evals"), list) else []:
        for problem in pattern_problems(case.get("checks") if isinstance(case, dict) else None):
            found.append(Finding(rel, rules.EVALS, f"eval {case.get('id')}: {problem}",
                                 "write a valid Python regex (docs/evals.md)"))
    return found


# --- rule 4: every JSON/YAML file parses -------------------------------------------------------

def bank_data_files(root: Path) -> list[Path]:
    paths = [root / "versions.yaml"] if (root / "versions.yaml").exists() else []
    for folder in PARSED_FOLDERS:
        base = root / folder
        if base.is_dir():
            paths += sorted(p for p in base.rglob("*") if p.is_file() and p.suffix in PARSED_SUFFIXES
                            and "__pycache__" not in p.parts)
    return paths


def parse_findings(files: BankFiles) -> list[Finding]:
    found = []
    for path in bank_data_files(files.root):
        _, error = files.load(path)
        if error:
            found.append(Finding(files.rel(path), rules.PARSE, f"does not parse: {error}",
                                 "repair the JSON/YAML syntax"))
    return found


# --- rule 6: hooks/hooks.json ------------------------------------------------------------------

def hooks_findings(files: BankFiles) -> list[Finding]:
    path = files.root / "hooks" / "hooks.json"
    if not path.is_file():
        if (files.root / "hooks").is_dir():
            return [Finding("hooks/hooks.json", rules.HOOKS, "hooks/ exists but hooks.json is missing",
                            'add hooks/hooks.json (at least {"hooks": {}})')]
        return []
    data, found = _document_findings(files, path, "hooks.schema.json", rules.HOOKS)
    if found or not isinstance(data, dict):
        return found
    for event, groups in data["hooks"].items():
        for group in groups:
            for handler in group["hooks"]:
                if handler["type"] == "command":
                    found += _command_findings(files, event, handler["command"])
    return found


def command_scripts(command: str, root: Path) -> list[str]:
    """Script paths (tokens ending in .py or .sh) a hook command runs, with the plugin root filled in."""
    try:
        tokens = shlex.split(command)
    except ValueError:
        tokens = command.split()
    scripts = []
    for token in tokens:
        for var in PLUGIN_ROOT_VARS:
            token = token.replace(var, str(root))
        if token.endswith((".py", ".sh")):
            scripts.append(token)
    return scripts


def _command_findings(files: BankFiles, event: str, command: str) -> list[Finding]:
    found = []
    for script in command_scripts(command, files.root):
        if "$" in script:
            continue  # another variable (e.g. ${CLAUDE_PROJECT_DIR}): only known at run time
        path = Path(script) if Path(script).is_absolute() else files.root / script
        if not path.is_file():
            found.append(Finding("hooks/hooks.json", rules.HOOKS,
                                 f"{event} hook runs '{files.rel(path)}', which does not exist",
                                 "add the script or fix the path (use ${CLAUDE_PLUGIN_ROOT}/hooks/<script>)"))
    return found


# --- Claude Code plugin manifests (the plugin install path) ------------------------------------

def plugin_findings(files: BankFiles) -> list[Finding]:
    """Paths named by .claude-plugin/plugin.json and the marketplace's local plugin sources exist."""
    found = []
    plugin_path = files.root / ".claude-plugin" / "plugin.json"
    plugin = files.data(plugin_path)
    if isinstance(plugin, dict):
        for field in ("skills", "hooks"):
            value = plugin.get(field)
            for target in [value] if isinstance(value, str) else value if isinstance(value, list) else []:
                if not isinstance(target, str):
                    continue
                if not (files.root / target).exists():
                    found.append(Finding(files.rel(plugin_path), rules.PLUGIN, f"'{field}' path '{target}' does not exist",
                                         "give a path relative to the bank root starting with ./"))
                elif field == "hooks" and (files.root / target).resolve() == (files.root / STANDARD_HOOKS).resolve():
                    # Claude Code loads hooks/hooks.json by itself; naming it again fails the plugin's
                    # hook loading ("Duplicate hooks file detected") or, in older versions, runs each hook twice.
                    found.append(Finding(files.rel(plugin_path), rules.PLUGIN,
                                         f"'hooks' names {STANDARD_HOOKS}, which Claude Code already loads by itself",
                                         "remove the 'hooks' field (list only additional hook files there)"))
    market_path = files.root / ".claude-plugin" / "marketplace.json"
    market = files.data(market_path)
    entries = market.get("plugins") if isinstance(market, dict) else None
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        source = entry.get("source") if isinstance(entry, dict) else None
        if isinstance(source, str) and not (files.root / source / ".claude-plugin" / "plugin.json").is_file():
            found.append(Finding(files.rel(market_path), rules.PLUGIN,
                                 f"plugins[{index}].source '{source}' has no .claude-plugin/plugin.json",
                                 "point source at the plugin folder (\"./\" for this bank)"))
    return found


# --- rule 8: versions drift and untagged images -------------------------------------------------

def versions_findings(root: Path) -> list[Finding]:
    from tao_skill_bank.errors import UserError
    from tao_skill_bank.versions import check_bank

    try:
        problems = check_bank(root)
    except UserError as err:
        return [Finding("versions.yaml", rules.VERSIONS, err.message, err.fix or "repair versions.yaml")]
    except (OSError, ValueError) as err:
        return [Finding("schemas/versions.schema.json", rules.VERSIONS, f"cannot check versions: {err}",
                        "restore schemas/versions.schema.json from the bank")]
    return [replace(p, rule=rules.VERSIONS, line=p.line or None) for p in problems]

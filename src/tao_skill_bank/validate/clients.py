"""Rules for the files other agent clients read: the Codex plugin manifest
(`.codex-plugin/plugin.json`), a Codex marketplace (`.agents/plugins/marketplace.json`) and the
bank's `AGENTS.md`.

The Codex rules follow what Codex's own loader does (openai/codex `core-plugins`): manifest
paths must start with `./` and stay inside the plugin root; with no `hooks` field it loads
`hooks/hooks.json`, whose root may hold only `description` and `hooks`; a local marketplace
source must be a non-empty `./` path below the marketplace root (so `./`, the root itself, is
skipped); at most 3 default prompts of at most 128 characters. Codex skips or ignores what breaks
these rules without an error, so an installed plugin would silently lack skills or hooks.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from tao_skill_bank.bank import skill_folders
from tao_skill_bank.findings import WARNING, Finding
from tao_skill_bank.validate.links import relative_link_targets

CODEX_PLUGIN = "codex-plugin"
AGENTS_MD = "agents-md"

CODEX_MANIFEST = ".codex-plugin/plugin.json"
CODEX_MARKETPLACE = ".agents/plugins/marketplace.json"
CLAUDE_MANIFEST = ".claude-plugin/plugin.json"
STANDARD_HOOKS = "hooks/hooks.json"
KEBAB_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
PATH_FIELDS = ("skills", "hooks", "apps", "mcpServers")
ASSET_FIELDS = ("composerIcon", "logo", "logoDark")
CODEX_HOOKS_ROOT_KEYS = {"description", "hooks"}
MAX_DEFAULT_PROMPTS, MAX_DEFAULT_PROMPT_LEN = 3, 128


def client_findings(files) -> list[Finding]:
    """All rules of this module for one bank (`files` is the runner's BankFiles)."""
    return codex_plugin_findings(files) + codex_marketplace_findings(files) + agents_md_findings(files)


def _load(files, rel: str) -> tuple[Any, list[Finding]]:
    path = files.root / rel
    if not path.is_file():
        return None, []
    data, error = files.load(path)
    if error:
        return None, [Finding(rel, CODEX_PLUGIN, f"does not parse: {error}", "repair the JSON syntax")]
    return data, []


def _path_problem(value: str) -> str | None:
    """Why Codex would refuse this manifest path, or None."""
    if not value.startswith("./"):
        return "must start with ./"
    parts = PurePosixPath(value[2:]).parts
    if PurePosixPath(value).is_absolute() or ".." in parts:
        return "must stay inside the plugin root (no .. or absolute paths)"
    return None


# --- .codex-plugin/plugin.json -----------------------------------------------------------------

def codex_plugin_findings(files) -> list[Finding]:
    manifest, found = _load(files, CODEX_MANIFEST)
    if manifest is None:
        return found
    rel, root = CODEX_MANIFEST, files.root
    if not isinstance(manifest, dict):
        return [Finding(rel, CODEX_PLUGIN, "must be a JSON object", "write {\"name\": \"<plugin>\", ...}")]
    extra = sorted(p.name for p in (root / ".codex-plugin").iterdir() if p.name != "plugin.json")
    if extra:
        found.append(Finding(rel, CODEX_PLUGIN, f".codex-plugin/ holds {', '.join(extra)}; Codex reads only plugin.json there",
                             "move the files to the plugin root (hooks/hooks.json, assets/) and name them in plugin.json"))
    name = manifest.get("name")
    name_ok = isinstance(name, str) and KEBAB_RE.match(name) is not None and len(name) <= 64
    if not name_ok:
        found.append(Finding(rel, CODEX_PLUGIN, f"name {name!r} is not a kebab-case plugin name",
                             "set \"name\" to lowercase letters, digits and single hyphens"))
    claude = files.data(root / CLAUDE_MANIFEST) if (root / CLAUDE_MANIFEST).is_file() else None
    if name_ok and isinstance(claude, dict) and claude.get("name") != name:
        found.append(Finding(rel, CODEX_PLUGIN, f"name '{name}' differs from {CLAUDE_MANIFEST} ('{claude.get('name')}')",
                             "give both manifests the same name: skills are namespaced <plugin>:<skill> in both clients"))
    for field in ("version", "description"):
        if not isinstance(manifest.get(field), str) or not manifest[field].strip():
            found.append(Finding(rel, CODEX_PLUGIN, f"no {field}", f"add \"{field}\" (shown in Codex's plugin directory)",
                                 severity=WARNING))
    found += _manifest_path_findings(files, manifest)
    found += _interface_findings(files, manifest.get("interface"))
    if "hooks" not in manifest:
        found += _default_hooks_findings(files)
    return found


def _manifest_path_findings(files, manifest: dict) -> list[Finding]:
    found = []
    for field in PATH_FIELDS:
        value = manifest.get(field)
        if field in ("hooks", "mcpServers") and isinstance(value, (dict, list)) and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)):
            continue  # inline hook or server objects: no path to check
        values = value if isinstance(value, list) else [value] if value is not None else []
        for item in values:
            found += _one_path_findings(files, field, item)
    skills = manifest.get("skills")
    for item in skills if isinstance(skills, list) else [skills] if isinstance(skills, str) else []:
        target = files.root / item
        if target.is_dir() and not any(target.glob("*/SKILL.md")):
            found.append(Finding(CODEX_MANIFEST, CODEX_PLUGIN, f"skills path '{item}' holds no <skill>/SKILL.md",
                                 "point \"skills\" at the folder that holds the skill folders (./skills/)"))
    return found


def _one_path_findings(files, field: str, value: Any) -> list[Finding]:
    if not isinstance(value, str):
        return [Finding(CODEX_MANIFEST, CODEX_PLUGIN, f"'{field}' must be a path string",
                        f"give \"{field}\" as \"./<path>\"")]
    problem = _path_problem(value)
    if problem:
        return [Finding(CODEX_MANIFEST, CODEX_PLUGIN, f"'{field}' path '{value}' {problem}; Codex ignores it",
                        f"write it relative to the plugin root, e.g. \"./{value.lstrip('./') or field}\"")]
    if not (files.root / value).exists():
        return [Finding(CODEX_MANIFEST, CODEX_PLUGIN, f"'{field}' path '{value}' does not exist",
                        "fix the path or add the file")]
    return []


def _interface_findings(files, interface: Any) -> list[Finding]:
    if interface is None:
        return []
    if not isinstance(interface, dict):
        return [Finding(CODEX_MANIFEST, CODEX_PLUGIN, "'interface' must be an object", "write \"interface\": {...}")]
    found = []
    for field in ASSET_FIELDS:
        value = interface.get(field)
        if isinstance(value, str) and not value.startswith(("http://", "https://", "data:")):
            found += _one_path_findings(files, f"interface.{field}", value)
    prompts = interface.get("defaultPrompt")
    prompts = [prompts] if isinstance(prompts, str) else prompts if isinstance(prompts, list) else []
    if len(prompts) > MAX_DEFAULT_PROMPTS:
        found.append(Finding(CODEX_MANIFEST, CODEX_PLUGIN, f"interface.defaultPrompt has {len(prompts)} prompts; Codex shows at most 3",
                             "keep the three most useful prompts"))
    for index, prompt in enumerate(prompts):
        text = " ".join(prompt.split()) if isinstance(prompt, str) else ""
        if not text or len(text) > MAX_DEFAULT_PROMPT_LEN:
            found.append(Finding(CODEX_MANIFEST, CODEX_PLUGIN,
                                 f"interface.defaultPrompt[{index}] must be a non-empty string of at most 128 characters",
                                 "shorten the prompt; Codex drops it otherwise"))
    return found


def _default_hooks_findings(files) -> list[Finding]:
    """With no `hooks` field Codex loads hooks/hooks.json and refuses a root with other keys."""
    path = files.root / STANDARD_HOOKS
    data = files.data(path) if path.is_file() else None
    if not isinstance(data, dict):
        return []
    extra = sorted(set(data) - CODEX_HOOKS_ROOT_KEYS)
    if not extra:
        return []
    return [Finding(STANDARD_HOOKS, CODEX_PLUGIN, f"root keys {extra} make Codex refuse the file (it accepts only description and hooks)",
                    "remove the extra keys")]


# --- .agents/plugins/marketplace.json ----------------------------------------------------------

def codex_marketplace_findings(files) -> list[Finding]:
    market, found = _load(files, CODEX_MARKETPLACE)
    if market is None:
        return found
    rel = CODEX_MARKETPLACE
    if not isinstance(market, dict) or not isinstance(market.get("name"), str) or not isinstance(market.get("plugins"), list):
        return [Finding(rel, CODEX_PLUGIN, "needs a string 'name' and a 'plugins' list", "see docs/hooks.md (Codex)")]
    for index, entry in enumerate(market["plugins"]):
        source = entry.get("source") if isinstance(entry, dict) else None
        if isinstance(source, dict):
            if source.get("source") != "local":
                continue  # git and npm sources are resolved by Codex at install time
            source = source.get("path")
        if not isinstance(source, str):
            found.append(Finding(rel, CODEX_PLUGIN, f"plugins[{index}] has no local source path",
                                 "give \"source\": {\"source\": \"local\", \"path\": \"./<plugin folder>\"}"))
            continue
        problem = _path_problem(source)
        if problem is None and not source[2:].strip("/"):
            problem = "names the marketplace root itself, which Codex skips (the path must not be empty)"
        if problem:
            found.append(Finding(rel, CODEX_PLUGIN, f"plugins[{index}].source '{source}' {problem}",
                                 "put the marketplace in a folder above the bank and point at ./<bank folder>"))
            continue
        target = files.root / source
        if not ((target / CODEX_MANIFEST).is_file() or (target / CLAUDE_MANIFEST).is_file()):
            found.append(Finding(rel, CODEX_PLUGIN, f"plugins[{index}].source '{source}' has no {CODEX_MANIFEST}",
                                 "point the source at the plugin folder"))
    return found


# --- AGENTS.md ---------------------------------------------------------------------------------

def agents_md_findings(files) -> list[Finding]:
    path = files.root / "AGENTS.md"
    skills = [s for s in skill_folders(files.root) if (s / "SKILL.md").is_file()]
    if not path.is_file():
        if not skills:
            return []
        return [Finding("AGENTS.md", AGENTS_MD, "no AGENTS.md: Codex and other AGENTS.md readers get no routing to the skills",
                        "add AGENTS.md with one row per skill and the tao-skills install command", severity=WARNING)]
    text = path.read_text(encoding="utf-8", errors="replace")
    found = []
    for skill in skills:
        if not re.search(rf"(?<![\w-]){re.escape(skill.name)}(?![\w-])", text):
            found.append(Finding("AGENTS.md", AGENTS_MD, f"does not route to skill '{skill.name}'",
                                 f"add a row naming {skill.name} and linking skills/{skill.name}/SKILL.md"))
    if "pip install" not in text:
        found.append(Finding("AGENTS.md", AGENTS_MD, "does not say how to install tao-skills",
                             "add the install command: python3 -m pip install <path to this bank>"))
    root = files.root.resolve()
    for line, target in relative_link_targets(text):
        resolved = (root / target).resolve()
        if not resolved.is_relative_to(root) or not resolved.exists():
            found.append(Finding("AGENTS.md", AGENTS_MD, f"link target '{target}' does not exist in the bank",
                                 "fix the relative path (links resolve from the bank root)", line=line))
    return found

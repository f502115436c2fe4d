"""versions.yaml: load, validate, look up dotted keys, and keep tagged literals in sync.

A literal image in a skill or doc is "tagged" when a `versions-key: <dotted.key>` marker sits
on the same line or on the line just above it. `check_text` reports drift (literal differs from
versions.yaml) and untagged TAO images; `stamp_text` rewrites tagged literals.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

from tao_skill_bank.errors import EXIT_ENVIRONMENT, UserError
from tao_skill_bank.findings import Finding

VERSIONS_FILE = "versions.yaml"
SCHEMA_FILE = Path("schemas") / "versions.schema.json"
# A TAO container reference: repository plus optional :tag and/or @sha256 digest.
TAO_IMAGE_RE = re.compile(r"nvcr\.io/nvidia/tao/tao-toolkit(?::[A-Za-z0-9_][A-Za-z0-9._-]*)?(?:@sha256:[0-9a-f]{64})?")
# Any image-looking literal that a versions-key tag can point at (tag or digest required).
IMAGE_LITERAL_RE = re.compile(r"[a-z0-9][a-z0-9._/-]*(?::[A-Za-z0-9_][A-Za-z0-9._-]*)(?:@sha256:[0-9a-f]{64})?"
                              r"|[a-z0-9][a-z0-9._/-]*@sha256:[0-9a-f]{64}")
KEY_TAG_RE = re.compile(r"versions-key:\s*([A-Za-z0-9_.-]+)")
SCANNED_SUFFIXES = {".md", ".yaml", ".yml", ".json", ".sh", ".py", ".txt", ".j2", ".toml", ".cfg"}
# The one TAO release: images are tagged `<release>-<flavour>`, the public wheels below install at
# exactly this version (schema sources, gap oracle, OI oracle). Nothing else records the number.
RELEASE_KEY = "tao_version"
RELEASE_WHEELS = ("nvidia-tao-core", "nvidia-tao-deploy", "nvidia-tao-ds")
# A pinned install of a release wheel written somewhere (code, docs): it must name the release.
WHEEL_PIN_RE = re.compile(r"\b(nvidia-tao-(?:core|deploy|ds))==([0-9][0-9A-Za-z.]*)")
# Where a hard-coded wheel pin would silently build an oracle from another release: the code, the
# benchmarks, CI, and the test files that build oracle venvs (they call ensure_venv).
PIN_SCANNED_FOLDERS = ("src", "benchmarks", ".ci")
ORACLE_RECIPE_MARK = "ensure_venv("
# Pins of the AutoML runner packages: they must match the separate `automl:` pins.
AUTOML_PIN_RE = re.compile(r"\b(nvidia-tao-(automl|sdk))==([0-9][0-9A-Za-z.]*)")
# Generated files that name the wheel release they came from.
MANIFEST_GLOB = "skills/*/schemas/manifest.json"
TEMPLATE_SOURCE_RE = re.compile(r"from the (nvidia-tao-(?:core|deploy)) ([0-9][0-9A-Za-z.]*) ")


def load_versions(bank_root: Path) -> dict:
    from tao_skill_bank.safe_input import load_yaml_file

    path = bank_root / VERSIONS_FILE
    if not path.is_file():
        raise UserError("versions.yaml not found", file=str(path),
                        fix="pass --bank PATH pointing at the skill bank root", exit_code=EXIT_ENVIRONMENT)
    try:
        data = load_yaml_file(path, what="versions.yaml")
    except UserError as err:
        err.exit_code = EXIT_ENVIRONMENT
        raise
    if not isinstance(data, dict):
        raise UserError("top level must be a mapping", file=str(path), fix="start with `images:`",
                        exit_code=EXIT_ENVIRONMENT)
    return data


def schema_errors(data: dict, bank_root: Path) -> list[str]:
    """Validation messages (`path: message`) of versions.yaml against schemas/versions.schema.json."""
    import jsonschema

    schema = json.loads((bank_root / SCHEMA_FILE).read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    messages = []
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        where = ".".join(str(p) for p in err.path) or "(root)"
        messages.append(f"{where}: {err.message}")
    return messages


def leaf_keys(data: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten nested mappings into {dotted.key: value}."""
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            dotted = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                out.update(leaf_keys(value, dotted))
            else:
                out[dotted] = value
    return out


def get_value(data: dict, key: str, file: str = VERSIONS_FILE) -> str:
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            node = None
            break
        node = node[part]
    if isinstance(node, str):
        return node
    valid = [k for k, v in leaf_keys(data).items() if isinstance(v, str)]
    nearest = difflib.get_close_matches(key, valid, n=3, cutoff=0.4) or valid[:3]
    what = "is not a string value" if node is not None else "not found"
    raise UserError(f"key '{key}' {what}", file=file, field=key,
                    fix=f"use one of: {', '.join(nearest)}")


def image_uri(key: str, bank_root: Path | None = None) -> str:
    """The image URI for a versions key, e.g. images.tao_toolkit.data_services."""
    from tao_skill_bank.bank import find_bank_root

    root = bank_root or find_bank_root()
    return get_value(load_versions(root), key, str(root / VERSIONS_FILE))


def tao_release(versions: dict, file: str = VERSIONS_FILE) -> str:
    """The release every image, schema source and oracle derives from (`tao_version`)."""
    value = versions.get(RELEASE_KEY)
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", value):
        raise UserError("no TAO release recorded", file=file, field=RELEASE_KEY,
                        fix='add `tao_version: "X.Y.Z"` (the release of the pinned images)',
                        exit_code=EXIT_ENVIRONMENT)
    return value


def release_wheel(versions: dict, package: str) -> str:
    """pip requirement for a public TAO wheel of the release, e.g. `nvidia-tao-core==7.2.0`."""
    if package not in RELEASE_WHEELS:
        raise ValueError(f"{package} is not a release wheel ({', '.join(RELEASE_WHEELS)})")
    return f"{package}=={tao_release(versions)}"


def release_mismatches(bank_root: Path, versions: dict) -> list[tuple[str, int, str, str]]:
    """(file, line, problem, fix) for everything that names another release than `tao_version`:
    image tags, leftover `wheels` pins, generated schema manifests and templates, and
    hard-coded wheel pins in code, docs and tests."""
    try:
        release = tao_release(versions)
    except UserError as err:
        return [(VERSIONS_FILE, 0, err.message, err.fix or "")]
    out: list[tuple[str, int, str, str]] = []
    for key, uri in leaf_keys(versions.get("images") or {}, "images").items():
        match = re.fullmatch(r"nvcr\.io/nvidia/tao/tao-toolkit:([A-Za-z0-9_][A-Za-z0-9._-]*)(@sha256:[0-9a-f]{64})?",
                             uri) if isinstance(uri, str) else None
        if match and not match.group(1).startswith(f"{release}-"):
            out.append((VERSIONS_FILE, 0, f"{key} = '{uri}' is not release {release} ({RELEASE_KEY})",
                        f"tag it {release}-<flavour>, or change {RELEASE_KEY} and regenerate the schemas"))
    for name, value in (versions.get("wheels") or {}).items():
        if str(value) != release:
            out.append((VERSIONS_FILE, 0, f"wheels.{name} = {value} disagrees with {RELEASE_KEY} {release}",
                        f"delete wheels.{name}: the release wheels install at {RELEASE_KEY}"))
    for manifest in sorted(bank_root.glob(MANIFEST_GLOB)):
        rel = str(manifest.relative_to(bank_root))
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue  # the bank validator reports unreadable manifests
        if not isinstance(data, dict):
            continue
        actions = data.get("actions") if isinstance(data.get("actions"), dict) else {}
        entries = [("actions." + k, v) for k, v in actions.items() if isinstance(v, dict)]
        entries += [(k, v) for k, v in data.items() if k != "actions" and isinstance(v, dict)]
        for where, entry in entries:
            for source in str(entry.get("source", "")).split():
                pin = WHEEL_PIN_RE.fullmatch(source)
                if pin and pin.group(2) != release:
                    out.append((rel, 0, f"{where} was generated from {source}, not release {release}",
                                "run `tao-skills schemas regenerate` (maintainers)"))
    for template in sorted(bank_root.glob("skills/*/references/spec_template_*.yaml")):
        head = template.read_text(encoding="utf-8", errors="replace")[:600]
        for match in TEMPLATE_SOURCE_RE.finditer(head):
            if match.group(2) != release:
                out.append((str(template.relative_to(bank_root)), 2,
                            f"generated from {match.group(1)} {match.group(2)}, not release {release}",
                            "run `tao-skills schemas regenerate` (maintainers)"))
    automl = versions.get("automl") if isinstance(versions.get("automl"), dict) else {}
    for path in _pin_scanned_files(bank_root):
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            for match in WHEEL_PIN_RE.finditer(line):
                if match.group(2) != release:
                    out.append((str(path.relative_to(bank_root)), number,
                                f"'{match.group(0)}' pins another release than {RELEASE_KEY} {release}",
                                "derive the pin with versions.release_wheel(...) instead of writing it"))
            for match in AUTOML_PIN_RE.finditer(line):
                key = f"nvidia_tao_{match.group(2)}"
                if key in automl and match.group(3) != str(automl[key]):
                    out.append((str(path.relative_to(bank_root)), number,
                                f"'{match.group(0)}' disagrees with automl.{key} = {automl[key]}",
                                f"read the pin from versions.yaml automl.{key}"))
    return out


def _pin_scanned_files(bank_root: Path) -> list[Path]:
    files = set(scanned_files(bank_root))
    for folder in PIN_SCANNED_FOLDERS:
        base = bank_root / folder
        if base.is_dir():
            files.update(p for p in base.rglob("*") if p.is_file() and not p.is_symlink()
                         and p.suffix in SCANNED_SUFFIXES and "__pycache__" not in p.parts)
    tests = bank_root / "tests"
    if tests.is_dir():
        files.update(p for p in tests.rglob("*.py") if p.is_file() and not p.is_symlink()
                     and ORACLE_RECIPE_MARK in p.read_text(encoding="utf-8", errors="replace"))
    return sorted(files)


RULE = "versions"


def finding(file: str, line: int, problem: str, fix: str) -> Finding:
    return Finding(file, RULE, problem, fix, line=line)


def finding_dict(item: Finding) -> dict:
    """The `versions check --json` view of a finding (its documented keys)."""
    return {"file": item.file, "line": item.line, "problem": item.message, "fix": item.fix}


def _tag_for_line(lines: list[str], index: int) -> str | None:
    """The key tagging this line: its own tag, else a tag on the line above that has no literal
    of its own (a tag beside a literal belongs to that literal, not to the next line)."""
    match = KEY_TAG_RE.search(lines[index])
    if match:
        return match.group(1)
    above = lines[index - 1] if index > 0 else ""
    match = KEY_TAG_RE.search(above)
    if match and not IMAGE_LITERAL_RE.search(_strip_tag(above)):
        return match.group(1)
    return None


def check_text(text: str, versions: dict, file: str) -> list[Finding]:
    findings = []
    lines = text.splitlines()
    flat = leaf_keys(versions)
    for i, line in enumerate(lines):
        tao_images = list(TAO_IMAGE_RE.finditer(line))
        key = _tag_for_line(lines, i)
        if key is None:
            for match in tao_images:
                findings.append(finding(file, i + 1, f"untagged TAO image '{match.group(0)}'",
                                        "add `versions-key: images.tao_toolkit.<name>` on this line "
                                        "or the line above, or use $(tao-skills versions get KEY)"))
            continue
        if KEY_TAG_RE.search(line) is None and not (tao_images or IMAGE_LITERAL_RE.search(_strip_tag(line))):
            continue  # tag on the previous line belongs to that line's literal
        expected = flat.get(key)
        if not isinstance(expected, str):
            findings.append(finding(file, i + 1, f"versions-key '{key}' is not in versions.yaml",
                                    "use an existing key (tao-skills versions get KEY lists the nearest)"))
            continue
        literals = [m.group(0) for m in IMAGE_LITERAL_RE.finditer(_strip_tag(line))]
        if not literals:
            continue
        for literal in literals:
            if literal != expected:
                findings.append(finding(file, i + 1, f"'{literal}' drifted from {key} = '{expected}'",
                                        "run `tao-skills versions stamp`"))
    return findings


def _strip_tag(line: str) -> str:
    return KEY_TAG_RE.sub("", line)


def stamp_text(text: str, versions: dict) -> str:
    flat = leaf_keys(versions)
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        key = _tag_for_line([l.rstrip("\n") for l in lines], i)
        expected = flat.get(key) if key else None
        if not isinstance(expected, str):
            continue
        tag_match = KEY_TAG_RE.search(line)
        head, tail = (line[:tag_match.start()], line[tag_match.start():]) if tag_match else (line, "")
        new_head = IMAGE_LITERAL_RE.sub(expected, head)
        lines[i] = new_head + tail
    return "".join(lines)


def scanned_files(bank_root: Path) -> list[Path]:
    """Skill folders, hooks and top-level docs: everything an agent or installer reads."""
    files: list[Path] = []
    for folder in ("skills", "hooks", "docs"):
        base = bank_root / folder
        if base.is_dir():
            files.extend(p for p in base.rglob("*") if p.is_file() and not p.is_symlink()
                         and p.suffix in SCANNED_SUFFIXES and "__pycache__" not in p.parts)
    for name in ("README.md",):
        if (bank_root / name).is_file():
            files.append(bank_root / name)
    return sorted(files)


def check_bank(bank_root: Path) -> list[Finding]:
    versions = load_versions(bank_root)
    findings = [finding(VERSIONS_FILE, 0, msg, "fix versions.yaml to match schemas/versions.schema.json")
                for msg in schema_errors(versions, bank_root)]
    findings.extend(finding(*item) for item in release_mismatches(bank_root, versions))
    for path in scanned_files(bank_root):
        text = path.read_text(encoding="utf-8", errors="replace")
        findings.extend(check_text(text, versions, str(path.relative_to(bank_root))))
    return findings


def stamp_bank(bank_root: Path) -> list[str]:
    from tao_skill_bank.fsutil import atomic_write_text

    versions = load_versions(bank_root)
    changed = []
    for path in scanned_files(bank_root):
        text = path.read_text(encoding="utf-8", errors="replace")
        new = stamp_text(text, versions)
        if new != text:
            atomic_write_text(path, new)
            changed.append(str(path.relative_to(bank_root)))
    return changed

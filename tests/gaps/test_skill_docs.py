"""skills/tao-analyze-gaps-visual-changenet: frontmatter, routing, commands that parse, evals, and
pitfalls whose named checks exist and are tested."""

import importlib
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from support import REPO_ROOT
from tao_skill_bank.gaps.contract import ABRIDGED_SECTIONS, SECTIONS

SKILL = REPO_ROOT / "skills" / "tao-analyze-gaps-visual-changenet"
ALLOWED_KEYS = {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}
DOTTED_RE = re.compile(r"`(tao_skill_bank(?:\.[A-Za-z_][A-Za-z0-9_]*)+)`")


def _frontmatter():
    text = (SKILL / "SKILL.md").read_text()
    _, head, body = text.split("---\n", 2)
    return yaml.safe_load(head), body


def test_frontmatter_follows_the_spec():
    meta, body = _frontmatter()
    assert set(meta) <= ALLOWED_KEYS and meta["name"] == SKILL.name
    description = meta["description"]
    assert 0 < len(description) <= 1024 and "<" not in description and ">" not in description
    for trigger in ("Use when", "gap", "mislabeled", "augmentation", "threshold"):
        assert trigger in description, trigger
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta["metadata"].items())
    assert isinstance(meta["allowed-tools"], str)
    assert len(body.splitlines()) < 500


def test_bank_validator_has_no_findings_for_this_skill():
    from tao_skill_bank.validate.runner import validate_bank

    findings = [f for f in validate_bank(REPO_ROOT) if SKILL.name in str(getattr(f, "file", ""))]
    assert findings == [], findings


def test_every_reference_is_linked_from_skill_md_and_exists():
    _, body = _frontmatter()
    links = set(re.findall(r"\]\((references/[^)]+)\)", body))
    assert links == {"references/container-setup.md", "references/visual-spot-check.md",
                     "references/pitfalls.md", "references/output-template.md"}
    for link in links:
        assert (SKILL / link).is_file(), link


def _documented_commands():
    """Every `tao-skills ...` command line in the skill's markdown, placeholders filled."""
    lines = []
    for path in [SKILL / "SKILL.md", *sorted((SKILL / "references").glob("*.md"))]:
        for match in re.finditer(r"tao-skills ((?:gaps|versions) [^`\n|)]+)", path.read_text()):
            command = match.group(1).strip().rstrip(".,;:").replace("\\", "")
            command = re.sub(r'"?\$\(?[A-Z_]+\)?"?', "/tmp/x", command).replace('"<name>"', "demo")
            lines.append((path.name, command))
    return lines


def test_documented_commands_parse_with_the_real_cli():
    from tao_skill_bank.cli import build_parser

    parser = build_parser()
    commands = _documented_commands()
    assert len(commands) >= 8
    for source, command in commands:
        placeholders = {"OUT": "/tmp/out", "R": "0.9", "DIR": "/tmp/dir", "COPY": "/tmp/t.yaml", "W": "/tmp"}
        argv = [placeholders.get(a, a) for a in shlex.split(command) if a not in ("...", "|")]
        if len(argv) == 2 or (argv[:2] == ["gaps", "run"] and "--dataset-root" not in argv):
            argv.append("--help")  # prose mention of a command: it must exist
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:
            if "--help" in argv and exc.code == 0:
                continue
            pytest.fail(f"{source}: `tao-skills {command}` does not parse")
        assert callable(getattr(args, "func", None)), (source, command)


def test_report_template_carries_the_contract_headings_in_order():
    text = (SKILL / "references" / "report_template.md.j2").read_text()
    abridged = [text.index(h + "\n") for h in ABRIDGED_SECTIONS]
    assert abridged == sorted(abridged)
    full = text[text.index("{% else %}", abridged[-1]):]
    positions = [full.index(h + "\n") for h in SECTIONS]
    assert positions == sorted(positions)


def test_output_template_names_every_contract_artifact():
    text = (SKILL / "references" / "output-template.md").read_text()
    for name in ("kpi_gaps.parquet", "threshold.txt", "weak_samples_breakdown.txt", "metrics.json",
                 "unreachable_kpi.txt", "run_record.json", "score_distribution.png", "rca_images/",
                 "spotcheck_contact_sheet.png", "spotcheck.json", "RCA_Report.draft.md", "RCA_Report.md",
                 "vcn_aoi_spec.yaml", "| | Predicted NO_PASS | Predicted PASS |", *SECTIONS, *ABRIDGED_SECTIONS):
        assert name in text, name


def test_evals_cover_the_required_situations():
    import jsonschema

    data = json.loads((SKILL / "evals" / "evals.json").read_text())
    schema = json.loads((REPO_ROOT / "schemas" / "evals.schema.json").read_text())
    jsonschema.validate(data, schema)
    assert data["skill_name"] == SKILL.name
    evals = data["evals"]
    assert len(evals) >= 6 and len({e["id"] for e in evals}) == len(evals)
    joined = [json.dumps(e).lower() for e in evals]
    for situation in ("unreachable", "output_score", "no nvidia gpu", "--out ", "--threshold 0.42"):
        assert any(situation in e for e in joined), situation


def _pitfalls():
    """(title, body) of every ### pitfall in pitfalls.md."""
    text = (SKILL / "references" / "pitfalls.md").read_text()
    parts = re.split(r"^### (.+)$", text, flags=re.M)
    return list(zip(parts[1::2], parts[2::2]))


def _resolve(dotted: str):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def _test_sources() -> dict[Path, str]:
    here = Path(__file__).resolve()
    return {p: p.read_text() for p in (REPO_ROOT / "tests").rglob("*.py") if p.resolve() != here}


def test_every_pitfall_names_an_existing_tested_check():
    pitfalls = _pitfalls()
    assert len(pitfalls) >= 12
    sources = _test_sources()
    for title, body in pitfalls:
        checks = DOTTED_RE.findall(body)
        assert checks, f"pitfall '{title}' names no check"
        for dotted in checks:
            obj = _resolve(dotted)
            assert callable(obj), dotted
            name = dotted.rsplit(".", 1)[1]
            pattern = re.compile(rf"\b{re.escape(name)}\b")
            assert any(pattern.search(src) for src in sources.values()), f"no test mentions {dotted}"


def test_seed_pitfall_list_is_covered():
    titles = " ".join(t.lower() for t, _ in _pitfalls())
    for topic in ("top_k_per_label", "--user", "-e spec", "workspace", "???", "no gpu", "image missing",
                  "input_map", "columns", "dataset root", "unreachable"):
        assert topic in titles, topic

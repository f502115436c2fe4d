"""One failing fixture per validator rule: break one thing in a clean tiny bank, expect that finding."""

import json

import pytest

from tao_skill_bank.validate import validate_bank

SKILL = "tao-demo-skill"  # the skill folder the tiny_bank fixture builds
SKILL_MD_REL = f"skills/{SKILL}/SKILL.md"


def write_json(path, data):
    path.write_text(json.dumps(data))


def errors(root):
    return [(f.rule, f.file) for f in validate_bank(root) if f.severity == "error"]


def only_error(root):
    found = [f for f in validate_bank(root) if f.severity == "error"]
    assert len(found) == 1, [f.one_line() for f in found]
    return found[0]


def replace_in(path, old, new):
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def test_tiny_bank_is_clean(tiny_bank):
    assert validate_bank(tiny_bank) == []


# --- rule 1: frontmatter ------------------------------------------------------------------------

@pytest.mark.parametrize("old, new, needle", [
    ("license: Apache-2.0\n", "license: Apache-2.0\nversion: 1\n", "'version' is not allowed"),
    ("name: tao-demo-skill", "name: tao-other-skill", "differs from the folder name"),
    ("Use when asked", "Use <when> asked", "'<' or '>'"),
    ('version: "1.0"', "version: 1.0", "metadata 'version'"),
    ("allowed-tools: Read Bash", "allowed-tools: [Read, Bash]", "'allowed-tools'"),
    ("compatibility: Python 3.10+", "compatibility: " + "x" * 501, "'compatibility'"),
])
def test_frontmatter_rule(demo_skill, old, new, needle):
    replace_in(demo_skill / "SKILL.md", old, new)
    finding = only_error(demo_skill.parents[1])
    assert (finding.rule, finding.file) == ("frontmatter", SKILL_MD_REL)
    assert needle in finding.message


def test_unquoted_colon_in_description_is_a_yaml_error(demo_skill):
    replace_in(demo_skill / "SKILL.md", "description: >-\n  Demo", "description: Demo: skill\n  Demo")
    finding = only_error(demo_skill.parents[1])
    assert finding.rule == "frontmatter" and "not valid YAML" in finding.message


def test_long_body_is_a_warning_not_an_error(demo_skill):
    with (demo_skill / "SKILL.md").open("a") as handle:
        handle.write("line\n" * 500)
    found = validate_bank(demo_skill.parents[1])
    assert [(f.rule, f.severity) for f in found] == [("body-length", "warning")]


def test_folder_without_skill_md(tiny_bank):
    (tiny_bank / "skills" / "tao-empty").mkdir()
    assert errors(tiny_bank) == [("skill-folder", "skills/tao-empty")]


# --- rule 2: links ------------------------------------------------------------------------------

def test_broken_link_in_skill_md(demo_skill):
    replace_in(demo_skill / "SKILL.md", "references/guide.md#usage", "references/gone.md#usage")
    finding = only_error(demo_skill.parents[1])
    assert (finding.rule, finding.file, finding.line) == ("link", SKILL_MD_REL, 13)
    assert "references/gone.md" in finding.message


def test_broken_link_in_reference(demo_skill):
    replace_in(demo_skill / "references" / "guide.md", "../SKILL.md", "../README.md")
    assert errors(demo_skill.parents[1]) == [("link", f"skills/{SKILL}/references/guide.md")]


def test_link_leaving_the_skill_folder(demo_skill):
    (demo_skill.parents[1] / "docs.md").write_text("x")
    replace_in(demo_skill / "SKILL.md", "references/guide.md#usage", "../../docs.md")
    finding = only_error(demo_skill.parents[1])
    assert finding.rule == "link" and "leaves the skill folder" in finding.message


# --- rule 3: schemas, templates, manifest ------------------------------------------------------

def test_schema_without_template(demo_skill):
    (demo_skill / "schemas" / "export.schema.json").write_text("{}")
    manifest = demo_skill / "schemas" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["actions"]["export"] = {"schema": "schemas/export.schema.json"}
    write_json(manifest, data)
    finding = only_error(demo_skill.parents[1])
    assert (finding.rule, finding.file) == ("schema-template", f"skills/{SKILL}/schemas/export.schema.json")


def test_deploy_template_name_is_accepted_when_listed(demo_skill):
    (demo_skill / "references" / "spec_template_train.yaml").rename(
        demo_skill / "references" / "spec_template_deploy_train.yaml")
    replace_in(demo_skill / "schemas" / "manifest.json", "spec_template_train", "spec_template_deploy_train")
    replace_in(demo_skill / "references" / "skill_info.yaml", "spec_template_train", "spec_template_deploy_train")
    assert errors(demo_skill.parents[1]) == []


def test_manifest_not_listing_the_template(demo_skill):
    write_json(demo_skill / "schemas" / "manifest.json", {"actions": {"train": {"schema": "train.schema.json"}}})
    finding = only_error(demo_skill.parents[1])
    assert (finding.rule, finding.file) == ("schema-template", f"skills/{SKILL}/schemas/manifest.json")
    assert "template of action 'train'" in finding.message


def test_manifest_entry_pointing_nowhere(demo_skill):
    write_json(demo_skill / "schemas" / "manifest.json", {"actions": [
        {"schema": "schemas/train.schema.json", "template": "references/spec_template_train.yaml"},
        {"schema": "schemas/evaluate.schema.json"}]})
    finding = only_error(demo_skill.parents[1])
    assert finding.rule == "schema-template" and "'schemas/evaluate.schema.json' does not exist" in finding.message


def test_missing_manifest(demo_skill):
    (demo_skill / "schemas" / "manifest.json").unlink()
    assert errors(demo_skill.parents[1]) == [("schema-template", f"skills/{SKILL}/schemas/manifest.json")]


# --- rule 4: parsing ---------------------------------------------------------------------------

@pytest.mark.parametrize("relative, text", [
    ("references/spec_template_train.yaml", "train: [unclosed\n"),
    ("schemas/train.schema.json", '{"type": "object",}'),
])
def test_file_that_does_not_parse(demo_skill, relative, text):
    (demo_skill / relative).write_text(text)
    # Reported once, by the parse rule; rules that need the content skip the file.
    assert errors(demo_skill.parents[1]) == [("parse", f"skills/{SKILL}/{relative}")]


def test_unparsable_hooks_json_reported_once(tiny_bank):
    (tiny_bank / "hooks" / "hooks.json").write_text("{")
    assert errors(tiny_bank) == [("parse", "hooks/hooks.json")]


# --- rule 5: skill_info.yaml -------------------------------------------------------------------

@pytest.mark.parametrize("old, new, needle", [
    ("source: train_datasets", "source: training_data", "data_sources.train.dataset.train_dataset.csv_path.source"),
    ("resolver: output_dir", "resolver: somewhere", "actions.train.spec_params.0.resolver"),
    ("automl_enabled: true\n", "", "'automl_enabled' is a required property"),
    ("template: references/spec_template_train.yaml", "template: references/spec_template_nope.yaml",
     "actions.train.template 'references/spec_template_nope.yaml' does not exist"),
    ("container_image: tao_toolkit.pyt", "container_image: tao_toolkit.pyt2", "not a key under images:"),
    ("container_image: tao_toolkit.pyt\n", "", "actions.train has no container image"),
    ("    config_format: yaml\n", "", "'config_format' is a required property"),
    ("-e {config_path}", "-e spec.yaml", "actions.train.command"),
    ("skill: tao-demo-skill", "skill: tao-other", "differs from the folder name"),
])
def test_skill_info_rule(demo_skill, old, new, needle):
    replace_in(demo_skill / "references" / "skill_info.yaml", old, new)
    finding = only_error(demo_skill.parents[1])
    assert (finding.rule, finding.file) == ("skill-info", f"skills/{SKILL}/references/skill_info.yaml")
    assert needle in finding.message


# --- rule 6: hooks.json ------------------------------------------------------------------------

def test_hook_script_missing(tiny_bank):
    (tiny_bank / "hooks" / "check.py").unlink()
    finding = only_error(tiny_bank)
    assert (finding.rule, finding.file) == ("hooks", "hooks/hooks.json")
    assert "hooks/check.py" in finding.message


@pytest.mark.parametrize("old, new", [
    ('"PostToolUse"', '"AfterToolUse"'),      # unknown event
    ('"type": "command"', '"type": "shell"'),  # unknown handler type
    ('"command": ', '"cmd": '),                # command handler without command
])
def test_hooks_json_shape(tiny_bank, old, new):
    replace_in(tiny_bank / "hooks" / "hooks.json", old, new)
    rules = {rule for rule, _ in errors(tiny_bank)}
    assert rules == {"hooks"}


# --- plugin manifests ---------------------------------------------------------------------------

def test_plugin_json_naming_a_missing_hooks_file(tiny_bank):
    plugin = tiny_bank / ".claude-plugin" / "plugin.json"
    write_json(plugin, {**json.loads(plugin.read_text()), "hooks": "./hooks/extra.json"})
    (tiny_bank / "hooks" / "hooks.json").rename(tiny_bank / "hooks" / "other.json")
    assert errors(tiny_bank) == [("hooks", "hooks/hooks.json"), ("plugin", ".claude-plugin/plugin.json")]


@pytest.mark.parametrize("hooks", ["./hooks/hooks.json", ["hooks/hooks.json"]])
def test_plugin_json_naming_the_standard_hooks_file(tiny_bank, hooks):
    # Claude Code loads hooks/hooks.json by itself: naming it again breaks the plugin's hooks.
    plugin = tiny_bank / ".claude-plugin" / "plugin.json"
    write_json(plugin, {**json.loads(plugin.read_text()), "hooks": hooks})
    finding = only_error(tiny_bank)
    assert (finding.rule, finding.file) == ("plugin", ".claude-plugin/plugin.json")
    assert "already loads" in finding.message


def test_marketplace_source_without_a_plugin(tiny_bank):
    replace_in(tiny_bank / ".claude-plugin" / "marketplace.json", '"source": "./"', '"source": "./skills"')
    finding = only_error(tiny_bank)
    assert (finding.rule, finding.file) == ("plugin", ".claude-plugin/marketplace.json")


# --- rule 7: evals.json ------------------------------------------------------------------------

@pytest.mark.parametrize("mutate, needle", [
    (lambda d: d["evals"][0].pop("expectations"), "'expectations' is a required property"),
    (lambda d: d["evals"][0].update(id="one"), "evals.0.id"),
    (lambda d: d.update(skill_name="tao-other"), "differs from the folder name"),
    (lambda d: d["evals"].append(dict(d["evals"][0])), "duplicate eval ids [1]"),
])
def test_evals_rule(demo_skill, mutate, needle):
    path = demo_skill / "evals" / "evals.json"
    data = json.loads(path.read_text())
    mutate(data)
    write_json(path, data)
    finding = only_error(demo_skill.parents[1])
    assert (finding.rule, finding.file) == ("evals", f"skills/{SKILL}/evals/evals.json")
    assert needle in finding.message


def test_missing_evals_is_a_warning(demo_skill):
    (demo_skill / "evals" / "evals.json").unlink()
    found = validate_bank(demo_skill.parents[1])
    assert [(f.rule, f.severity) for f in found] == [("evals", "warning")]


# --- rule 8: versions --------------------------------------------------------------------------

def test_untagged_image_in_a_skill(demo_skill):
    with (demo_skill / "SKILL.md").open("a") as handle:
        handle.write("docker pull nvcr.io/nvidia/tao/tao-toolkit:7.1.0-pyt\n")
    finding = only_error(demo_skill.parents[1])
    assert (finding.rule, finding.file) == ("versions", SKILL_MD_REL)
    assert "untagged" in finding.message and finding.line


def test_drifted_tagged_image(demo_skill):
    with (demo_skill / "references" / "guide.md").open("a") as handle:
        handle.write("nvcr.io/nvidia/tao/tao-toolkit:6.0.0-pyt  # versions-key: images.tao_toolkit.pyt\n")
    finding = only_error(demo_skill.parents[1])
    assert finding.rule == "versions" and "drifted" in finding.message


def test_missing_repo_schema_is_reported_not_raised(tiny_bank):
    (tiny_bank / "schemas" / "evals.schema.json").unlink()
    finding = only_error(tiny_bank)
    assert finding.rule == "evals" and "schemas/evals.schema.json" in finding.message


def test_command_scripts_fill_in_the_plugin_root(tmp_path):
    from tao_skill_bank.validate.runner import command_scripts

    assert command_scripts("python3 ${CLAUDE_PLUGIN_ROOT}/hooks/a.py --json", tmp_path) == [f"{tmp_path}/hooks/a.py"]
    assert command_scripts("bash $CLAUDE_PLUGIN_ROOT/hooks/b.sh", tmp_path) == [f"{tmp_path}/hooks/b.sh"]
    assert command_scripts("tao-skills gaps check", tmp_path) == []


def test_hook_script_under_another_variable_is_not_guessed(tiny_bank):
    replace_in(tiny_bank / "hooks" / "hooks.json", "${CLAUDE_PLUGIN_ROOT}/hooks/check.py",
               "${CLAUDE_PROJECT_DIR}/tools/x.py")
    assert errors(tiny_bank) == []

"""Agent Skills frontmatter rules, on text (no files)."""

import pytest

from tao_skill_bank.validate.frontmatter import (body_findings, frontmatter_findings, parse_skill_md,
                                                 split_frontmatter)

GOOD = {"name": "tao-x", "description": "Does x. Use when asked for x."}


def messages(meta, folder="tao-x"):
    return [f.message for f in frontmatter_findings(meta, folder, "SKILL.md")]


def test_minimal_frontmatter_is_clean():
    assert messages(GOOD) == []


@pytest.mark.parametrize("name", ["-tao-x", "tao-x-", "tao--x", "Tao-x", "tao_x", "a" * 65])
def test_bad_names(name):
    found = messages({**GOOD, "name": name}, folder=name)
    assert len(found) == 1 and "must be 1-64 chars" in found[0]


def test_name_of_64_chars_is_fine():
    assert messages({**GOOD, "name": "a" * 64}, folder="a" * 64) == []


@pytest.mark.parametrize("description, needle", [
    ("", "missing or empty"),
    ("x" * 1025, "1025 characters"),
    ("use for a -> b", "'<' or '>'"),
])
def test_bad_descriptions(description, needle):
    found = messages({**GOOD, "description": description})
    assert len(found) == 1 and needle in found[0]


def test_description_of_1024_chars_is_fine():
    assert messages({**GOOD, "description": "x" * 1024}) == []


def test_metadata_must_be_string_map():
    assert messages({**GOOD, "metadata": ["a"]}) == ["'metadata' must be a mapping of string to string"]
    assert len(messages({**GOOD, "metadata": {"version": "1", "n": 2}})) == 1


def test_split_needs_opening_and_closing_markers():
    assert split_frontmatter("---\nname: a\n---\nbody\n") == ("name: a\n", "body\n")
    assert split_frontmatter("# title\n---\n") == (None, "# title\n---\n")
    assert split_frontmatter("---\nname: a\n") == (None, "---\nname: a\n")


def test_missing_frontmatter_is_one_finding():
    meta, _, found = parse_skill_md("# no frontmatter\n", "SKILL.md")
    assert meta is None and len(found) == 1 and found[0].rule == "frontmatter"


def test_frontmatter_that_is_not_a_mapping():
    meta, _, found = parse_skill_md("---\n- a\n---\n", "SKILL.md")
    assert meta is None and "must be a mapping" in found[0].message


def test_body_limit_is_a_warning_at_500_lines():
    assert body_findings("x\n" * 499, "SKILL.md") == []
    (finding,) = body_findings("x\n" * 500, "SKILL.md")
    assert finding.severity == "warning"

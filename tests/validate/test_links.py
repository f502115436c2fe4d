"""Extraction of local link targets from markdown."""

from tao_skill_bank.validate.links import relative_link_targets


def targets(markdown):
    return [t for _, t in relative_link_targets(markdown)]


def test_keeps_local_paths_and_strips_fragments():
    text = "[a](references/a.md) ![img](assets/p.png \"title\") [b](b.md#part) [c](<dir/with space.md>)"
    assert targets(text) == ["references/a.md", "assets/p.png", "b.md", "dir/with space.md"]


def test_skips_urls_mail_and_anchors():
    text = "[w](https://x.org/a.md) [h](http://x) [m](mailto:a@b.c) [s](#section) [f](ftp://x)"
    assert targets(text) == []


def test_reference_definitions_count():
    assert targets("See [guide][g].\n\n[g]: references/guide.md\n") == ["references/guide.md"]


def test_code_is_not_prose():
    text = "`[x](in-span.md)`\n```bash\n[y](in-fence.md)\n```\n[z](after.md)\n"
    assert relative_link_targets(text) == [(5, "after.md")]


def test_percent_encoding_is_decoded():
    assert targets("[a](my%20file.md)") == ["my file.md"]

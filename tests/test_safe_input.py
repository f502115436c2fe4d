"""The bounded readers: every hostile YAML/JSON/text kind is one UserError line, and YAML scalars
resolve exactly as OmegaConf 2.3's loader (the one TAO's Hydra uses) resolves them."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tao_skill_bank import safe_input
from tao_skill_bank.errors import UserError

BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(9))
# quadratic-blowup variant: one big anchored string list, referenced many times
WIDE_ALIAS = "a: &a [" + ", ".join(["x"] * 2000) + "]\nb: [" + ", ".join(["*a"] * 2000) + "]\n"

HOSTILE_YAML = {
    "billion laughs": (BILLION_LAUGHS, "alias"),
    "wide alias fan-out": (WIDE_ALIAS, "alias"),
    "recursive alias": ("a: &a [1, *a]\n", "recursive alias"),
    "100k-deep flow": ("[" * 100_000 + "]" * 100_000, "nest"),
    "100k-deep block": ("- " * 100_000 + "x\n", "nest"),
    "huge int": ("x: " + "9" * 100_000 + "\n", "64-bit"),
    "int just above int64": ("x: 9223372036854775808\n", "64-bit"),
    "huge hex int": ("x: 0x" + "f" * 5000 + "\n", "64-bit"),
    "python tag": ("x: !!python/object/apply:os.system [echo hi]\n", "tag"),
    "binary tag": ("x: !!binary aGVsbG8=\n", "tag"),
    "timestamp tag": ("x: !!timestamp 2024-01-01\n", "tag"),
    "local tag": ("x: !secret value\n", "tag"),
    "duplicate key": ("a: 1\nb: 2\na: 3\n", "duplicate key"),
    "too many values": ("[" + ",".join(["1"] * 250_000) + "]", "values"),
    "syntax": ("a: [1, 2\nb: 3\n", "not valid YAML"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_YAML))
def test_hostile_yaml_text_is_one_line_error(name):
    text, needle = HOSTILE_YAML[name]
    with pytest.raises(UserError) as err:
        safe_input.load_yaml_text(text, source="spec.yaml", field="x")
    line = err.value.one_line()
    assert "\n" not in line and line.startswith("spec.yaml: field 'x': ") and needle in line, line


def test_alias_counting_is_linear_in_the_document():
    # 30 levels of doubling would be 2**30 nodes if anything expanded it; refused while composing.
    doc = "l0: &l0 [x, x]\n" + "".join(f"l{i}: &l{i} [*l{i - 1}, *l{i - 1}]\n" for i in range(1, 30))
    with pytest.raises(UserError, match="alias"):
        safe_input.load_yaml_text(doc, source="s")


def test_ordinary_anchors_and_merge_keys_still_load():
    doc = "base: &b {lr: 1e-3, epochs: 10}\ntrain:\n  <<: *b\n  epochs: 20\nval: *b\n"
    data = safe_input.load_yaml_text(doc, source="s")
    assert data["train"] == {"lr": 0.001, "epochs": 20} and data["val"] == {"lr": 0.001, "epochs": 10}


def test_limits_are_inclusive_of_legitimate_values():
    assert safe_input.load_yaml_text("x: 9223372036854775807\ny: -9223372036854775808\n", source="s") == \
        {"x": 2 ** 63 - 1, "y": -(2 ** 63)}
    nested = "[" * safe_input.MAX_DEPTH + "]" * safe_input.MAX_DEPTH
    assert safe_input.load_yaml_text(nested, source="s") is not None
    with pytest.raises(UserError, match="nest"):
        safe_input.load_yaml_text("[" + nested + "]", source="s")


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_file_readers_refuse_big_special_and_non_utf8_files(tmp_path):
    big = _write(tmp_path / "big.yaml", b"a: 1\n" + b"#" * (safe_input.MAX_YAML_BYTES + 10))
    with pytest.raises(UserError, match="limit") as err:
        safe_input.load_yaml_file(big, what="train config", field="train_config")
    assert "big.yaml" in err.value.one_line() and "train config" in err.value.one_line()
    latin = _write(tmp_path / "latin.yaml", "name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(UserError, match=r"not UTF-8 text \(byte 0xe9 at offset 9\)"):
        safe_input.load_yaml_file(latin)
    bom = _write(tmp_path / "bom.yaml", b"\xef\xbb\xbfa: 1\n")
    assert safe_input.load_yaml_file(bom) == {"a": 1}
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(UserError, match="not a regular file"):  # would block forever if opened
        safe_input.load_yaml_file(fifo)
    with pytest.raises(UserError, match="not found") as err:
        safe_input.load_yaml_file(tmp_path / "nope.yaml", fix_missing="pass the spec")
    assert "pass the spec" in err.value.one_line()
    with pytest.raises(UserError, match="folder"):
        safe_input.load_yaml_file(tmp_path)


HOSTILE_JSON = {
    "100k-deep array": ("[" * 100_000 + "]" * 100_000, "nest"),
    "100k-deep object": ('{"a":' * 100_000 + "1" + "}" * 100_000, "nest"),
    "65-deep": ("[" * 65 + "]" * 65, "nest"),
    "huge int": ("9" * 100_000, "64-bit"),
    "int above int64": ('{"n": 9223372036854775808}', "64-bit"),
    "lone surrogate": ('{"note": "\\ud800"}', "surrogate"),
    "lone surrogate key": ('{"\\udfff": 1}', "surrogate"),
    "syntax": ('{"a": ', "not valid JSON"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_JSON))
def test_hostile_json_is_one_line_error(name):
    text, needle = HOSTILE_JSON[name]
    with pytest.raises(UserError) as err:
        safe_input.load_json_text(text, source="spotcheck.json")
    line = err.value.one_line()
    assert "\n" not in line and line.startswith("spotcheck.json: ") and needle in line, line


def test_json_keeps_what_tao_schemas_need():
    assert safe_input.load_json_text('{"max": Infinity, "p": "\\ud83d\\ude00", "n": -12}', source="s") == \
        {"max": float("inf"), "p": "\U0001F600", "n": -12}


def test_dotted_keys_and_command_line_ints():
    assert safe_input.split_dotted_key("train.optim.lr") == ["train", "optim", "lr"]
    with pytest.raises(UserError, match="5,000 parts"):
        safe_input.split_dotted_key(".".join(["a"] * 5000))
    with pytest.raises(UserError, match="characters"):
        safe_input.split_dotted_key("a" * 5000)
    with pytest.raises(UserError, match="empty part"):
        safe_input.split_dotted_key("a..b")
    assert safe_input.bounded_int(" 50 ", source="command line", field="top_k_per_label") == 50
    with pytest.raises(UserError, match="64-bit"):
        safe_input.bounded_int("9" * 5000, source="command line", field="top_k_per_label")


# ---------------------------------------------------------------- differential: OmegaConf 2.3's loader

SCALARS = ["1", "-1", "+1", "0", "08", "010", "0o17", "0x1f", "0b101", "1_000", "190:20:30", "1.5", "-1.5", "1.",
           ".5", "+.5", "-.5", "1e3", "1E3", "1e-3", "-1e+3", "1.5e3", ".5e-3", ".5e3", "1_0.5", "1:30.5", ".inf",
           "-.inf", "+.INF", ".nan", ".NaN", "nan", "inf", "true", "True", "TRUE", "yes", "no", "on", "off", "y",
           "n", "null", "~", "Null", "", "2024-01-01", "2024-01-01 10:00:00", "2001-12-14t21:59:43.10-05:00",
           "12:30", "1e", "e3", "0x", "1__0", "'1'", '"1e3"', "abc", "a b", "-", "--", "- x", "[1, 2]", "{a: 1}",
           "'it''s'", '"tab\\tx"', "1,000", "$x", "${x}", "é", "١٢"]


@pytest.mark.oracle
def test_scalars_resolve_as_omegaconf_does(tmp_path):
    from oi.oracle import oi_oracle_python

    python = oi_oracle_python()
    docs = [f"v: {s}\n" for s in SCALARS] + [
        "a: &x {b: 1}\nc: *x\n", "<<: {a: 1}\nb: 2\n", "a: 1\na: 2\n", "? [1, 2]\n: x\n", "1: a\n1: b\n",
        "a:\n  - 1\n  - {b: [2, 3]}\n", "x: !!str 12\n", "x: !!int '12'\n", "x: !!float 1\n"]
    driver = tmp_path / "driver.py"
    driver.write_text(textwrap.dedent("""
        import json, sys, yaml
        from omegaconf._utils import get_yaml_loader
        out = []
        for doc in json.load(open(sys.argv[1])):
            try:
                out.append(["ok", repr(yaml.load(doc, Loader=get_yaml_loader()))])
            except Exception as exc:
                out.append(["error", type(exc).__name__])
        print(json.dumps(out))
        """))
    cases = tmp_path / "docs.json"
    cases.write_text(json.dumps(docs))
    proc = subprocess.run([str(python), str(driver), str(cases)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    theirs = json.loads(proc.stdout)
    for doc, (status, value) in zip(docs, theirs):
        try:
            ours = ["ok", repr(safe_input.load_yaml_text(doc, source="s"))]
        except UserError:
            ours = ["error"]
        if status == "error":
            assert ours[0] == "error", (doc, ours)
        else:
            assert ours == [status, value], doc

import json
import re
import sys

import pytest
import yaml

from secret_corpus import FILE_TYPES, KINDS
from tao_skill_bank.rca_hooks import miniyaml, payload, redact, reportcheck, runcheck
from tao_skill_bank.rca_hooks.redact import DENSE_LINE_VALUES, MARK, redact_bytes, redact_text

if sys.version_info >= (3, 11):
    import re._constants as sre_constants
    import re._parser as sre_parse
else:  # pragma: no cover
    import sre_constants
    import sre_parse

SECRET_FORMS = [
    ("export NGC_API_KEY=abcd1234efgh", "abcd1234efgh"),
    ("NGC_CLI_API_KEY='two words'", "two words"),
    ('{"env": {"HF_TOKEN": "plainvalue42"}}', "plainvalue42"),
    ("password: hunter2 with spaces", "hunter2"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCY", "wJalrXUtnFEMI"),
    ("ids AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE"),
    ("curl -H 'Authorization: Bearer eyJhbGciOi.abc.def'", "eyJhbGciOi"),
    ("docker run -e NGC_API_KEY=nvapi-0123456789abcdefghijKLMN img", "nvapi-0123456789"),
    ("token is hf_abcdefghijklmnopqrstuvwxyz1234", "hf_abcdefghij"),
    ("ngc --api-key SECRETVAL123 registry", "SECRETVAL123"),
    ("legacy ZmFrZWlkOjEyMzQ1Njc4LTEyMzQtNTY3OC0xMjM0LTU2Nzg5MGFiY2RlZmZha2VrZXlmYWtla2V5ZmFrZWtleQ== x", "ZmFrZWlk"),
    ("PGPASSWORD=pg-s3cret psql -h db", "pg-s3cret"),
    ("postgres://app:pa55word@db:5432/x", "pa55word"),
    ('{"auths": {"nvcr.io": {"auth": "JG9hdXRodG9rZW46bnZhcGk="}}}', "JG9hdXRodG9rZW46bnZhcGk="),
    ("wandb.api_key=0123abcd9876fedc", "0123abcd9876fedc"),
    ("git config --global github.token s3cr3t-config-value", "s3cr3t-config-value"),
]


@pytest.mark.parametrize("text,secret", SECRET_FORMS)
def test_secret_forms_are_redacted(text, secret):
    redacted, count = redact_text(text)
    assert secret not in redacted
    assert MARK in redacted and count >= 1


@pytest.mark.parametrize("text", [
    "KeyError: 'siamese_score'", '"input_tokens": 1234', "docker login -u $oauthtoken --password-stdin",
    "-e NGC_API_KEY=$NGC_API_KEY", "url: https://example.com/x", "# versions-key: images.tao_toolkit.pyt",
    "sha " + "a" * 64, "| PASS | 14 | 0.1 |", '{"PASS": 14, "NO_PASS": 5}', "n_pass = int(labels.is_pass.sum())",
    "image_key: images.tao_toolkit.deploy", "sorted(rows, key=lambda r: r[0])", "apply --set key=value overrides",
    "the key: see the table below", '"uuid": "3f2a9c1e-8b7d-4e6f-a5c4-1d2e3f4a5b6c"', "max_tokens: 4096",
    '{"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}', "https://github.com/org/repo.git",
    "DATA_SERVICES_KEY = \"images.tao_toolkit.data_services\"", "primary_key: id", "threshold: 0.4321987",
    "nvcr.io/nvidia/tao/tao-toolkit:7.1.0-data-services",
])
def test_harmless_text_is_unchanged(text):
    assert redact_text(text) == (text, 0)


def test_json_lines_stay_valid_json_and_lose_nested_secrets():
    line = json.dumps({"input": {"command": "export NGC_API_KEY=s1\nexport MY_PASSWORD='p w'\nAPI_TOKEN=\"q w\"\n"},
                       "cfg": json.dumps({"api_key": "inner-secret"})})
    redacted, count = redact_text(line)
    parsed = json.loads(redacted)
    assert count == 4
    for secret in ("s1\\n", "p w", "q w", "inner-secret"):
        assert secret not in redacted
    assert json.loads(parsed["cfg"]) == {"api_key": MARK}


def test_corpus_is_large_and_varied():
    assert len(KINDS) >= 40 and len({k.kind for k in KINDS}) == len(KINDS)
    assert len({k.secret for k in KINDS}) == len(KINDS)


@pytest.mark.parametrize("file_type", sorted(FILE_TYPES))
def test_no_planted_secret_survives_in_any_file_type(file_type):
    text = FILE_TYPES[file_type]()
    redacted, count = redact_text(text)
    leaked = [k.kind for k in KINDS for leak in k.leaks() if leak in redacted]
    assert leaked == []
    assert count >= len(KINDS)
    if file_type.endswith(".jsonl"):
        for line in redacted.splitlines():
            json.loads(line)  # every line still valid JSON
    elif file_type.endswith(".json"):
        json.loads(redacted)
    elif file_type.endswith(".yaml"):
        assert isinstance(yaml.safe_load(redacted), dict)


def test_redaction_is_idempotent():
    text = FILE_TYPES["transcript.jsonl"]()
    once, _ = redact_text(text)
    assert redact_text(once) == (once, 0)


def test_bytes_that_are_not_utf8_are_still_redacted():
    data = "caf\xe9 ".encode("latin-1") + b"PGPASSWORD=latin-secret \xff\xfe\n"
    out, count = redact_bytes(data)
    assert b"latin-secret" not in out and count == 1 and out.startswith(b"caf\xe9 ")


# ---- adversarial lines: correct output (timings are in benchmarks/hooks_latency.py) -------------

N = 100_000


def test_truncated_json_with_a_windows_path_under_api_key():
    # A tool result holding a config cut off mid-string: JSON inside a JSON string, the path's
    # backslashes escaped twice, no closing quotes anywhere.
    inner = '{"api_key": "C:\\\\Users\\\\me\\\\' + "dir\\\\" * 5000
    line = json.dumps({"type": "user", "content": inner})[:-2]  # cut: no closing quote, no brace
    out, count = redact_text(line + "\n" + json.dumps({"next": "line"}) + "\n")
    first, second = out.splitlines()
    assert count == 1 and "Users" not in first and "dir" not in first
    assert first.startswith('{"type": "user", "content": "{\\"api_key\\": \\"' + MARK)
    assert second == '{"next": "line"}'


@pytest.mark.parametrize("line,kept_prefix", [
    ('{"api_key": "' + "\\" * N + "s3cret", '{"api_key": "' + MARK),  # backslash run under a secret name
    ('password="' + "a" * N, 'password="' + MARK),                   # unterminated quote
    ("password='" + "a b " * (N // 4), "password='" + MARK),
    ('{"token": "' + '\\"' * (N // 2) + "x9", '{"token": "' + MARK),
])
def test_adversarial_lines_are_redacted_to_the_end_of_their_string(line, kept_prefix):
    out, count = redact_text(line)
    assert count == 1 and out == kept_prefix


@pytest.mark.parametrize("line", [
    "A" * N, '"' + "\\" * N + '"', '"' * N, "'" * N, "key " * (N // 4), "eyJ" * (N // 3), "1.2.3.4." * (N // 8),
    "://a:" * (N // 5), "--password " * (N // 11), "a_" * (N // 2), "key=$" * (N // 5), "sig=&" * (N // 5),
    "password: $x " * DENSE_LINE_VALUES, "the key: see " * DENSE_LINE_VALUES, '"key": "key", ' * DENSE_LINE_VALUES,
    "curl -u a: " * (DENSE_LINE_VALUES // 2), "image_key=1 " * (N // 12),
    # near misses of the formats and value shapes detect-secrets' rules added (test_redact_differential.py)
    '"ab" == ' * (N // 8), ("M" + "a" * 24 + ".") * (N // 26), ("a" * 32 + "-us") * (N // 35),
    ("12345678:" + "a" * 34 + " ") * (N // 44), '"abc123def4\' ' * (N // 13), "k: " + "Ab" * (N // 2),
    ("x, k: " + "ab" * 10 + ",") * (N // 27), "-eyJ" * (N // 4), "BEGIN " * (N // 6), ("cl_pw " + "a" * 23 + " ") * (N // 30),
    "k: >-\n  abcdefabcdef\n" * (N // 20),
])
def test_adversarial_lines_without_secrets_come_back_unchanged(line):
    assert redact_text(line) == (line, 0)


@pytest.mark.parametrize("unit", ["password: $x ", "the key: see ", "pwd=$HOME&", '"token": null, ', "secret: secret: "])
def test_a_line_with_too_many_secret_values_is_redacted_from_there_to_its_end(unit):
    # Kept or prose values are evaluated one by one up to the bound; past it the rest of the line
    # goes, and the next line is scanned as usual.
    line = unit * (3 * DENSE_LINE_VALUES)
    out, count = redact_text(line + "\nnext: line password=hunter2\n")
    first, second = out.split("\n")[:2]
    assert first.endswith(MARK) and MARK not in first[:-len(MARK)]
    assert len(first) < len(line) and line.startswith(first[:-len(MARK)])
    assert first[:-len(MARK)].count(unit.split()[0].strip('"=:$&')) >= DENSE_LINE_VALUES
    assert second == "next: line password=" + MARK and count == 2


def test_past_the_bound_no_secret_of_the_line_survives():
    line = "".join(f"password={i:08d}x&" for i in range(3 * DENSE_LINE_VALUES))
    out, count = redact_text(line)
    assert not any(f"{i:08d}x" in out for i in range(3 * DENSE_LINE_VALUES))
    assert count == DENSE_LINE_VALUES + 1


def test_the_python_work_per_line_is_bounded_on_dense_lines(monkeypatch):
    # The time bound's cost model (benchmarks/hooks_latency.py times it): the regex engine walks the
    # bytes; Python evaluates at most ~DENSE_LINE_VALUES values per line, and judges a repeated
    # name once, however the line is built.
    from secret_corpus import dense_lines
    calls = {"values": 0}
    value_span = redact._value_span

    def counted(*args):
        calls["values"] += 1
        return value_span(*args)
    monkeypatch.setattr(redact, "_value_span", counted)
    for index, (unit, line) in enumerate(dense_lines()):
        if index % 15:
            continue
        calls["values"] = 0
        redact._is_secret_name.cache_clear()
        redact_bytes(line + b"\n" + line)
        assert calls["values"] <= 2 * (2 * DENSE_LINE_VALUES + 1), unit
        assert redact._is_secret_name.cache_info().misses <= 16, unit  # names judged, not looked up


def test_long_token_runs_are_redacted_once():
    token = "ghp_" + "A1b2" * (N // 4)
    out, count = redact_text(f"x {token} y")
    assert out == f"x {MARK} y" and count == 1
    repeated = "nvapi-" * (N // 6)  # each prefix inside the run is not rescanned
    assert redact_text(repeated)[1] == 1


# ---- the regexes themselves: no nested unbounded repetition (the shape that backtracks) ---------

def _repeats(parsed, inside_unbounded: bool, path: list, found: list) -> None:
    for op, arg in parsed:
        if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, getattr(sre_constants, "POSSESSIVE_REPEAT", None)):
            low, high, body = arg
            unbounded = high == sre_constants.MAXREPEAT
            if inside_unbounded or (unbounded and _has_repeat(body)):
                found.append("/".join(path))
            _repeats(body, inside_unbounded or unbounded, path, found)
        elif op == sre_constants.SUBPATTERN:
            _repeats(arg[-1], inside_unbounded, path, found)
        elif op == sre_constants.BRANCH:
            for branch in arg[1]:
                _repeats(branch, inside_unbounded, path, found)
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            _repeats(arg[1], inside_unbounded, path, found)


def _has_repeat(parsed) -> bool:
    for op, arg in parsed:
        if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT) and arg[1] > 1:
            return True
        if op == sre_constants.SUBPATTERN and _has_repeat(arg[-1]):
            return True
        if op == sre_constants.BRANCH and any(_has_repeat(b) for b in arg[1]):
            return True
    return False


def _module_patterns():
    for module in (redact, runcheck, reportcheck, payload, miniyaml):
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern):
                yield f"{module.__name__}.{name}", value
            elif isinstance(value, dict):
                for key, item in value.items():
                    if isinstance(item, re.Pattern):
                        yield f"{module.__name__}.{name}[{key!r}]", item
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    pattern = item[0] if isinstance(item, tuple) and item and isinstance(item[0], re.Pattern) else item
                    if isinstance(pattern, re.Pattern):
                        yield f"{module.__name__}.{name}[{i}]", pattern


def test_no_regex_in_the_hook_modules_nests_unbounded_repetition():
    patterns = list(_module_patterns())
    assert len(patterns) >= 40  # the walk really sees the modules' patterns
    offenders = []
    for name, pattern in patterns:
        found: list = []
        _repeats(sre_parse.parse(pattern.pattern, pattern.flags), False, [name], found)
        offenders += found
    assert offenders == []


def test_the_nesting_check_catches_a_backtracking_pattern():
    found: list = []
    _repeats(sre_parse.parse(r'(?:[^"\\]|\\.?)*?(a+)+$'), False, ["x"], found)
    assert found

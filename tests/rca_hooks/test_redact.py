import json

import pytest

from tao_skill_bank.rca_hooks.redact import MARK, redact_text

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
]


@pytest.mark.parametrize("text,secret", SECRET_FORMS)
def test_secret_forms_are_redacted(text, secret):
    redacted, count = redact_text(text)
    assert secret not in redacted
    assert MARK in redacted and count >= 1


@pytest.mark.parametrize("text", [
    "KeyError: 'siamese_score'", '"input_tokens": 1234', "docker login -u $oauthtoken --password-stdin",
    "-e NGC_API_KEY=$NGC_API_KEY", "url: https://example.com/x", "# versions-key: images.tao_toolkit.pyt",
    "sha " + "a" * 64,
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

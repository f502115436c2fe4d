"""Planted-secret corpus for the redaction tests: realistic, randomly generated values of many
secret kinds, each rendered the way it turns up in every file type the package copies (session
transcript JSONL, settings JSON, YAML spec/config, run_record JSON, plain text).

A kind is (name, secret, env/key name or None, shell or log line holding the secret). `leaks`
gives the substrings that must not survive (for a PEM block: every body line).
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass

_RNG = random.Random(20250304)
ALNUM = string.ascii_letters + string.digits


def _rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


def _hex(n: int) -> str:
    return _rand(n, "0123456789abcdef")


def _jwt() -> str:
    def part(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'sub': _rand(12), 'iat': 1700000000})}.{_rand(43, ALNUM + '-_')}"


def _pem(label: str) -> str:
    body = [_rand(64, ALNUM + "+/") for _ in range(6)] + [_rand(20, ALNUM + "+/") + "=="]
    return f"-----BEGIN {label}-----\n" + "\n".join(body) + f"\n-----END {label}-----"


@dataclass(frozen=True)
class SecretKind:
    kind: str
    secret: str
    name: str | None  # env / key name when the secret is stored as a named value
    line: str         # how it appears in a shell command or a log

    def leaks(self) -> list[str]:
        if self.secret.startswith("-----BEGIN"):
            return [l for l in self.secret.splitlines()[1:-1] if len(l) >= 16]
        return [self.secret]


def _kinds() -> list[SecretKind]:
    slack_bot = f"xoxb-{_RNG.randint(10**10, 10**11)}-{_RNG.randint(10**10, 10**11)}-{_rand(24).lower()}"
    slack_user = f"xoxp-{_RNG.randint(10**10, 10**11)}-{_RNG.randint(10**10, 10**11)}-{_RNG.randint(10**10, 10**11)}-{_hex(32)}"
    docker_auth = base64.b64encode(f"$oauthtoken:nvapi-{_rand(40)}".encode()).decode()
    legacy_ngc = base64.b64encode(f"{_rand(26).lower()}:{_hex(8)}-{_hex(4)}-{_hex(4)}-{_hex(4)}-{_hex(12)}".encode()).decode()
    aws_secret = _rand(40, ALNUM + "+/")
    basic = base64.b64encode(f"admin:{_rand(14)}".encode()).decode()
    pw = [_rand(14, ALNUM + "!%^*") for _ in range(12)]
    kinds = [
        SecretKind("slack-bot", slack_bot, "SLACK_BOT_TOKEN", f"curl -d token={slack_bot} https://slack.com/api/auth.test"),
        SecretKind("slack-user", slack_user, None, f"slack user token {slack_user} pasted"),
        SecretKind("slack-webhook", f"T{_rand(8).upper()}/B{_rand(8).upper()}/{_rand(24)}", None, ""),
        SecretKind("jwt", _jwt(), "ID_TOKEN", ""),
        SecretKind("pem-rsa", _pem("RSA PRIVATE KEY"), "SSH_PRIVATE_KEY", ""),
        SecretKind("pem-openssh", _pem("OPENSSH PRIVATE KEY"), None, ""),
        SecretKind("pem-ec", _pem("EC PRIVATE KEY"), None, ""),
        SecretKind("pem-pkcs8", _pem("PRIVATE KEY"), "service_account_private_key", ""),
        SecretKind("github-classic", "ghp_" + _rand(36), "GITHUB_TOKEN", ""),
        SecretKind("github-fine-grained", "github_pat_" + _rand(22) + "_" + _rand(59), None, ""),
        SecretKind("github-oauth", "gho_" + _rand(36), None, ""),
        SecretKind("gitlab", "glpat-" + _rand(20, ALNUM + "-_"), "CI_JOB_TOKEN_X", ""),
        SecretKind("stripe-live", "sk_live_" + _rand(24), None, ""),
        SecretKind("stripe-restricted", "rk_live_" + _rand(24), "STRIPE_KEY", ""),
        SecretKind("aws-key-id", "AKIA" + _rand(16, string.ascii_uppercase + string.digits), "AWS_ACCESS_KEY_ID", ""),
        SecretKind("aws-secret", aws_secret, "AWS_SECRET_ACCESS_KEY", f"aws configure set aws_secret_access_key {aws_secret}"),
        SecretKind("google-api", "AIza" + _rand(35, ALNUM + "-_"), None, ""),
        SecretKind("openai", "sk-proj-" + _rand(48, ALNUM + "-_"), "OPENAI_API_KEY", ""),
        SecretKind("anthropic", "sk-ant-api03-" + _rand(80, ALNUM + "-_"), "ANTHROPIC_API_KEY", ""),
        SecretKind("npm", "npm_" + _rand(36), "NPM_TOKEN", ""),
        SecretKind("npmrc-authtoken", _hex(8) + "-" + _hex(4) + "-" + _hex(4) + "-" + _hex(4) + "-" + _hex(12), None, ""),
        SecretKind("pypi", "pypi-AgEIcHlwaS5vcmc" + _rand(80, ALNUM + "-_"), "TWINE_PASSWORD", ""),
        SecretKind("huggingface", "hf_" + _rand(34), "HF_TOKEN", ""),
        SecretKind("azure-storage", _rand(86, ALNUM + "+/") + "==", None, ""),
        SecretKind("twilio-sid", "AC" + _hex(32), None, ""),
        SecretKind("twilio-key", "SK" + _hex(32), "TWILIO_API_KEY", ""),
        SecretKind("sendgrid", "SG." + _rand(22, ALNUM + "-_") + "." + _rand(43, ALNUM + "-_"), "SENDGRID_API_KEY", ""),
        SecretKind("ngc-nvapi", "nvapi-" + _rand(64, ALNUM + "-_"), "NGC_API_KEY", ""),
        SecretKind("ngc-legacy", legacy_ngc, None, ""),
        SecretKind("docker-config-auth", docker_auth, None, ""),
        SecretKind("url-userinfo", pw[0], None, f"git clone https://deploy:{pw[0]}@gitlab.example.com/team/repo.git"),
        SecretKind("postgres-url", pw[1], None, f"psql postgresql://app:{pw[1]}@db.internal:5432/prod"),
        SecretKind("docker-login-p", pw[2], None, f"docker login -u bob -p {pw[2]} registry.example.com"),
        SecretKind("pgpassword", pw[3], "PGPASSWORD", ""),
        SecretKind("db-password-env", pw[4], "DB_PASSWORD", ""),
        SecretKind("client-secret", _rand(32), "client_secret", ""),
        SecretKind("cli-password-flag", pw[5], None, f"mlflow login --password {pw[5]} --user ann"),
        SecretKind("sshpass", pw[6], None, f"sshpass -p {pw[6]} ssh gpu-host nvidia-smi"),
        SecretKind("auth-bearer-opaque", _rand(40, ALNUM + "._-"), None, ""),
        SecretKind("auth-basic", basic, None, ""),
        SecretKind("mysql-p", pw[7], None, f"mysql -uroot -p{pw[7]} -e 'select 1'"),
        SecretKind("curl-user", pw[8], None, f"curl -u admin:{pw[8]} https://artifacts.example.com/api"),
        SecretKind("wandb-key", _hex(40), "wandb_api_key", ""),
        SecretKind("mysql-pwd-env", pw[9], "MYSQL_PWD", ""),
        SecretKind("x-api-key-header", _rand(32), None, ""),
        SecretKind("square", "sq0csp-" + _rand(43, ALNUM + "-_"), None, ""),
        SecretKind("google-oauth", "ya29." + _rand(60, ALNUM + "-_"), None, ""),
        SecretKind("passphrase", pw[10], "GPG_PASSPHRASE", ""),
        SecretKind("databricks", "dapi" + _hex(32), None, ""),
        SecretKind("session-cookie", _rand(32), None, ""),
        SecretKind("azure-sas-sig", _rand(43, ALNUM + "%") + "%3D", None, ""),
        SecretKind("query-token", _rand(28), None, ""),
    ]
    lines = {
        "slack-webhook": lambda s: f"curl -X POST https://hooks.slack.com/services/{s} -d '{{}}'",
        "pem-openssh": lambda s: "cat ~/.ssh/id_ed25519\n" + s,
        "pem-ec": lambda s: s,
        "jwt": lambda s: f"got {s} from the login endpoint",
        "npmrc-authtoken": lambda s: f"//registry.npmjs.org/:_authToken={s}",
        "azure-storage": lambda s: f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={s};EndpointSuffix=core.windows.net",
        "docker-config-auth": lambda s: json.dumps({"auths": {"nvcr.io": {"auth": s}}}),
        "auth-bearer-opaque": lambda s: f"curl -H 'Authorization: Bearer {s}' https://api.example.com/v1",
        "auth-basic": lambda s: f"curl -H \"Authorization: Basic {s}\" https://api.example.com",
        "x-api-key-header": lambda s: f"curl -H 'X-Api-Key: {s}' https://api.example.com",
        "session-cookie": lambda s: f"curl -H 'Cookie: {s}' https://intranet.example.com",
        "azure-sas-sig": lambda s: f"azcopy copy 'https://acct.blob.core.windows.net/c?sv=2022-11-02&sig={s}' .",
        "query-token": lambda s: f"wget 'https://dl.example.com/f.tar?access_token={s}&x=1'",
    }
    out = []
    for k in kinds:
        line = k.line or (lines[k.kind](k.secret) if k.kind in lines else
                          f"export {k.name}={k.secret}" if k.name else f"found credential {k.secret} in the log")
        out.append(SecretKind(k.kind, k.secret, k.name, line))
    return out


KINDS: list[SecretKind] = _kinds()


def _named(kind: SecretKind) -> dict:
    return {kind.name: kind.secret} if kind.name else {}


def text_file() -> str:
    return "\n".join(k.line for k in KINDS) + "\n"


def settings_json() -> str:
    env = {}
    for k in KINDS:
        env.update(_named(k))
    return json.dumps({"env": env, "hooks": {"PostToolUse": [{"matcher": "Bash", "hooks": [
        {"type": "command", "command": k.line}]} for k in KINDS]}, "model": "opus"}, indent=2)


def yaml_file() -> str:
    import yaml
    doc = {"notes": [k.line for k in KINDS]}
    for k in KINDS:
        if k.name:
            doc.setdefault("credentials", {})[k.name] = k.secret
    return yaml.safe_dump(doc, sort_keys=False, width=10_000)


def run_record_json() -> str:
    return json.dumps({"engine": "local", "command_lines": [k.line for k in KINDS],
                       "env": {k.name: k.secret for k in KINDS if k.name}}, indent=1)


def transcript_jsonl() -> str:
    """Claude Code-shaped lines: tool_use commands, tool results echoing files, a settings file
    read back (JSON inside a JSON string), and user text."""
    rows = []
    for i, k in enumerate(KINDS):
        rows.append({"type": "assistant", "uuid": f"u{i}", "message": {"content": [
            {"type": "tool_use", "id": f"t{i}", "name": "Bash", "input": {"command": k.line}}]}})
        rows.append({"type": "user", "message": {"content": [{"type": "tool_result", "tool_use_id": f"t{i}",
                                                              "content": f"$ {k.line}\nok\n"}]}})
        if k.name:
            rows.append({"type": "user", "toolUseResult": {"file": {"content": json.dumps({"env": _named(k)}, indent=2)}}})
    rows.append({"type": "user", "message": {"content": "here is my config:\n" + yaml_file()}})
    return "\n".join(json.dumps(r) for r in rows) + "\n"


FILE_TYPES = {"transcript.jsonl": transcript_jsonl, "settings.json": settings_json, "train.yaml": yaml_file,
              "run_record.json": run_record_json, "notes.txt": text_file}


# ---- dense lines: the shapes a hostile or generated line repeats thousands of times -------------

DENSE_NAMES = ["key", "pwd", "secret", "token", "password", "api_key", "auth", "sig", "cookie", "bearer", "login", "curl",
               "mysql", "sshpass", "-p", "--password", '"password"', "'token'", '\\"api_key\\"', "db_pass", "Authorization",
               "AWS_SECRET_ACCESS_KEY", "set key", "config key", "passwd", "credential", "x-api-key", "secretKey"]
DENSE_SEPARATORS = ["=", ":", ": ", " = ", " ", "\t", "  ", "=$x", ": $x", "=&", ": |", ': "', '="', "='", ": 'a b",
                    '=\\"', " -p", " -u a:", " Bearer "]
DENSE_JOINERS = ["", " ", "&", ",", ";", " # "]


def dense_lines(length: int = 100_000):
    """(unit, line): every name × separator × joiner unit repeated to `length` bytes — 3,192 lines
    holding up to one secret word every 3 bytes."""
    for name in DENSE_NAMES:
        for separator in DENSE_SEPARATORS:
            for joiner in DENSE_JOINERS:
                unit = (name + separator + joiner).encode()
                yield unit, unit * (length // len(unit))

"""Seeded generator of redaction cases for the differential test against detect-secrets.

Each case is a small file (content + extension) of a type the RCA package writes: a session
transcript line (JSONL, the text at JSON-escape depth 1 or, as a file read back inside a tool
result, depth 2), a settings-style JSON file, a YAML config, Markdown or plain text. Secret cases
carry a random value in one of the shapes detect-secrets' plugins recognise (every KeywordDetector
assignment style, base64/hex strings of lengths and entropies on both sides of the thresholds,
each token plugin, private-key blocks, URL user-info); harmless cases are realistic transcript
lines (paths, ids, metrics, timestamps, versions, IP addresses, digests under digest names).

The generator does not decide what is a secret: the test asks detect-secrets about every case.
Digests in harmless cases are digests of real files the generator writes (`real_files`), so the
test can allow exactly those.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
import uuid
from dataclasses import dataclass, field

import yaml

UPPER, LOWER, DIGITS = string.ascii_uppercase, string.ascii_lowercase, string.digits
ALNUM = string.ascii_letters + DIGITS
HEXL = "0123456789abcdef"
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
EXTENSIONS = (".jsonl", ".json", ".yaml", ".md", ".txt")


@dataclass(frozen=True)
class Case:
    kind: str        # "<family>:<form>", e.g. "keyword:php-var", "token:github", "harmless:metric"
    ext: str         # file extension the case is written with
    text: str        # whole file content
    secret: str      # the planted value ("" for harmless cases)
    harmless: bool   # generated as an ordinary line (the over-redaction corpus)


@dataclass
class Generated:
    cases: list[Case]
    real_files: dict[str, bytes] = field(default_factory=dict)  # name -> content (digests may stay)


class _Gen:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.real_files: dict[str, bytes] = {}

    # ---- values -------------------------------------------------------------------------------

    def rand(self, n: int, alphabet: str = ALNUM) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def word_first(self, n: int, alphabet: str) -> str:
        """Random string starting with a letter (detect-secrets' keyword values start with \\w)."""
        return self.rng.choice(string.ascii_letters) + self.rand(n - 1, alphabet)

    def password(self) -> str:
        n = self.rng.randint(4, 28)
        return self.word_first(n, self.rng.choice([ALNUM, ALNUM + "!%^*@#-_.", LOWER + DIGITS, ALNUM + "+/="]))

    def entropy_string(self, alphabet: str, length: int, distinct: int) -> str:
        """`length` characters drawn from `distinct` symbols of `alphabet`: entropy near log2(distinct)."""
        symbols = self.rng.sample(alphabet, min(distinct, len(alphabet)))
        body = symbols + [self.rng.choice(symbols) for _ in range(max(0, length - len(symbols)))]
        self.rng.shuffle(body)
        return "".join(body[:length])

    def digest(self, algorithm: str) -> str:
        content = self.rand(self.rng.randint(10, 200)).encode()
        name = f"file_{len(self.real_files)}.bin"
        self.real_files[name] = content
        return hashlib.new(algorithm, content).hexdigest()

    def jwt(self) -> str:
        def part(obj) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
        alg = self.rng.choice(["HS256", "RS256", "ES384"])
        payload = self.rng.choice([{}, {"sub": self.rand(10), "iat": self.rng.randint(10**9, 2 * 10**9)}])
        return f"{part({'alg': alg, 'typ': 'JWT'})}.{part(payload)}.{self.rand(self.rng.choice([0, 3, 43, 86]), B64URL)}"

    def pem(self, label: str) -> str:
        body = [self.rand(64, B64) for _ in range(self.rng.randint(2, 6))] + [self.rand(20, B64) + "=="]
        return f"-----BEGIN {label}-----\n" + "\n".join(body) + f"\n-----END {label}-----"

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def msg_id(self, prefix: str) -> str:
        return prefix + "01" + self.rand(22, ALNUM)

    # ---- token plugins ------------------------------------------------------------------------

    def token(self) -> tuple[str, str]:
        r, rand = self.rng, self.rand
        kinds = {
            "aws-key-id": lambda: r.choice(["AKIA", "ASIA", "ABIA", "ACCA", "A3T" + r.choice(UPPER + DIGITS)]) + rand(16, UPPER + DIGITS),
            "azure-storage": lambda: "AccountKey=" + rand(86, B64) + "==",
            "artifactory-api": lambda: "AKC" + rand(r.randint(10, 70), ALNUM),
            "artifactory-password": lambda: "AP" + r.choice(DIGITS + "ABCDEF") + rand(r.randint(8, 60), ALNUM),
            "discord": lambda: r.choice("MNO") + rand(r.randint(23, 25), B64URL) + "." + rand(6, B64URL) + "." + rand(27, B64URL),
            "github": lambda: r.choice(["ghp", "gho", "ghu", "ghs", "ghr"]) + "_" + rand(36, ALNUM + "_"),
            "github-fine-grained": lambda: "github_pat_" + rand(22) + "_" + rand(59),
            "gitlab": lambda: r.choice(["glpat", "gldt", "glft", "glsoat", "glrt"]) + "-" + rand(r.randint(20, 50), B64URL),
            "gitlab-runner": lambda: "GR1348941" + rand(r.randint(20, 50), B64URL),
            "gitlab-cbt": lambda: "glcbt-" + r.choice(["", rand(2, HEXL) + "_"]) + rand(r.randint(20, 50), B64URL),
            "gitlab-imt": lambda: "glimt-" + rand(25, B64URL),
            "gitlab-ptt": lambda: "glptt-" + rand(40, B64URL),
            "gitlab-agent": lambda: "glagent-" + rand(r.randint(50, 120), B64URL),
            "gitlab-oas": lambda: "gloas-" + rand(64, B64URL),
            "jwt": self.jwt,
            "mailchimp": lambda: rand(32, LOWER + DIGITS) + "-us" + str(r.randint(1, 20)),
            "openai": lambda: "sk-" + r.choice(["", "proj-", rand(8, ALNUM) + "-"]) + rand(20) + "T3BlbkFJ" + rand(20),
            "pypi": lambda: r.choice(["pypi-AgEIcHlwaS5vcmc", "pypi-AgENdGVzdC5weXBpLm9yZw"]) + rand(r.randint(70, 160), B64URL),
            "sendgrid": lambda: "SG." + rand(22, B64URL) + "." + rand(43, B64URL),
            "slack": lambda: "".join(c.upper() if r.random() < 0.2 else c for c in "xox" + r.choice("abposr")) + "-"
                             + "-".join(str(r.randint(1, 10**12)) for _ in range(r.randint(1, 3))) + "-" + rand(r.randint(1, 32), LOWER + DIGITS),
            "slack-webhook": lambda: "https://hooks.slack.com/services/T" + rand(r.randint(8, 10), UPPER + DIGITS) + "/B"
                                     + rand(r.randint(8, 10), UPPER + DIGITS) + "/" + rand(24),
            "square": lambda: "sq0csp-" + rand(43, B64URL),
            "stripe": lambda: r.choice(["sk_live_", "rk_live_"]) + rand(r.randint(24, 99)),
            "telegram": lambda: str(r.randint(10**7, 10**10 - 1)) + ":" + rand(35, B64URL),
            "twilio": lambda: r.choice(["AC", "SK"]) + rand(32, LOWER + DIGITS),
            "softlayer-url": lambda: "https://api.softlayer.com/soap/" + r.choice(["v3", "v3.1"]) + "/" + rand(64, LOWER + DIGITS),
            "cloudant-url": lambda: (lambda a: f"https://{a}:{r.choice([rand(64, HEXL), rand(24, LOWER)])}@{a}.cloudant.com")(rand(8, LOWER)),
            "npmrc": lambda: "//registry.npmjs.org/:_authToken=" + r.choice(["npm_" + rand(36), rand(36, HEXL + "-")]),
        }
        kind = r.choice(sorted(kinds))
        return kind, kinds[kind]()

    # ---- keyword forms ------------------------------------------------------------------------

    KEYWORDS = ("api_key", "apikey", "auth_key", "authkey", "service_key", "account_key", "db_key", "database_key",
                "priv_key", "privkey", "private_key", "client_key", "db_pass", "database_pass", "key_pass", "keypass",
                "password", "passwd", "pwd", "secret", "contrasena", "client_secret", "secret_key", "db_password",
                "aws_secret_access_key", "smtp_password", "jwt_secret", "secretToken", "adminPassword", "app_secret")

    def keyword_name(self) -> str:
        name = self.rng.choice(self.KEYWORDS)
        style = self.rng.random()
        if style < 0.25:
            name = name.upper()
        elif style < 0.35:
            name = name.capitalize()
        if self.rng.random() < 0.3:
            name = self.rng.choice(["my_", "MY_", "app_", "x-", "prod_", "OLD_", "ngc_"]) + name
        if self.rng.random() < 0.25:
            name += self.rng.choice(["_secure", "_1", "_value", "2", "_name", "_path", "_file", "_env", "_id", "_type",
                                     "_url", "_count", "_hash", "_ref"])
        return name

    # (form, template): {n} name, {v} value; each is an assignment style of some language or file.
    KEYWORD_FORMS = (
        ("py-dq", '{n} = "{v}"'), ("py-sq", "{n} = '{v}'"), ("tight-dq", '{n}="{v}"'), ("js-const", 'const {n} = "{v}";'),
        ("js-let", "let {n} = '{v}'"), ("backtick", "{n} = `{v}`"), ("go-walrus", '{n} := "{v}"'),
        ("go-walrus-bare", "{n} := {v}"), ("arrow", '"{n}" => "{v}",'), ("arrow-bare", "{n} => '{v}'"),
        ("php-var", '${n} = "{v}";'), ("json-pair", '{{"{n}": "{v}"}}'), ("json-sq", "{{'{n}': '{v}'}}"),
        ("colon-dq", '{n}: "{v}"'), ("colon-sq", "{n}: '{v}'"), ("colon-bare", "{n}: {v}"), ("equals-bare", "{n} = {v}"),
        ("env", "{n}={v}"), ("export", "export {n}={v}"), ("export-dq", 'export {n}="{v}"'), ("docker-e", "docker run -e {n}={v} img"),
        ("flag", "tool --{n} {v} --verbose"), ("flag-eq", "tool --{n}={v}"), ("compare", 'if {n} == "{v}":'),
        ("compare-rev", 'if "{v}" == {n}:'), ("cpp-ctor", 'std::string {n}("{v}");'), ("cpp-assign", '{n}.assign("{v}", 17);'),
        ("c-array", 'char {n}[25] = "{v}";'), ("objc-at", '{n} = @"{v}";'), ("semicolon", '{n} "{v}";'),
        ("environ", 'os.environ["{n}"] = "{v}"'), ("ini", "{n}={v}"), ("toml", '{n} = "{v}" # prod'),
        ("setter", "config.set('{n}', '{v}')"), ("kwarg", 'connect(host="db", {n}="{v}")'), ("yaml-list", "- {n}={v}"),
        ("xml", "<{n}>{v}</{n}>"), ("header", "curl -H '{n}: {v}' https://api.example.com"),
        ("spaced-colon", '{n} : "{v}"'), ("triple-eq", "{n} === '{v}'"), ("ne", '{n} != "{v}"'),
    )

    # YAML-only shapes (written as .yaml files as they stand)
    YAML_FORMS = (
        ("nested", "db:\n  host: h\n  {n}: {v}\n"), ("list-item", "users:\n- name: a\n  {n}: {v}\n"),
        ("flow", "db: {{host: h, {n}: {v}}}\n"), ("comment", "{n}: {v}  # rotated monthly\n"),
        ("quoted-key", '"{n}": {v}\n'), ("block", "{n}: |\n  {v}\n"), ("anchor", "{n}: &a {v}\nother: *a\n"),
        ("single", "{n}: '{v}'\n"), ("double", '{n}: "{v}"\n'), ("folded", "{n}: >-\n  {v}\n"),
    )

    def yaml_case(self) -> Case:
        form, template = self.rng.choice(self.YAML_FORMS)
        name, value = self.keyword_name(), self.word_first(self.rng.randint(6, 30), ALNUM + "!%^*@_-.")
        if self.rng.random() < 0.4:
            name, value = self.rng.choice(self.NEUTRAL_NAMES), self.entropy_value()[1]
        text = template.format(n=name, v=value)
        try:
            yaml.safe_load(text)
        except yaml.YAMLError:
            text = yaml.safe_dump({name: value})
        return Case(f"yaml:{form}", ".yaml", text, value, False)

    def keyword_line(self) -> tuple[str, str, str, str]:
        form, template = self.rng.choice(self.KEYWORD_FORMS)
        name, value = self.keyword_name(), self.password()
        return form, template.format(n=name, v=value), name, value

    def vendor_line(self) -> tuple[str, str, str]:
        """Assignments that the AWS, Cloudant, IBM and SoftLayer plugins recognise by name and shape."""
        r, rand = self.rng, self.rand
        sep = r.choice([" = ", "=", ": ", ":", " => ", " := ", ":: ", " ", "   "])
        q = r.choice(["", '"', "'"])
        forms = {
            "aws-secret": (lambda: r.choice(["aws_secret_access_key", "AWS_SESSION_TOKEN", "awsKey", "aws.pw", "aws_db_pass",
                                             "AWS-Secret-Key"]), lambda: r.choice([rand(40, ALNUM + "/+"), self.entropy_string(ALNUM + "/+", 40, r.randint(2, 12))]), '"'),
            "cloudant": (lambda: r.choice(["cloudant", "cl", "clou"]) + r.choice(["", "_", "-"]) + r.choice(["", "api"])
                         + r.choice(["key", "pwd", "pw", "password", "pass", "token"]),
                         lambda: r.choice([rand(64, HEXL), rand(24, LOWER)]), None),
            "ibm-iam": (lambda: r.choice(["ibm_cloud_iam", "cloud-iam", "ibm", "iam", "cloud", ""]) + r.choice(["", "_", "-"])
                        + r.choice(["", "api"]) + r.choice(["key", "pwd", "password", "pass", "token"]),
                        lambda: rand(44, B64URL), None),
            "ibm-cos-hmac": (lambda: r.choice(["ibm_cos_hmac_", "cos_", "cos-hmac-", ""]) + r.choice(["secret_access_key", "secretkey", "secret-access-key"]),
                             lambda: rand(48, HEXL), None),
            "softlayer": (lambda: r.choice(["softlayer", "sl"]) + r.choice(["", "_", "-"]) + r.choice(["", "api"])
                          + r.choice(["key", "pwd", "password", "pass", "token"]), lambda: rand(64, LOWER + DIGITS), None),
        }
        kind = r.choice(sorted(forms))
        name_of, value_of, quote = forms[kind]
        name, value = name_of(), value_of()
        quote = q if quote is None else quote
        line = r.choice(["{n}{s}{q}{v}{q}", "export {n}{s}{q}{v}{q}", "cfg {n}{s}{q}{v}{q} done", '{{"{n}": "{v}"}}']).format(
            n=name, s=sep, q=quote, v=value)
        return kind, line, value

    # ---- high entropy -------------------------------------------------------------------------

    NEUTRAL_NAMES = ("value", "data", "blob", "payload", "nonce", "state", "seed", "code", "x", "salt", "ref", "tag")

    def entropy_value(self) -> tuple[str, str]:
        r = self.rng
        if r.random() < 0.5:  # hex: entropy 3.0 sits at 8-9 distinct symbols
            length = r.randint(6, 70)
            value = self.entropy_string(r.choice([HEXL, HEXL.upper(), "0123456789abcdefABCDEF"]), length, r.randint(6, 16))
            if not any(c in string.ascii_letters for c in value):
                value = value[:-1] + "a"
            return "hex", value
        length = r.randint(12, 100)  # base64: entropy 4.5 sits at 22-23 distinct symbols
        alphabet = r.choice([B64, B64URL, ALNUM, ALNUM + "=", ALNUM + "+/-_"])
        return "base64", self.entropy_string(alphabet, length, r.randint(16, 40))

    def entropy_line(self) -> tuple[str, str, str]:
        kind, value = self.entropy_value()
        q = self.rng.choice(['"', "'"])
        name = self.rng.choice(self.NEUTRAL_NAMES + ("run_id", "tool_use_id", "id", "requestId", "parent_ids", "sha256", "commit"))
        if self.rng.random() < 0.05:
            value = self.rng.choice([value[:8] + "-" + self.uuid() + value[8:], "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[: len(value) % 26 + 1]])
        if name in ("sha256", "commit") and len(value) in (32, 40, 56, 64, 96, 128) and (value.islower() or value.isupper()):
            value += "f"  # one hex string of a digest's length under a digest name is a digest: redaction keeps those
        if name in ("sha256", "commit") and value.isdigit():
            value += "f"
        form, template = self.rng.choice([
            ("json", '{{"{n}": {q}{v}{q}}}'), ("assign", "{n} = {q}{v}{q}"), ("arg", "f({q}{v}{q})"), ("list", "[{q}{v}{q}, 1]"),
            ("text", "saw {q}{v}{q} in the log"), ("yaml-bare", "{n}: {v}"), ("yaml-list-bare", "- {v}"),
        ])
        return f"{kind}-{form}", template.format(n=name, q=q, v=value), value

    # ---- harmless transcript lines ------------------------------------------------------------

    def harmless_line(self) -> tuple[str, str]:
        r, rand = self.rng, self.rand
        exp = f"/home/{rand(5, LOWER)}/experiments/{rand(6, LOWER)}_{r.randint(1, 99)}"
        kinds = {
            "path": lambda: f"{r.choice(['ls -la', 'cat', 'python3 train.py --config', 'du -sh'])} {exp}/results/{rand(4, LOWER)}/model_{r.randint(1, 300)}.pth",
            "metric": lambda: f'{{"epoch": {r.randint(1, 300)}, "val_loss": {r.random():.6f}, "accuracy": {r.random():.4f}, "lr": {r.random() / 100:.2e}}}',
            "tokens": lambda: f'"usage": {{"input_tokens": {r.randint(1, 99999)}, "output_tokens": {r.randint(1, 9999)}, "cache_read_input_tokens": {r.randint(0, 10**6)}}}',
            "uuid": lambda: f'"uuid": "{self.uuid()}", "parentUuid": "{self.uuid()}", "sessionId": "{self.uuid()}"',
            "tool-use-id": lambda: f'"tool_use_id": "{self.msg_id("toolu_")}", "is_error": false',
            "timestamp": lambda: f'"timestamp": "2025-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}.{r.randint(0, 999):03d}Z"',
            "version": lambda: f'"version": "{r.randint(0, 9)}.{r.randint(0, 99)}.{r.randint(0, 99)}", "gitBranch": "{r.choice(["main", "dev", "feature/x"])}"',
            "model": lambda: f'"model": "{r.choice(["claude-opus-4-1-20250805", "claude-sonnet-4-5-20250929", "gpt-5"])}"',
            "image": lambda: f"docker pull nvcr.io/nvidia/tao/tao-toolkit:{r.randint(4, 6)}.{r.randint(0, 5)}.0-{r.choice(['pyt', 'tf2', 'deploy'])}",
            "ip-private": lambda: f"ssh ubuntu@{r.choice(['10.', '192.168.', '172.16.', '127.0.'])}{r.randint(0, 255)}.{r.randint(1, 254)}",
            "ip-public": lambda: f"ping -c 3 {r.randint(11, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
            "ip-port": lambda: f"connect to {r.randint(11, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}:{r.randint(1, 65535)}",
            "sha256": lambda: f'"sha256": "{self.digest("sha256")}"',
            "sha256-prefixed": lambda: f'"inference_csv": {{"path": "{exp}/inference.csv", "sha256": "sha256:{self.digest("sha256")}"}}',
            "commit": lambda: f'"commit": "{self.digest("sha1")}"',
            "md5": lambda: f"md5: {self.digest('md5')}",
            "checksum": lambda: f"checksum = '{self.digest('sha256')}'",
            "short-sha": lambda: f"git log --oneline: {self.digest('sha1')[:7]} fix loader",
            "words": lambda: r.choice(["the key point is the threshold", "all 14 tests passed", "tokenizer loaded",
                                       "KeyError: 'siamese_score'", "no password is needed here", "secret sauce: more data"]),
            "counts": lambda: f"| PASS | {r.randint(0, 99)} | {r.random():.3f} |",
            "yaml-config": lambda: f"num_epochs: {r.randint(1, 300)}",
            "yaml-path": lambda: f"results_dir: {exp}/results",
            "spec-key": lambda: f"image_key: images.tao_toolkit.{r.choice(['pyt', 'deploy', 'tf2'])}",
            "env-ref": lambda: f"docker run -e NGC_API_KEY=$NGC_API_KEY -v {exp}:/workspace img",
            "placeholder": lambda: r.choice(['"password": null', 'api_key: <your key>', 'password: ${DB_PASSWORD}', '"token": ""']),
            "color": lambda: f'"color": "#{rand(6, HEXL)}"',
            "hex-number": lambda: f'"count": "{r.randint(10**8, 10**12)}"',
            "word-quoted": lambda: f'"status": "{r.choice(["completed", "running", "Failed to load", "ok"])}"',
            "message-id": lambda: f'"message": {{"id": "{self.msg_id("msg_")}", "role": "assistant"}}',
            "message-id-name": lambda: f'"message_id": "{self.msg_id("msg_")}"',
            "request-id": lambda: f'"requestId": "{self.msg_id("req_")}"',
            "assistant-line": lambda: json.dumps({"parentUuid": self.uuid(), "sessionId": self.uuid(), "message": {
                "id": self.msg_id("msg_"), "content": [{"type": "tool_use", "id": self.msg_id("toolu_"), "name": "Read",
                                                        "input": {"file_path": f"{exp}/spec.yaml"}}]},
                "requestId": self.msg_id("req_"), "uuid": self.uuid(), "timestamp": "2025-06-01T10:00:00.000Z"}),
            "tool-result-line": lambda: json.dumps({"parentUuid": self.uuid(), "message": {"content": [
                {"tool_use_id": self.msg_id("toolu_"), "type": "tool_result", "content": f"{exp}/results/metrics.json"}]},
                "uuid": self.uuid()}),
            "cli": lambda: f"tao-skills gaps run --exp-dir {exp} --dataset-root /data/{rand(5, LOWER)} --threshold {r.random():.3f}",
        }
        kind = r.choice(sorted(kinds))
        return kind, kinds[kind]()

    # ---- containers ---------------------------------------------------------------------------

    def contain(self, line: str, name_value: tuple[str, str] | None) -> tuple[str, str]:
        """Embed `line` (and, when given, the pair it assigns) in a file type the package writes."""
        r = self.rng
        ext = r.choice(EXTENSIONS)
        if ext == ".jsonl":
            depth = r.choice([1, 1, 2])
            if depth == 1:
                row = r.choice([
                    {"type": "assistant", "uuid": self.uuid(), "message": {"content": [
                        {"type": "tool_use", "id": self.msg_id("toolu_"), "name": "Bash", "input": {"command": line}}]}},
                    {"type": "user", "message": {"content": [{"type": "tool_result", "tool_use_id": self.msg_id("toolu_"),
                                                               "content": f"$ {line}\nok\n"}]}},
                    {"type": "user", "message": {"role": "user", "content": line}},
                ])
            else:
                inner = json.dumps(dict([name_value]) if name_value else {"cmd": line}, indent=r.choice([None, 2]))
                row = {"type": "user", "toolUseResult": {"file": {"filePath": "/p/.claude/settings.json", "content": inner}}}
            return ext, json.dumps(row) + "\n"
        if ext == ".json":
            doc = {"env": dict([name_value])} if name_value and r.random() < 0.5 else \
                {"hooks": {"PostToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": line}]}]}}
            return ext, json.dumps(doc, indent=2) + "\n"
        if ext == ".yaml":
            choice = r.random()
            if name_value and choice < 0.4:
                text = yaml.safe_dump({"credentials": dict([name_value])}, sort_keys=False, width=10_000)
            elif choice < 0.7:
                text = yaml.safe_dump({"notes": [line]}, sort_keys=False, width=10_000)
            else:
                text = "train:\n  num_epochs: 10\n" + line + "\n"
                try:
                    yaml.safe_load(text)
                except yaml.YAMLError:
                    text = yaml.safe_dump({"notes": [line]}, sort_keys=False, width=10_000)
            return ext, text
        if ext == ".md":
            return ext, r.choice([f"{line}\n", f"- {line}\n", f"```\n{line}\n```\n", f"Ran `{line}`\n"])
        return ext, f"{line}\n"

    def case(self) -> Case:
        r = self.rng
        family = r.choices(["keyword", "vendor", "token", "entropy", "pem", "url", "yaml", "harmless"], [24, 6, 22, 16, 3, 5, 6, 30])[0]
        if family == "yaml":
            return self.yaml_case()
        pair = None
        if family == "keyword":
            form, line, name, secret = self.keyword_line()
            kind, pair = f"keyword:{form}", (name, secret)
        elif family == "vendor":
            form, line, secret = self.vendor_line()
            kind, pair = f"vendor:{form}", ("value", secret)
        elif family == "token":
            kind, secret = self.token()
            kind = f"token:{kind}"
            line = r.choice(["token is {t}", "export MY_VAR={t}", 'value: "{t}"', "{t}", "echo '{t}' > out", "curl -H 'Authorization: Bearer {t}' https://x.io",
                             "see {t}, then retry", "url=https://x.io/?k={t}&v=1", "x{t}", "{t}x", "_{t}_", "v: {t}", "[{t}]", "({t})",
                             "a={t};b=2", "{t}.", "'{t}'"]).format(t=secret)
            pair = ("value", secret)
        elif family == "entropy":
            form, line, secret = self.entropy_line()
            kind = f"entropy:{form}"
            pair = (r.choice(self.NEUTRAL_NAMES), secret)
        elif family == "pem":
            label = r.choice(["RSA PRIVATE KEY", "DSA PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "PRIVATE KEY",
                              "PGP PRIVATE KEY BLOCK", "SSH2 ENCRYPTED PRIVATE KEY", "ENCRYPTED PRIVATE KEY"])
            if r.random() < 0.15:  # the key's header alone, as prose or a grep (the scanner reports it)
                phrase = r.choice(["BEGIN " + label, "PuTTY-User-Key-File-2"])
                line = r.choice(["grep -l '{p}' ~/.ssh/*", "the file starts with -----{p}-----", "look for {p} here"]).format(p=phrase)
                return Case(f"pem:phrase-{label.lower().replace(' ', '-')}", *self.contain(line, None), phrase, False)
            secret = self.pem(label) if r.random() < 0.9 else (
                "PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\nPublic-Lines: 1\n" + self.rand(64, B64)
                + "\nPrivate-Lines: 1\n" + self.rand(64, B64) + "\nPrivate-MAC: " + self.rand(40, HEXL))
            kind, line, pair = f"pem:{label.lower().replace(' ', '-')}", "cat ~/.ssh/key\n" + secret, ("private_key", secret)
        elif family == "url":
            user, secret = self.rand(r.randint(3, 8), LOWER), self.word_first(r.randint(4, 20), ALNUM + "._~%-" + r.choice(["", "\\", "<>"]))
            line = f"{r.choice(['git clone https', 'psql postgresql', 'redis-cli -u redis', 'pip install --index-url https'])}://{user}:{secret}@{self.rand(6, LOWER)}.example.com/x"
            kind, pair = "url:userinfo", ("url", line.split(" ")[-1])
        else:
            form, line = self.harmless_line()
            kind, secret = f"harmless:{form}", ""
            return Case(kind, *self.contain(line, None), secret, True)
        return Case(kind, *self.contain(line, pair), secret, False)


def generate(seed: int = 14, count: int = 1500) -> Generated:
    gen = _Gen(seed)
    cases = [gen.case() for _ in range(count)]
    return Generated(cases, gen.real_files)

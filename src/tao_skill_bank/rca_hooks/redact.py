"""Remove secrets from files before they are packaged, in time linear in the input.

Works on bytes (so a file that is not UTF-8 is still redacted) and replaces each secret value by
`[REDACTED]`, leaving names, quotes and surrounding text intact (a JSON line stays valid JSON).
The criterion is detect-secrets' (every built-in plugin, default filters): nothing it reports may
survive, which `tests/rca_hooks/test_redact_differential.py` checks on generated cases of every
file type the package writes. The passes collect the spans to replace, then one join writes the
result:

1. **Known token formats** (`KNOWN_TOKEN_KINDS`: NGC, GitHub, GitLab, Slack in any case, Stripe,
   AWS key ids, Google, OpenAI/Anthropic, Hugging Face, npm, PyPI, SendGrid, Twilio, Square,
   Artifactory, SoftLayer URLs, JWT, ...; formats the scanner also finds inside a longer word are
   matched there too), formats without a prefix (Discord, Telegram and Mailchimp keys), AWS secret
   keys (`aws…key… "<40 chars>"`), IBM Cloud IAM/Cloudant/SoftLayer/IBM COS values after their key
   names (a space counts as the assignment), private-key blocks (`-----BEGIN ... PRIVATE KEY-----`
   to its END line, or to the end of the string when cut; PuTTY key files) and the scanner's
   private-key phrases where no block stands (`grep 'BEGIN PRIVATE KEY'`).
2. **Named values**: the value after a name that says it holds a secret (`*KEY*`, `*TOKEN*`,
   `*SECRET*`, `*PASSWORD*`, `pwd`, `auth`, `Authorization`, `cookie`, `contraseña`, ...; a name the
   scanner's keyword rule matches counts whatever its suffix, `api_key_path` too, but not `*_id`),
   in every form a session shows: `"name": "value"` (also JSON-escaped inside a transcript string,
   at any depth), `name=value`, `name == "v"`, `name != "v"`, `name => "v"`, `env["NAME"] = "v"`,
   C's `name "v";`, `export NAME=...`, `name: value` (YAML, HTTP headers), `--name value`,
   `docker login -p X`, `sshpass -p X`, `mysql -pX`, `curl -u user:pass`, `Bearer X`; and a quoted
   value compared with a secret name (`"v" == password`).
3. **URL user-info**: `scheme://user:password@host` keeps the user (and `<placeholder>` passwords).
4. **High-entropy strings** as the scanner judges them: a whole quoted string of the base64
   alphabet above 4.5 bits of Shannon entropy, or of hex digits above 3.0 (from 9 characters), with
   the backslashes of a JSON escape counted as it counts them (and the one its config-file reader
   adds); a bare YAML/INI value (`key: value`, `key=value`, a flow-mapping entry, a one-line
   `>-` block) counts as quoted, since the scanner's readers quote it. Not redacted, as the scanner
   does not report them: strings holding a UUID, alphabet runs, strings without a letter, values
   under an `*_id` name (`tool_use_id`), and hex digests of a digest's length under a digest name
   (`sha256`, `commit`, ...: provenance). IPv4 addresses are not redacted: the scanner's public-IP
   plugin reports none under its default filters (no letter), and they are not credentials.

Why linear, and bounded per line: every regex here either starts with a literal or is anchored by
a look-behind at the start of a character run, and has no nested or ambiguous repetition, so each
attempt scans at most one run and a failed attempt costs O(1) at the next position. Named values
are found by one regex matching a secret word, the rest of its name and an optional separator or
space (the regex engine walks the bytes; each name is consumed once); Python looks only at names
followed by a separator, flag value or setter, judges a repeated name once, and after
DENSE_LINE_VALUES values on one line redacts the rest of that line instead of evaluating more.
Command words (`login`, `mysql`, `curl`, `sshpass`) and `Bearer` have passes of their own, found
with `bytes.find` / one regex, each command segment scanned once under the same per-line bound.
`tests/rca_hooks/test_redact.py` checks the regex shapes and the per-line bound;
`benchmarks/hooks_latency.py` times it.
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections import Counter

MARK = "[REDACTED]"
_MARK = MARK.encode()

# ---- 1. known token formats --------------------------------------------------------------------

# (kind, literal prefix, shape of the whole token; checked on the run that starts with the prefix)
KNOWN_TOKEN_KINDS: list[tuple[str, bytes, bytes]] = [
    ("ngc", b"nvapi-", rb"nvapi-[A-Za-z0-9_\-]{20,}"),
    ("github", b"ghp_", rb"ghp_[A-Za-z0-9_]{20,}"),
    ("github", b"gho_", rb"gho_[A-Za-z0-9_]{20,}"),
    ("github", b"ghu_", rb"ghu_[A-Za-z0-9_]{20,}"),
    ("github", b"ghs_", rb"ghs_[A-Za-z0-9_]{20,}"),
    ("github", b"ghr_", rb"ghr_[A-Za-z0-9_]{20,}"),
    ("github", b"github_pat_", rb"github_pat_[A-Za-z0-9_]{20,}"),
    ("gitlab", b"glpat-", rb"glpat-[A-Za-z0-9_\-]{20,}"),
    ("gitlab", b"gldt-", rb"gldt-[A-Za-z0-9_\-]{20,}"),
    ("gitlab", b"glrt-", rb"glrt-[A-Za-z0-9_\-]{20,}"),
    ("gitlab", b"glcbt-", rb"glcbt-[A-Za-z0-9_\-]{20,}"),
    ("gitlab", b"glptt-", rb"glptt-[A-Za-z0-9_\-]{20,}"),
    ("gitlab", b"glsoat-", rb"glsoat-[A-Za-z0-9_\-]{20,}"),
    ("gitlab", b"glft-", rb"glft-[A-Za-z0-9_\-]{20,}"),
    ("gitlab", b"glimt-", rb"glimt-[A-Za-z0-9_\-]{25,}"),
    ("gitlab", b"glagent-", rb"glagent-[A-Za-z0-9_\-]{50,}"),
    ("gitlab", b"gloas-", rb"gloas-[A-Za-z0-9_\-]{64,}"),
    ("gitlab", b"GR1348941", rb"GR1348941[A-Za-z0-9_\-]{20,}"),
    # Slack's prefix in any case (`XOXB-1-a` counts); a short token needs the `-digits-` part.
    ("slack", b"xox", rb"(?i:xox[abposre])-(?:[0-9]+-[A-Za-z0-9]|[A-Za-z0-9\-]{10})[A-Za-z0-9\-]*"),
    ("slack-webhook", b"hooks.slack.com/services/", rb"hooks\.slack\.com/services/[A-Za-z0-9_/]{10,}"),
    ("discord-webhook", b"discord.com/api/webhooks/", rb"discord\.com/api/webhooks/[A-Za-z0-9_/\-]{10,}"),
    ("softlayer", b"api.softlayer.com/soap/", rb"api\.softlayer\.com/soap/v3(?:\.1)?/[A-Za-z0-9]{64}"),
    ("stripe", b"sk_live_", rb"sk_live_[A-Za-z0-9]{10,}"),
    ("stripe", b"rk_live_", rb"rk_live_[A-Za-z0-9]{10,}"),
    ("stripe", b"sk_test_", rb"sk_test_[A-Za-z0-9]{10,}"),
    ("stripe", b"rk_test_", rb"rk_test_[A-Za-z0-9]{10,}"),
    ("stripe", b"whsec_", rb"whsec_[A-Za-z0-9]{20,}"),
    ("aws-key-id", b"AKIA", rb"AKIA[0-9A-Z]{16}"),
    ("aws-key-id", b"ASIA", rb"ASIA[0-9A-Z]{16}"),
    ("aws-key-id", b"ABIA", rb"ABIA[0-9A-Z]{16}"),
    ("aws-key-id", b"ACCA", rb"ACCA[0-9A-Z]{16}"),
    ("aws-key-id", b"A3T", rb"A3T[A-Z0-9][0-9A-Z]{16}"),
    ("google-api", b"AIza", rb"AIza[0-9A-Za-z_\-]{30,}"),
    ("google-oauth", b"ya29.", rb"ya29\.[0-9A-Za-z_\-]{20,}"),
    ("google-client-secret", b"GOCSPX-", rb"GOCSPX-[0-9A-Za-z_\-]{20,}"),
    ("openai-anthropic", b"sk-", rb"sk-[A-Za-z0-9_\-]{20,}"),
    ("huggingface", b"hf_", rb"hf_[A-Za-z0-9]{20,}"),
    ("huggingface", b"api_org_", rb"api_org_[A-Za-z0-9]{20,}"),
    ("npm", b"npm_", rb"npm_[A-Za-z0-9]{30,}"),
    ("pypi", b"pypi-Ag", rb"pypi-Ag[A-Za-z0-9_\-]{50,}"),
    ("sendgrid", b"SG.", rb"SG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{20,}"),
    ("twilio", b"AC", rb"AC[a-z0-9]{32}"),
    ("twilio", b"SK", rb"SK[a-z0-9]{32}"),
    ("square", b"sq0csp-", rb"sq0csp-[0-9A-Za-z_\-]{30,}"),
    ("square", b"sq0atp-", rb"sq0atp-[0-9A-Za-z_\-]{20,}"),
    ("shopify", b"shpat_", rb"shpat_[a-fA-F0-9]{20,}"),
    ("shopify", b"shpss_", rb"shpss_[a-fA-F0-9]{20,}"),
    ("digitalocean", b"dop_v1_", rb"dop_v1_[a-f0-9]{40,}"),
    ("databricks", b"dapi", rb"dapi[a-f0-9]{32}"),
    ("artifactory", b"AKC", rb"AKC[a-zA-Z0-9]{10,}"),
    ("artifactory-password", b"AP", rb"AP[0-9A-F][a-zA-Z0-9]{8,}"),
    ("jwt", b"eyJ", rb"eyJ[A-Za-z0-9_\-=]+\.[A-Za-z0-9_\-=]+\.?[A-Za-z0-9_\-+/=]*"),
]
# Formats that scanners match inside a longer word too (`x_ghp_…`), so the word-start rule does
# not apply to them; the others (`sk-` in `task-…`, `hf_`) need a word start.
_JWT_PART_RE = re.compile(rb"[A-Za-z0-9_\-=]*")
_ANYWHERE = {b"eyJ", b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"glpat-", b"gldt-", b"glrt-", b"glcbt-", b"glptt-", b"glsoat-",
             b"glft-", b"glimt-", b"glagent-", b"gloas-", b"GR1348941", b"xox", b"sk_live_", b"rk_live_", b"AKIA", b"ASIA",
             b"ABIA", b"ACCA", b"A3T", b"pypi-Ag", b"SG.", b"AC", b"SK", b"sq0csp-"}
# Artifactory passwords (`AP` + a hex digit) only count as a whole word between separators, as
# detect-secrets matches them: after a space, `=`, `:` or `"`, before a space or `"`.
_BOUNDED = {b"AP": (b" \t\r\n=:\"", b" \t\r\n\"")}


def _case_variants(prefix: bytes) -> list[bytes]:
    variants = [b""]
    for byte in prefix:
        char = bytes([byte])
        variants = [v + c for v in variants for c in {char.lower(), char.upper()}]
    return variants


_TOKEN_SHAPES = {prefix: re.compile(shape) for _, prefix, shape in KNOWN_TOKEN_KINDS}
for _variant in _case_variants(b"xox"):  # the Slack prefix in any case shares one shape
    _TOKEN_SHAPES[_variant] = _TOKEN_SHAPES[b"xox"]
_ANYWHERE.update(_case_variants(b"xox"))


def _prefix_trie(prefixes) -> bytes:
    """An alternation grouped by first byte (`g(?:hp_|lpat-)|n(?:vapi-)`): a failed attempt costs
    one byte test per group instead of one per prefix."""
    groups: dict[bytes, list[bytes]] = {}
    for prefix in sorted(prefixes, key=len, reverse=True):
        groups.setdefault(prefix[:1], []).append(prefix[1:])
    return b"|".join(re.escape(first) + b"(?:" + b"|".join(re.escape(rest) for rest in rests) + b")"
                     for first, rests in sorted(groups.items()))


_TOKEN_START_RE = re.compile(_prefix_trie(_TOKEN_SHAPES))
_TOKEN_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+/=.")
# Every byte of a token alphabet becomes "a", every other byte " ": a run of MIN_RUN token bytes is
# then found with bytes.find (C speed) instead of a regex attempt at every position.
_RUN_CLASS = bytes(0x61 if b in _TOKEN_CHARS else 0x20 for b in range(256))
MIN_RUN = 14
_RUN_NEEDLE = b"a" * MIN_RUN
_BASE64_RUN_RE = re.compile(rb"[A-Za-z0-9+/]{80,}={0,2}")
# Formats without a literal prefix, looked for only in runs that can hold them.
_DISCORD_RE = re.compile(rb"[MNO][A-Za-z0-9_\-]{23,25}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27}")
_MAILCHIMP_RE = re.compile(rb"[0-9a-z]{32}-us[0-9]")
_TELEGRAM_TAIL_RE = re.compile(rb"[0-9A-Za-z_\-]{35}")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
# The scanners' base64 alphabet (url-safe too); a backslash counts, as it does for detect-secrets.
_B64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-\\")
_B64_ALPHABET = bytes(sorted(_B64))
_PEM_HEAD_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]{1,60})-----")
_PEM_SECRET_WORDS = (b"PRIVATE", b"ENCRYPTED", b"SECRET")
_PUTTY_HEAD_RE = re.compile(rb"PuTTY-User-Key-File-[0-9]: ")
_PUTTY_MAC_RE = re.compile(rb"Private-MAC:[ \t]*[0-9a-fA-F]*")


def _token_runs(data: bytes):
    """(start, end) of every run of at least MIN_RUN token-alphabet bytes."""
    classes = data.translate(_RUN_CLASS)
    pos = 0
    while (start := classes.find(_RUN_NEEDLE, pos)) >= 0:
        end = classes.find(b" ", start + MIN_RUN)
        end = len(data) if end < 0 else end
        yield start, end
        pos = end


def _runs(data: bytes, spans: list) -> None:
    """Known token formats, legacy NGC keys and high-entropy strings, one run at a time."""
    for start, end in _token_runs(data):
        run = data[start:end]
        at = 0
        jwt_fails_until = 0  # a failed JWT attempt fails for every `eyJ` up to the end of its part too
        while (match := _TOKEN_START_RE.search(run, at)) is not None:
            at = match.start()
            prefix = match.group(0)
            anywhere = prefix in _ANYWHERE or prefix == b"sk-" and run.find(b"T3BlbkFJ", at) > 0  # OpenAI's marker
            if prefix == b"eyJ" and at < jwt_fails_until:
                at += 1
                continue
            shape = _TOKEN_SHAPES[prefix].match(run, at) if not at or run[at - 1] not in _WORD_BYTES or anywhere else None
            if prefix == b"eyJ" and not shape:
                jwt_fails_until = _JWT_PART_RE.match(run, at).end()
            if shape and prefix in _BOUNDED:
                before, after = _BOUNDED[prefix]
                pos = start + at
                if not (pos == 0 or data[pos - 1] in before) or not (start + shape.end() == len(data) or data[start + shape.end()] in after):
                    shape = None
            if shape:  # a token consumes its bytes: no prefix inside it is looked at again
                spans.append((start + at, start + at + len(shape.group(0).rstrip(b"."))))
                at = shape.end()
            else:
                at += 1
        if end - start >= 80:
            for match in _BASE64_RUN_RE.finditer(run):
                body = match.group(0).rstrip(b"=")
                if (80 <= len(body) <= 88 and (match.start() == 0 or run[match.start() - 1:match.start()] in b"=-_.")
                        and re.search(rb"[0-9]", body) and re.search(rb"[a-z]", body)):
                    spans.append((start + match.start(), start + match.end()))
        if end - start >= 24:  # the shortest of these formats
            _unprefixed_tokens(data, start, end, run, spans)
            _vendor_assignment(data, start, end, run, spans)
            _aws_secret_key(data, start, end, run, spans)
        _high_entropy_run(data, start, end, run, spans)


# Formats shorter than a run: Artifactory (`AP…` 11-13, `AKC…` 13 bytes), Slack (`xoxb-1-a`).
_SHORT_ARTIFACTORY_RE = re.compile(rb"(?:AP[0-9A-F][a-zA-Z0-9]{8,10}|AKC[a-zA-Z0-9]{10})(?=[ \t\r\n\"]|\Z)")
_SHORT_SLACK_RE = re.compile(rb"(?i:xox[abposr])-[0-9]+-[A-Za-z0-9\-]*")


# AWS secret access keys by the scanner's rule: `aws`, a key word within 20 characters, then
# within 20 more a quoted 40-character value (whatever its entropy).
_AWS_BEFORE_RE = re.compile(rb"(?i)aws.{0,20}?(?:key|pwd|pw|password|pass|token).{0,20}?$")
_AWS_SECRET_ALPHABET = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ/+"


def _aws_secret_key(data: bytes, start: int, end: int, run: bytes, spans: list) -> None:
    if end - start == 40 and start and data[start - 1] in b"\"'" and end < len(data) and data[end] in b"\"'" \
            and not run.translate(None, _AWS_SECRET_ALPHABET) \
            and _AWS_BEFORE_RE.search(data, max(0, start - 1 - 48), start - 1):
        spans.append((start, end))


def _short_tokens(data: bytes, lowered: bytes, spans: list) -> None:
    before = _BOUNDED[b"AP"][0]
    for match in _SHORT_ARTIFACTORY_RE.finditer(data):
        if match.start() == 0 or data[match.start() - 1] in before:
            spans.append(match.span())
    pos = 0
    while (at := lowered.find(b"xox", pos)) >= 0:
        match = _SHORT_SLACK_RE.match(data, at)
        if match:
            spans.append(match.span())
        pos = match.end() if match else at + 3


# IBM Cloud IAM, Cloudant, SoftLayer and IBM COS HMAC keys: a vendor key name, an assignment (a
# space counts), then a value of the vendor's shape.
_VENDOR_BEFORE_RE = re.compile(
    rb"(?im)(?:^|[^A-Za-z0-9_])\[?[\"']?((?:ibm[_\-]?cloud[_\-]?iam|cloud[_\-]?iam|ibm[_\-]?cloud|ibm[_\-]?iam|ibm|iam|cloud|"
    rb"cloudant|clou|cl|softlayer|sl|(?:ibm)?[_\-]?cos[_\-]?(?:hmac)?)?[_\-]?(?:api)?"
    rb"(?:key|pwd|pw|password|pass|token|secret[_\-]?(?:access)?[_\-]?key))[\"']?\]?(?: *(?:=>|:=|::|=|:) *| +)[\"']?$")
_VENDOR_WORD_RE = re.compile(rb"(?i)key|pw|pass|token")
_CLOUDANT_NAME_RE = re.compile(rb"(?:cloudant|clou|cl)[_\-]?(?:api)?(?:key|pwd|pw|password|pass|token)")
_SOFTLAYER_NAME_RE = re.compile(rb"(?:softlayer|sl)[_\-]?(?:api)?(?:key|pwd|password|pass|token)")
_CLOUDANT_VALUE_RE = re.compile(rb"[0-9a-fA-F]{64}|[a-zA-Z]{24}")
_SOFTLAYER_VALUE_RE = re.compile(rb"[a-zA-Z0-9]{64}")
_IAM_VALUE_RE = re.compile(rb"[a-zA-Z0-9_\-]{44}(?![a-zA-Z0-9_\-])")
_COS_VALUE_RE = re.compile(rb"[a-f0-9]{48}(?![a-f0-9])")


def _vendor_assignment(data: bytes, start: int, end: int, run: bytes, spans: list) -> None:
    equals = run.find(b"=", 1, 81)
    for value in (start, start + equals + 1) if equals > 0 else (start,):
        if end - value < 24:
            continue
        if not _VENDOR_WORD_RE.search(data, max(0, value - 12), value):
            continue  # the common case: no key word right before this run
        shapes = [shape for shape in (_IAM_VALUE_RE, _COS_VALUE_RE, _CLOUDANT_VALUE_RE, _SOFTLAYER_VALUE_RE)
                  if shape.match(data, value, end)]
        if not shapes:
            continue  # the common case: no vendor value shape here
        before = _VENDOR_BEFORE_RE.search(data, max(0, value - 90), value)
        if not before:
            continue
        name = before.group(1).lower()
        if b"secret" in name:
            wanted = _COS_VALUE_RE
        elif _CLOUDANT_NAME_RE.fullmatch(name):
            wanted = _CLOUDANT_VALUE_RE
        elif _SOFTLAYER_NAME_RE.fullmatch(name):
            wanted = _SOFTLAYER_VALUE_RE
        else:
            wanted = None if name.endswith(b"pw") else _IAM_VALUE_RE
        if wanted in shapes:
            spans.append((value, end))


def _unprefixed_tokens(data: bytes, start: int, end: int, run: bytes, spans: list) -> None:
    """Discord bot tokens (`M…24.6.27`), Mailchimp keys (`…32-us9`), Telegram bot tokens (`digits:35`)."""
    if end - start >= 59 and run.count(b".") >= 2:
        spans.extend((start + m.start(), start + m.end()) for m in _DISCORD_RE.finditer(run))
    at = run.find(b"-us", 32)
    while at >= 0:
        if _MAILCHIMP_RE.match(run, at - 32):
            spans.append((start + at - 32, start + at + 5 if run[at + 4:at + 5].isdigit() else start + at + 4))
        at = run.find(b"-us", at + 3)
    if start >= 9 and data[start - 1] == 0x3A and data[start - 9:start - 1].isdigit() and _TELEGRAM_TAIL_RE.match(run):
        digits = start - 9
        while digits > 0 and data[digits - 1] in b"0123456789" and digits > start - 11:
            digits -= 1
        spans.append((digits, end))


# What detect-secrets reports as a private key wherever it stands, with or without a key body.
_KEY_PHRASES = (b"BEGIN DSA PRIVATE KEY", b"BEGIN EC PRIVATE KEY", b"BEGIN OPENSSH PRIVATE KEY", b"BEGIN PGP PRIVATE KEY BLOCK",
                b"BEGIN PRIVATE KEY", b"BEGIN RSA PRIVATE KEY", b"BEGIN SSH2 ENCRYPTED PRIVATE KEY", b"PuTTY-User-Key-File-2")


def _key_phrases(data: bytes, spans: list) -> None:
    """The phrases themselves, where no key block was cut out around them (`see BEGIN PRIVATE KEY`)."""
    for needle in (b"BEGIN ", b"PuTTY-User-Key-File-2"):
        pos = 0
        while (at := data.find(needle, pos)) >= 0:
            pos = at + len(needle)
            phrase = next((p for p in _KEY_PHRASES if data.startswith(p, at)), None)
            if phrase:
                spans.append((at, at + len(phrase)))
                pos = at + len(phrase)


def _private_keys(data: bytes, spans: list) -> None:
    pos = 0
    while (start := data.find(b"-----BEGIN ", pos)) >= 0:
        head = _PEM_HEAD_RE.match(data, start)
        pos = start + 11
        if not head or not any(word in head.group(1) for word in _PEM_SECRET_WORDS):
            continue
        end = data.find(b"-----END ", head.end())
        if end >= 0:
            close = data.find(b"-----", end + 9, end + 90)
            end = close + 5 if close >= 0 else end + 9
        else:  # cut off: the body runs to the end of its string (or of the file)
            quote = min((i for i in (data.find(b'"', head.end()), data.find(b"'", head.end())) if i >= 0), default=-1)
            end = quote if quote >= 0 else len(data)
        spans.append((start, end))
        pos = max(pos, end)
    pos = 0
    while (start := data.find(b"PuTTY-User-Key-File-", pos)) >= 0:
        pos = start + 20
        if not _PUTTY_HEAD_RE.match(data, start):
            continue
        mac = data.find(b"Private-MAC:", start, start + 16384)
        if mac >= 0:  # the key ends with the MAC's hex (a JSON string's `\n` or quote may follow)
            end = _PUTTY_MAC_RE.match(data, mac).end()
        else:
            quote = min((i for i in (data.find(b'"', start, start + 16384), data.find(b"'", start, start + 16384)) if i >= 0),
                        default=-1)
            end = min(len(data), start + 16384) if quote < 0 else min(quote, start + 16384)
        spans.append((start, end))
        pos = end


# ---- 2. named values ---------------------------------------------------------------------------

_NAME_CHAR = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_MAX_NAME = 80
_NO_VALUE_BYTES = frozenset((b"", b"&", b";", b"|", b",", b")", b"}", b"]", b"\n", b"\r", b" ", b"\t"))
_FLAG_SEPARATOR_RE = re.compile(rb"=|[ \t]+")
# `aws configure set NAME VALUE`, `git config --global NAME VALUE`, `npm config set NAME VALUE`:
# a command word before the name makes a space the separator.
_SETTER_BEFORE = (b" set", b"config", b"--global", b"--local", b"--system", b"--add", b"config:set")
_BARE_VALUE_RE = re.compile(rb"[^\s\"'\\,;&|<>`(){}\[\]]+")
_JSON_BARE_VALUE_RE = re.compile(rb"[^\s,}\]\"\\]+")
_REST_OF_LINE_RE = re.compile(rb"[^\r\n\"'\\]*")
_BACKSLASHES_RE = re.compile(rb"\\*")
# Body of a double-quoted string: unescaped characters or one escaped character at a time (the
# two branches start with different bytes, so there is one way to match: linear).
_STRING_BODY_RE = re.compile(rb'(?:[^"\\\r\n]|\\[^\r\n])*')
_SCHEME_RE = re.compile(rb"(?i)(?:bearer|basic|token|digest|negotiate|apikey)[ \t]+")
_BEARER_LOWER_RE = re.compile(rb"bearer[ \t]+([a-z0-9._~+/=\-]{8,})")
# Names that contain a secret word but hold no secret: token counters, error names, key ids,
# file paths, the PASS/NO_PASS labels of the gap analysis.
_HARMLESS_NAME_RE = re.compile(
    rb"error|exception|keyboard|monkey|hockey|turkey|donkey|whiskey|tokeniz|tokens$|tokens_|_count$|"
    rb"(?:key|token)s?_?(?:id|ids|name|names|type|types|path|file|dir|length|len|size|count|column|field|format|"
    rb"usage|limit|max|min|budget|ref|url|uri|endpoint|env|var|stdin|prompt|hint|help)$|"
    rb"(?:^|[_.\-])(?:keys|sort_?key|primary_?key|foreign_?key|hotkey|keymap|keypoints?|keyframes?|"
    rb"versions-key|idempotency_?key|cache_?key|partition_?key|public_?key|pubkey|kid)$|"
    rb"-stdin$|_stdin$|pass(?:ed|es|ing|through|_rate|_count|_fraction)|bypass|compass|"
    rb"signal|signature_?(?:version|method|type)|design|assign|sight|signed|signing_?(?:region|name)|"
    rb"author(?!i[sz]ation)|oauth_?(?:url|uri|endpoint)|auth_?(?:url|uri|type|method|mode|provider|endpoint|host|domain|server)")
_VALUE_KEEP = {b"", b"null", b"none", b"true", b"false", b"nil", b"undefined", b"required", b"optional", b"value",
               b"values", b"...", "\u2026".encode()}
# Bare generic words as names: only a one-word value is taken for a secret (`the key: see below` is prose).
_GENERIC_NAMES = {b"key", b"token", b"secret", b"auth", b"credential", b"credentials"}


@functools.lru_cache(maxsize=4096)  # pure: a repeated name is judged once
def _is_secret_name(name: bytes) -> bool:
    lowered = name.lower().strip(b"-_.")
    if not lowered:
        return False
    if _SCANNER_NAME_RE.search(lowered) and not lowered.endswith((b"_id", b"_ids", b"stdin")):
        return True  # a name detect-secrets' keyword or vendor rules take for a secret, whatever follows
    if _HARMLESS_NAME_RE.search(lowered):
        return False
    if lowered in (b"pass", b"no_pass", b"nopass", b"sig", b"signature") :
        return lowered in (b"sig", b"signature")
    if b"pass" in lowered and b"passw" not in lowered and b"passphrase" not in lowered:
        return bool(_PASS_NAME_RE.search(lowered))
    if b"auth" in lowered and not any(w in lowered for w in (b"key", b"token", b"secret", b"passw", b"credential")):
        return lowered in (b"auth", b"authorization", b"proxy-authorization", b"x-auth", b"http_auth", b"basic_auth") \
            or lowered.endswith((b"_auth", b"-auth", b".auth"))
    if b"cookie" in lowered and not any(w in lowered for w in (b"key", b"token", b"secret")):
        return lowered in (b"cookie", b"set-cookie", b"cookies")
    if b"sig" in lowered and not any(w in lowered for w in (b"key", b"token", b"secret", b"passw", b"pwd", b"credential")):
        return lowered in (b"sig", b"signature", b"x-amz-signature", b"x-goog-signature")
    if b"key" in lowered and not any(w in lowered for w in (b"token", b"secret", b"passw", b"pwd", b"credential")):
        return _key_word_at_boundary(name)
    return any(w in lowered for w in (b"token", b"secret", b"passw", b"pwd", b"credential", b"passphrase", b"contrase"))


# The names detect-secrets' keyword rule takes for secrets (with any prefix or suffix), and the
# AWS/Cloudant/IBM/SoftLayer names its vendor rules pair with a key-shaped value.
_SCANNER_NAME_RE = re.compile(
    rb"api_?key|auth_?key|service_?key|account_?key|db_?key|database_?key|priv_?key|private_?key|client_?key|"
    rb"db_?pass|database_?pass|key_?pass|password|passwd|pwd|secret|contrase(?:\xc3\xb1|\xc3\x91|n)a|"
    rb"(?:^|[^a-z0-9])(?:aws|cloudant|clou|cl|softlayer|sl|ibm|iam|cloud|cos)[_.\-]?(?:[a-z]{1,20}[_.\-]?)??"
    rb"(?:key|pwd|pw|password|pass|token)$")
# `db_pass`, `SMTP_PASS`, `keypass`, `DB_PASS_value` — not `n_pass`, `NO_PASS`, `is_pass` (gap-analysis labels).
_PASS_NAME_RE = re.compile(rb"(?:^|[_.\-])?(?:db|database|key|user|admin|root|smtp|mail|ftp|ldap|proxy|basic|http|vnc|"
                           rb"wifi|sudo|login|redis|mongo|mysql|postgres|pg|rabbit|amqp|sftp|ssh|store|trust)[_.\-]?pass(?:$|[_.\-0-9])")
_KEY_OWNERS = (b"api", b"access", b"secret", b"private", b"priv", b"auth", b"master", b"account", b"client",
               b"service", b"license", b"licence", b"ssh", b"gpg", b"pgp", b"db", b"database", b"encryption", b"signing",
               b"app", b"admin", b"ngc", b"wandb", b"comet", b"neptune", b"clearml", b"subscription", b"storage",
               b"shared", b"session", b"sas", b"consumer", b"developer", b"user", b"root", b"deploy", b"registry",
               b"webhook", b"hmac", b"jwt", b"aes", b"rsa", b"cipher", b"crypt", b"vault", b"kms")
_KEY_OWNER_RE = re.compile(rb"(?:" + b"|".join(_KEY_OWNERS) + rb")[_.\-]?key")


def _key_word_at_boundary(name: bytes) -> bool:
    """A key name that holds a secret: `api_key`, `apiKey`, `AccountKey`, `encryption_key`, an
    upper-case env name with a KEY part (`NGC_KEY`), or plain `key` — not `image_key`, `monkey`."""
    lowered = name.lower()
    if lowered == b"key" or _KEY_OWNER_RE.search(lowered):
        return True
    return name.isupper() and any(part == b"KEY" for part in re.split(rb"[_.\-]", name))


# Values that are references or code, not secrets: `args.key`, `os.environ`, `train.resume_path`
# (a dotted config key), a call or subscript (`re.compile(`, `env["X"]`), a Python keyword.
_DOTTED_NAME_RE = re.compile(rb"[A-Za-z_][A-Za-z0-9_.]*[A-Za-z0-9_]")
_CODE_WORDS = {b"lambda", b"self", b"cls", b"not", b"await", b"yield", b"str", b"int", b"float", b"bool", b"bytes",
               b"dict", b"list", b"tuple", b"any", b"optional"}
MIN_SECRET_CHARS = 1


_SPACE_RE = re.compile(rb"\s")
KEEP_WINDOW = 256


def _head(data: bytes, span: tuple[int, int]) -> bytes:
    """The first KEEP_WINDOW bytes of a value: every keep rule decides on its start (a longer
    value is never a placeholder or a code word), so the check costs O(1) per hit."""
    return data[span[0]:min(span[1], span[0] + KEEP_WINDOW)]


@functools.lru_cache(maxsize=4096)  # pure: a line repeating one value thousands of times pays once
def _value_kept(value: bytes, after: bytes = b"") -> bool:
    if len(value) >= KEEP_WINDOW:  # a long value: only a reference prefix keeps it
        return value.lstrip().lstrip(b"\\\"'").startswith((b"$", b"{{", b"<", b"%("))
    stripped = value.strip().strip(b"\\\"'")
    return (len(stripped) < MIN_SECRET_CHARS or stripped.lower() in _VALUE_KEEP or stripped == _MARK
            or stripped.startswith((b"$", b"{{", b"<", b"%(", b"--")) or stripped.strip(b"*x.") == b""
            or stripped.lower() in _CODE_WORDS or after[:1] in (b"(", b"[")
            or _is_dotted_name(stripped))


def _is_dotted_name(value: bytes) -> bool:
    return (b"." in value and b".." not in value and value.islower()
            and _DOTTED_NAME_RE.fullmatch(value) is not None)


def _trailing_ones(n: int) -> int:
    count = 0
    while n & 1:
        n >>= 1
        count += 1
    return count


def _backslashes_before(data: bytes, pos: int, floor: int) -> int:
    """Length of the run of backslashes that ends at `pos` (windows double: cost ~ the run)."""
    width = 8
    while True:
        window = data[max(floor, pos - width):pos]
        count = len(window) - len(window.rstrip(b"\\"))
        if count < len(window) or pos - width <= floor:
            return count
        width *= 4


def _quoted_end(data: bytes, start: int, line_end: int, level: int, quote: bytes) -> int:
    """End of a value opened by `quote` at JSON-escape depth `level`: its closing quote, or an
    enclosing string's end (a quote of lower depth), or the line end."""
    if quote == b'"' and level == 0:  # the common case, in C: escaped characters are content
        return _STRING_BODY_RE.match(data, start, line_end).end()
    pos = start
    while True:
        hit = data.find(quote, pos, line_end)
        if quote != b'"':  # ' or `: ends at its quote, or where an enclosing JSON string ends
            dq = _string_end(data, start, hit if hit >= 0 else line_end)
            return dq if dq >= 0 else (hit if hit >= 0 else line_end)
        if hit < 0:
            return line_end
        slashes = _backslashes_before(data, hit, start)
        depth = _trailing_ones(slashes)
        if depth <= level:
            return hit - slashes
        pos = hit + 1


def _string_end(data: bytes, start: int, end: int) -> int:
    """First unescaped `"` in data[start:end] (where a JSON string holding the text ends), or -1."""
    pos = start
    while (hit := data.find(b'"', pos, end)) >= 0:
        slashes = _backslashes_before(data, hit, start)
        if slashes % 2 == 0:
            return hit - slashes
        pos = hit + 1
    return -1


class _RestOfLine(tuple):
    """A value that runs to the end of its line (YAML, headers): a later name on the same line
    may still hold its own secret, so the scan does not jump past it."""


def _rstrip_end(data: bytes, start: int, end: int) -> int:
    """`end` moved back over trailing spaces (windows grow: cost ~ the spaces, not the value)."""
    width = 16
    while True:
        low = max(start, end - width)
        window = data[low:end]
        stripped = window.rstrip()
        if stripped or low == start:
            return low + len(stripped)
        end, width = low, width * 4


class _Lines:
    """Start, end and JSON-ness of the line around a position; each line is measured once.
    Also remembers where the last rest-of-line value and comment search ended, so hits inside
    one stretch of a line never rescan it (`secret: secret: secret: …` stays linear)."""

    def __init__(self, data: bytes):
        self.data, self.start, self.end, self.json = data, 0, -1, False
        self.values = 0  # values of secret names evaluated on this line (see DENSE_LINE_VALUES)
        self._quotes = (-1, False)  # (pos, whether an odd number of unescaped `"` lie before it on this line)
        self._rest = (-1, -1)      # (from, to): no stop byte in data[from:to], data[to] is one
        self._comment = (-1, -1)   # (from, at): first " #" at or after `from` is at `at` (-1: none before line end)

    def rest_of_line_end(self, pos: int) -> int:
        lo, hi = self._rest
        if not lo <= pos <= hi:
            hi = _REST_OF_LINE_RE.match(self.data, pos, self.end).end()
            self._rest = (pos, hi)
        return hi

    def comment_start(self, pos: int, end: int) -> int:
        lo, at = self._comment
        if not (lo <= pos and (at < 0 or pos <= at)) or lo < self.start:
            at = self.data.find(b" #", pos, self.end)
            self._comment = (pos, at)
        return at if 0 <= at < end else -1

    def in_string(self, pos: int) -> bool:
        """Whether `pos` lies inside a double-quoted string of this line (a backslash-escaped
        quote does not count); counted on from the last position asked, so each line is counted once."""
        last, odd = self._quotes
        if pos < last or last < self.start:
            last, odd = self.start, False
        quotes = self.data.count(b'"', last, pos) - self.data.count(b'\\"', last, pos)
        self._quotes = (pos, odd ^ bool(quotes & 1))
        return self._quotes[1]

    def at(self, pos: int) -> None:
        if pos <= self.end:
            return
        self._rest, self._comment, self.values, self._quotes = (-1, -1), (-1, -1), 0, (-1, False)
        data = self.data
        self.start = data.rfind(b"\n", 0, pos) + 1  # scans back over this line only
        end = data.find(b"\n", pos)
        self.end = len(data) if end < 0 else end
        head = data[self.start:self.start + 64].lstrip()
        self.json = head[:1] in (b"{", b"[")


_YAML_DECORATION_RE = re.compile(rb"(?:&[^\s&!*]{1,128}|![^\s&!*]{0,128})[ \t]+(?:(?:&[^\s&!*]{1,128}|![^\s&!*]{0,128})[ \t]+)?")


def _value_span(data: bytes, pos: int, lines: _Lines, quoted_key: bool, spaced_equals: bool, colon: bool):
    """(start, end) of the value that begins at `pos`, or None."""
    line_end = lines.end
    if pos >= line_end:
        return None
    slashes = _BACKSLASHES_RE.match(data, pos).end() - pos
    opener = data[pos + slashes:pos + slashes + 1]
    if opener in (b'"', b"'", b"`"):
        if opener == b'"' and not slashes and not quoted_key and lines.json and lines.in_string(pos):
            return None  # `{"cmd": "x password:"}`: this quote ends the JSON string the name is in
        start = pos + slashes + 1
        level = _trailing_ones(slashes) if opener == b'"' else 0
        return start, _quoted_end(data, start, line_end, level, opener)
    if slashes:
        return None
    if colon and opener in (b"&", b"!"):  # YAML `name: &anchor value`, `name: !!str value`
        decorated = _YAML_DECORATION_RE.match(data, pos, line_end)
        if decorated and data[decorated.end():decorated.end() + 1] not in (b"&", b"!", b""):
            return _value_span(data, decorated.end(), lines, quoted_key, spaced_equals, colon)
        return None
    if quoted_key or lines.json and not colon:
        if data[pos:pos + 1] in (b"{", b"["):
            return None
        match = _JSON_BARE_VALUE_RE.match(data, pos, line_end)
    elif colon:  # YAML / HTTP header: the rest of the line, without a comment
        if data[pos:pos + 1] in (b"{", b"[", b"&", b"*", b"!"):
            return None
        end = lines.rest_of_line_end(pos)
        cut = lines.comment_start(pos, end)
        end = _rstrip_end(data, pos, cut if cut >= 0 else end)
        if end - pos <= 2 and data[pos:end] in (b"|", b"|-", b">", b">-", b"|+", b">+"):
            return _block_scalar(data, lines)
        return _RestOfLine((pos, end)) if end > pos else None
    else:
        match = _BARE_VALUE_RE.match(data, pos, line_end)
    return match.span() if match and match.end() > pos else None


def _block_scalar(data: bytes, lines: _Lines):
    """A YAML block scalar (`key: |`): the following lines indented deeper than the key line."""
    line = data[lines.start:lines.end]
    indent = len(line) - len(line.lstrip(b" "))
    pos, end = lines.end + 1, lines.end
    while pos < len(data):
        nxt = data.find(b"\n", pos)
        nxt = len(data) if nxt < 0 else nxt
        body = data[pos:nxt]
        if body.strip() and len(body) - len(body.lstrip(b" ")) <= indent:
            break
        end, pos = nxt, nxt + 1
    return (lines.end + 1, end) if end > lines.end else None


# One match per name that holds a secret word (searched in the lower-cased copy): the word, the rest
# of its name, and the separator after it when there is one. The separator is optional, so a match
# never fails after the word: each name is consumed once and never rescanned (linear), and the bytes
# are walked by the regex engine, not by Python. Groups: 1 word, 2 rest of the name (`ñ` of
# `contraseña` in UTF-8 included), 3 closing quote of a quoted key (and `]`: `env["NAME"] = v`),
# 4 spaces before the separator, 5 the separator: an assignment or comparison (`=`, `==`, `!=`,
# `=>`, `:` but not `://`), or after a space a quoted value closed by `;` (C's `name "v";`).
# (The name class holds the bytes of the n-tilde of `contrase\xc3\xb1a`: one character class, so the
# engine walks a name in one C loop; an alternation there costs ~100x per byte on long names.)
_CANDIDATE_RE = re.compile(rb"(key|token|sshpass|secret|pass|pw|credential|auth|cookie|sig|contrase)"
                           rb"([a-z0-9_.\-\xc3\xb1\x91]*)"
                           rb"(?:(\\*[\"']\]?)?([ \t]*)(=>|!==?|={1,3}|:(?!//)|(?<=[ \t])(?=([\"'])[^\"'\r\n]*\6;))[ \t]*"
                           rb"|([ \t]))?")
_HAS_SEPARATOR, _SPACE_AFTER = 5, 7  # cand.lastindex: a separator follows; else a space follows
_NAME_BYTES = bytes(sorted(_NAME_CHAR))
_SPACES_RE = re.compile(rb"[ \t]+")


def _setter_starts(data: bytes) -> set[int]:
    """Where the name after a setter command starts (`git config NAME V`, `aws configure set NAME V`):
    each setter word found with bytes.find (C speed; one regex alternation tried at every `s`, `c`
    or `-` of a 30 MB transcript costs ~0.1 s), then its spaces."""
    starts = set()
    for word in _SETTER_BEFORE:
        pos = 0
        while (at := data.find(word, pos)) >= 0:
            pos = at + len(word)
            spaces = _SPACES_RE.match(data, pos)
            if spaces:
                starts.add(spaces.end())
    return starts


# A line holding more values of secret names than this (a real line holds a handful; only a
# generated or hostile one holds thousands) is redacted from that value to its end: the per-line
# time bound then holds however the rest of the line is built, at the cost of over-redacting it.
DENSE_LINE_VALUES = 1000


def _named_values(data: bytes, lowered: bytes, spans: list) -> None:
    _bearer_values(data, lowered, spans)
    for word, rule in _COMMAND_RULES.items():
        _commands(data, lowered, word, rule, spans)
    _names(data, lowered, spans)


def _names(data: bytes, lowered: bytes, spans: list) -> None:
    """The values after secret names: `name=value`, `"name": "value"`, `name: value`, flags, setters."""
    lines = _Lines(data)
    pos = 0  # values before this position are consumed: names inside them are not looked at
    setter_starts = _setter_starts(data)
    while pos < len(data):
        for cand in _CANDIDATE_RE.finditer(lowered, pos):
            separated = cand.lastindex == _HAS_SEPARATOR
            hit = cand.start()
            if not separated:  # after a space only a flag (`--password X`) or a setter's name takes a value
                if cand.lastindex != _SPACE_AFTER:
                    continue  # no separator and no space: nothing follows as a value
                if (not hit or data[hit - 1] not in _NAME_CHAR) and hit not in setter_starts:
                    continue  # "key word" in prose: the name starts at the word, no setter before it
            if hit < pos:
                continue
            end = cand.end(2)
            if separated and cand.start(5) == end and data[end:end + 1] == b"=" and data[end + 1:end + 2] in _NO_VALUE_BYTES:
                continue  # `sig=&…`: an empty value
            start = hit
            if hit and data[hit - 1] in _NAME_CHAR:  # the name starts before the word (a name has no newline)
                floor = hit - _MAX_NAME if hit > _MAX_NAME else 0
                before = data[floor:hit]
                start = floor + len(before.rstrip(_NAME_BYTES))
                if start == floor and floor and data[floor - 1] in _NAME_CHAR:
                    continue  # part of a run too long to be a name
            name = data[start:end]
            if not _is_secret_name(name.lstrip(b"-")):  # a flag's name without its dashes
                continue
            if not separated:
                if name[:1] == b"-":
                    if data[hit - 1] == 0x2D and data[end:end + 64].lstrip(b" \t")[:1] in (b"-", b""):
                        continue  # `--password --next`: a flag without a value
                elif start not in setter_starts:
                    continue  # `db_password value`: a name and a word, no setter
            flag = name[:1] == b"-" and (not start or data[start - 1] in b"\n \t\"'=([{")
            if flag:
                name = name.lstrip(b"-")
            lines.at(hit)
            lines.values += 1
            if lines.values > DENSE_LINE_VALUES:
                spans.append((end, lines.end))
                pos = _next_line(data, lines, spans)
                break
            value = _named_value(data, cand, lines, start, end, flag, separated)
            if value and name.lower() in _GENERIC_NAMES and not _one_word_secret(data, name, value, lines) and (
                    _SPACE_RE.search(data, value[0], value[1]) or value[1] - value[0] < 6):
                value = None  # prose such as "the key: see below", or code such as `key=str`
            if value and (word := _bare_keep_word(data, value, lines, cand)):
                spans.append(word)  # `"password": null` outside JSON: a scanner takes the word for the secret
                continue
            if value and not _value_kept(_head(data, value), data[value[1]:value[1] + 1]):
                vstart = value[0]
                scheme = _SCHEME_RE.match(data, vstart, value[1])
                if scheme and scheme.end() < value[1]:
                    vstart = scheme.end()
                if not _value_kept(_head(data, (vstart, value[1]))):
                    spans.append((vstart, value[1]))
                    if lines.end - value[1] <= 64 and not data[value[1]:lines.end].strip():
                        pos = _next_line(data, lines, spans)  # the line is covered to its end
                        break
                pos = max(pos, value[1])
            elif value and not isinstance(value, _RestOfLine) and data[value[0]:value[0] + 1] != b"-":
                pos = max(pos, value[1])  # a kept one-word or quoted value (not a flag): nothing inside it is looked at again
        else:
            return


def _bearer_values(data: bytes, lowered: bytes, spans: list) -> None:
    """`Bearer X` anywhere (a header, a curl -H, a log line); found in the lower-cased copy by a
    case-sensitive pattern, which the engine skips to by its literal."""
    for bearer in _BEARER_LOWER_RE.finditer(lowered):
        if not _value_kept(data[bearer.start(1):bearer.end(1)]):
            spans.append(bearer.span(1))


def _commands(data: bytes, lowered: bytes, word: bytes, rule: re.Pattern, spans: list) -> None:
    """`docker login -p X` / `sshpass -p X` / `mysql -pX` / `curl -u user:X`: each command segment
    after `word` is scanned once for `rule`; a line with more than DENSE_LINE_VALUES of them is
    redacted from there to its end."""
    lines = _Lines(data)
    pos = 0
    while (hit := lowered.find(word, pos)) >= 0:
        lines.at(hit)
        lines.values += 1  # a command segment costs one value, each flag in it one more
        if lines.values > DENSE_LINE_VALUES:
            spans.append((hit + len(word), lines.end))
            pos = _next_line(data, lines, spans) + 1
            continue
        pos = max(hit + len(word), _command_flags(data, hit + len(word), lines, spans, rule))


def _one_word_secret(data: bytes, name: bytes, value: tuple[int, int], lines: "_Lines") -> bool:
    """`secret=Lwkob`, `secret = "Ox82"`, `secret: |` — after the bare name `secret` a one-word value
    however short, or a block scalar, is the secret (the generic-name rules are for `key`/`token`,
    whose short values are code; prose, a value with a space, is still left)."""
    if name.lower() != b"secret":
        return False
    return value[0] > lines.end or not _SPACE_RE.search(data, value[0], value[1])


_KEEP_WORDS = (b"null", b"true", b"false", b"none")


def _bare_keep_word(data: bytes, value: tuple[int, int], lines: "_Lines", cand: re.Match):
    """The span of a bare null/true/false/none after a quoted secret name on a line that is not
    JSON (`- '"password": null'`), else None; on a JSON line the word stays, so the JSON stays valid."""
    if lines.json or cand.lastindex != _HAS_SEPARATOR or cand.group(3) is None or value[1] - value[0] > 8:
        return None
    word = data[value[0]:value[1]].rstrip(b"'\"`")
    return (value[0], value[0] + len(word)) if word.lower() in _KEEP_WORDS else None


def _named_value(data: bytes, cand: re.Match, lines: "_Lines", start: int, end: int, flag: bool, separated: bool):
    """The value span of the secret name data[start:end] found by `cand`, or None."""
    if flag:
        sep = _FLAG_SEPARATOR_RE.match(data, end)
        return _value_span(data, sep.end(), lines, False, False, False) if sep else None
    if data[end:end + 1] in (b" ", b"\t") and data[max(lines.start, start - 16):start].rstrip().endswith(_SETTER_BEFORE):
        return _value_span(data, _FLAG_SEPARATOR_RE.match(data, end).end(), lines, False, False, False)
    if separated and (cand.group(3) is None or start > lines.start and data[start - 1] in b"\"'"):
        return _value_span(data, cand.end(), lines, cand.group(3) is not None,
                           bool(cand.group(4)) and cand.group(5) == b"=", cand.group(5) == b":")
    return None


def _next_line(data: bytes, lines: "_Lines", spans: list) -> int:
    """Where the scan goes on once the rest of a line is redacted: the next line, as every later
    value on this one would end at the line end at the latest — after redacting a YAML block scalar
    opened at the line's end (`token: |`), whose body is on the next lines."""
    tail = data[max(lines.start, lines.end - 8):lines.end].rstrip()
    if tail.endswith((b"|", b"|-", b"|+", b">", b">-", b">+")) and b":" in data[max(lines.start, lines.end - 12):lines.end]:
        block = _block_scalar(data, lines)
        if block:
            spans.append(block)
    return lines.end


# `"value" == name`: a quoted value compared with a secret name that follows it.
_COMPARED_NAME_RE = re.compile(rb"=?[ \t]*([A-Za-z0-9_.\-]{1,80})")
_COMPARE_WINDOW = 256


def _compared_values(data: bytes, spans: list) -> None:
    for operator in (b"==", b"!="):
        pos = 0
        while (at := data.find(operator, pos)) >= 0:
            pos = at + 2
            close = at
            while close > 0 and at - close < 16 and data[close - 1] in b" \t":
                close -= 1
            if not close or data[close - 1] not in b"\"'`":
                continue  # the common case: no quoted value right before the operator
            left = data[max(0, close - _COMPARE_WINDOW):close]
            opening = left.rfind(left[-1:], 0, len(left) - 1)
            name = _COMPARED_NAME_RE.match(data, pos)
            # the scanner's words as written (its rule for this form is case-sensitive), `_id` too
            if opening < 0 or not name or not (_is_secret_name(name.group(1)) or _SCANNER_NAME_RE.search(name.group(1))):
                continue
            value = left[opening + 1:-1].rstrip(b"\\")  # `\"v\" == name` inside a JSON string
            if value and b"\n" not in value and not _value_kept(value):
                start = close - len(left) + opening + 1
                spans.append((start, start + len(value)))


_LOGIN_P_RE = re.compile(rb"(?:^|[ \t])(?:-p|--password)(?:=|[ \t]+)")
_MYSQL_P_RE = re.compile(rb"(?:^|[ \t])-p(?=[^\s\-])")
_CURL_U_RE = re.compile(rb"(?:^|[ \t])(?:-u|--user|--proxy-user)(?:=|[ \t]+)[\"']?[^\s:\"'\\]*:")
_SEGMENT_END_RE = re.compile(rb"&&|\|\||[;|\n]|\\n")
_COMMAND_RULES = {b"login": _LOGIN_P_RE, b"sshpass": _LOGIN_P_RE, b"mysql": _MYSQL_P_RE, b"curl": _CURL_U_RE}


def _command_flags(data: bytes, seg_start: int, lines: _Lines, spans: list, rule: re.Pattern) -> int:
    """`docker login -p X` / `sshpass -p X` / `mysql -pX` / `curl -u user:X`, within one command."""
    stop = _SEGMENT_END_RE.search(data, seg_start, min(lines.end, seg_start + 4096))
    seg_end = stop.start() if stop else min(lines.end, seg_start + 4096)
    for match in rule.finditer(data, seg_start, seg_end):
        lines.values += 1
        value = _value_span(data, match.end(), lines, False, False, False)
        if value and not _value_kept(_head(data, value)):
            spans.append((value[0], min(value[1], seg_end)))
    return max(seg_start, seg_end)


# ---- 3. URL user-info, 4. high entropy ---------------------------------------------------------

_URL_USERINFO_RE = re.compile(rb"://([^\s/?#@:\"']*):([^\s/?#@\"']+)@")
_KEY_BEFORE_RE = re.compile(rb"([A-Za-z0-9_.\-]+)\\*[\"']?[ \t]*[:=][ \t]*\\*$")
_DIGEST_NAME_RE = re.compile(rb"(?i)sha|digest|hash|checksum|md5|commit|etag|revision|\boid\b|integrity")
BASE64_ENTROPY_LIMIT = 4.5
HEX_ENTROPY_LIMIT = 3.0
# The scanners' filters: a value holding a UUID, a run of the alphabet (`ABCDEF…`), or one
# without any letter is never reported; nor is a value under a name that ends in `_id`.
_UUID_RE = re.compile(rb"(?i)[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}")
_SEQUENCES = (b"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/",
              b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ+/",
              b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
              b"01234567890123456789", b"0123456789ABCDEF0123456789ABCDEF", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ=/")
_SEQUENCE_TEXT = b"\n".join(_SEQUENCES)  # one substring test for all (a string holds no newline)
_LETTER_RE = re.compile(rb"[A-Za-z]")
_DIGEST_LENGTHS = {32, 40, 56, 64, 96, 128}  # md5, sha1/git, sha224, sha256, sha384, sha512 in hex
# A YAML `key: value` or INI `key = value` line up to its value: detect-secrets quotes such a
# value before judging it (its YAML and config-file readers), so a bare value counts as quoted.
_YAML_KEY = rb"[\"']?[A-Za-z0-9_.\-/ ]{1,80}[\"']?"
_BARE_KEY_RE = re.compile(rb"[ \t]*(?:- )?" + _YAML_KEY + rb"[ \t]*[:=][ \t]*(?:[&!][!A-Za-z0-9_\-]{0,40}[ \t]+)?")
# ... inside a YAML flow mapping (`{host: h, key: value}`), and the head of a one-line block scalar
# whose line break is stripped (`key: >-` or `key: |-`; other block values keep a line break).
_FLOW_KEY_RE = re.compile(rb"[{,][ \t]*" + _YAML_KEY + rb":[ \t]+$")
_STRIPPED_BLOCK_RE = re.compile(rb"([ \t]*)(?:- )?" + _YAML_KEY + rb":[ \t]+[|>]-[ \t]*(?:#[^\n]*)?")
_BARE_KEY_WINDOW = 128
# Short hex strings (fewer bytes than a token run): every hex byte becomes "h", every other " ",
# so a run of 9 is found with bytes.find.
_HEX_CLASS = bytes(0x68 if b in _HEX else 0x20 for b in range(256))
_SHORT_HEX = (9, MIN_RUN - 1)  # below 9 bytes a hex string cannot pass 3.0 bits
_NOT_HEX_RE = re.compile(rb"[^h]")


def shannon_entropy(value: bytes) -> float:
    """Bits per byte: log2(n) - sum(c * log2(c)) / n over the byte counts c (loops in C)."""
    total = len(value)
    if not total:
        return 0.0
    counts = list(Counter(value).values())
    return math.log2(total) - sum(map(operator.mul, counts, map(math.log2, counts))) / total


@functools.lru_cache(maxsize=4096)  # pure: a line repeating one string pays for it once
def _flagged_string(seen: bytes, quoted_again: bool) -> bool:
    """Whether detect-secrets' high-entropy plugins report the string `seen` (what it sees between
    the quotes, a JSON escape's backslashes included). `quoted_again`: its config-file reader
    re-quotes the line, which adds one backslash to a string that was quoted already."""
    distinct = len(set(seen))  # entropy is at most log2(distinct): most strings stop here
    hexadecimal = not seen.translate(None, _HEX_ORDER)
    if distinct < (9 if hexadecimal else 22) or not _LETTER_RE.search(seen) or _UUID_RE.search(seen) \
            or seen.upper() in _SEQUENCE_TEXT:
        return False
    if hexadecimal and _above(seen, HEX_ENTROPY_LIMIT, _HEX_ORDER):
        return True
    return len(seen) >= 20 and (_above(seen, BASE64_ENTROPY_LIMIT, _BASE64_ORDER)
                                or quoted_again and _above(seen + b"\\", BASE64_ENTROPY_LIMIT, _BASE64_ORDER))


# detect-secrets' alphabets in its own order: at a limit, its float sum decides (same order, same log)
_HEX_ORDER = b"0123456789abcdefABCDEF"
_BASE64_ORDER = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/\\-_="


def _above(value: bytes, limit: float, order: bytes) -> bool:
    entropy = shannon_entropy(value)
    if abs(entropy - limit) < 1e-9:
        entropy = 0.0
        for byte in order:
            if (share := value.count(byte) / len(value)) > 0:
                entropy += -share * math.log(share, 2)
    return entropy > limit


def _provenance_name(data: bytes, pos: int, value: bytes) -> bool:
    """The string at `pos` is a hex digest under a digest name (`"sha256": "<64 hex>"`, `commit`:
    provenance, kept) or sits under an id name (`tool_use_id`: the scanners skip values after `_id`)."""
    key = _key_before(data, pos)
    if not key:
        return False
    if key.lower().endswith((b"_id", b"_ids")):
        return True
    return len(value) in _DIGEST_LENGTHS and (value.islower() or value.isupper() or value.isdigit()) \
        and not value.translate(None, _HEX_ORDER) and _DIGEST_NAME_RE.search(key) is not None


def _high_entropy_run(data: bytes, start: int, end: int, run: bytes, spans: list) -> None:
    """A whole quoted string (or YAML/INI value) of the base64 or hex alphabet with high entropy."""
    quote = data[start - 1] if start else 0
    if quote in (0x22, 0x27):
        close = end
        while close < len(data) and data[close] == 0x5C:  # JSON-escaped closing quote
            close += 1
        if close < len(data) and data[close] == quote and not run.translate(None, _B64_ALPHABET) \
                and _flagged_string(data[start:close], True) and not _provenance_name(data, start - 1, run):
            spans.append((start, end))
        return
    value = _bare_value(data, start, end, run)
    if value and _flagged_string(data[value:end], False) and not _provenance_name(data, value, data[value:end]):
        spans.append((value, end))


def _bare_value(data: bytes, start: int, end: int, run: bytes) -> int:
    """Start of the bare value that ends this run when the run is a whole YAML/INI value: it ends a
    `key: value` / `key=value` line (spaces or a ` #` comment may follow), ends a flow-mapping
    entry, or is the one line of a `key: >-` block. Else 0."""
    after = end
    while after < len(data) and after - end < 64 and data[after] in b" \t":
        after += 1
    line_end = after == len(data) or data[after] in b"\r\n" or data[after] == 0x23 and after > end
    if not line_end and data[after:after + 1] not in (b",", b"}"):
        return 0
    newline = data.rfind(b"\n", max(0, start - _BARE_KEY_WINDOW), start)
    if newline < 0 and start > _BARE_KEY_WINDOW:
        return 0
    if line_end and _BARE_KEY_RE.fullmatch(data, newline + 1, start) or _FLOW_KEY_RE.search(data, newline + 1, start):
        return start
    if not line_end:
        return 0
    if newline > 0 and start > newline + 1 and not data[newline + 1:start].strip(b" \t") and _one_line_block(data, newline, start, after):
        return start
    equals = run.find(b"=", 1, 81)  # `key=value` is one run: the value starts after the first `=`
    value = start + equals + 1
    return value if equals > 0 and value < end and _BARE_KEY_RE.fullmatch(data, newline + 1, value) else 0


def _one_line_block(data: bytes, newline: int, start: int, after: int) -> bool:
    """The indented run at `start` is all of a stripped block scalar opened on the line before."""
    head_start = data.rfind(b"\n", max(0, newline - _BARE_KEY_WINDOW), newline) + 1
    head = _STRIPPED_BLOCK_RE.fullmatch(data, head_start, newline)
    if not head or len(head.group(1)) >= start - newline - 1:
        return False
    nxt = after + 1 if after < len(data) else after  # the following line may not continue the block
    following = data[nxt:nxt + start - newline]
    return not following.strip() or len(following) - len(following.lstrip(b" \t")) <= len(head.group(1))


def _short_hex(data: bytes, spans: list) -> None:
    """Quoted (or YAML/INI bare) hex strings of 9 to 13 characters above the hex limit."""
    classes = data.translate(_HEX_CLASS)
    needle = b"h" * _SHORT_HEX[0]
    pos = 0
    while (start := classes.find(needle, pos)) >= 0:
        stop = _NOT_HEX_RE.search(classes, start + _SHORT_HEX[0])
        end = stop.start() if stop else len(data)
        pos = end
        if end - start > _SHORT_HEX[1]:
            continue
        quote = data[start - 1] if start else 0
        if quote in (0x22, 0x27):
            if end == len(data) or data[end] != quote:
                continue  # not one whole quoted string
        elif not _bare_value(data, start, end, data[start:end]):
            continue
        value = data[start:end]
        if _flagged_string(value, False) and not _provenance_name(data, start - (quote in (0x22, 0x27)), value):
            spans.append((start, end))


def _key_before(data: bytes, pos: int) -> bytes:
    """The name in `name: ` / `"name" = ` right before `pos`, else b""."""
    sep = pos
    while sep > 0 and pos - sep < 16 and data[sep - 1] in b" \t\\":
        sep -= 1
    if not sep or data[sep - 1] not in b":=":
        return b""  # the common case, decided without a regex
    match = _KEY_BEFORE_RE.search(data[max(0, pos - 100):pos])
    return match.group(1) if match else b""


def _url_userinfo(data: bytes, spans: list) -> None:
    for match in _URL_USERINFO_RE.finditer(data):
        password = match.group(2)
        if not (password.startswith((b"$", b"{", b"%(")) or password.startswith(b"<") and password.endswith(b">")
                or password == _MARK or password.strip(b"*") == b""):
            spans.append(match.span(2))


# ---- join --------------------------------------------------------------------------------------

def redact_bytes(data: bytes) -> tuple[bytes, int]:
    """(redacted bytes, number of values replaced)."""
    spans: list[tuple[int, int]] = []
    _private_keys(data, spans)
    _key_phrases(data, spans)
    _runs(data, spans)
    _short_hex(data, spans)
    lowered = data.lower()
    _short_tokens(data, lowered, spans)
    _named_values(data, lowered, spans)
    _compared_values(data, spans)
    _url_userinfo(data, spans)
    if not spans:
        return data, 0
    spans.sort()
    merged: list[list[int]] = []
    for start, end in spans:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces, pos, count = [], 0, 0
    for start, end in merged:
        if data[start:end] == _MARK:
            continue
        pieces += [data[pos:start], _MARK]
        pos, count = end, count + 1
    pieces.append(data[pos:])
    return b"".join(pieces), count


def redact_text(text: str) -> tuple[str, int]:
    """(redacted text, number of values replaced)."""
    out, count = redact_bytes(text.encode("utf-8", "surrogatepass"))
    return out.decode("utf-8", "surrogatepass"), count

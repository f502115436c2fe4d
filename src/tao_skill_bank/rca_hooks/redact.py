"""Remove secrets from files before they are packaged, in time linear in the input.

Works on bytes (so a file that is not UTF-8 is still redacted) and replaces each secret value by
`[REDACTED]`, leaving names, quotes and surrounding text intact (a JSON line stays valid JSON).
Four passes collect the spans to replace, then one join writes the result:

1. **Known token formats** anywhere (`KNOWN_TOKEN_KINDS`: NGC, GitHub, GitLab, Slack, Stripe, AWS,
   Google, OpenAI/Anthropic, Hugging Face, npm, PyPI, SendGrid, Twilio, JWT, ...), and private-key
   blocks (`-----BEGIN ... PRIVATE KEY-----` to its END line, or to the end of the string when cut).
2. **Named values**: the value after a name that says it holds a secret (`*KEY*`, `*TOKEN*`,
   `*SECRET*`, `*PASSWORD*`, `pwd`, `auth`, `Authorization`, `cookie`, ...), in every form a
   session shows: `"name": "value"` (also JSON-escaped inside a transcript string, at any depth),
   `name=value`, `export NAME=...`, `name: value` (YAML, HTTP headers), `--name value`,
   `docker login -p X`, `sshpass -p X`, `mysql -pX`, `curl -u user:pass`, `Bearer X`.
3. **URL user-info**: `scheme://user:password@host` keeps the user.
4. **High-entropy quoted strings** (the criterion secret scanners use: base64-alphabet strings with
   Shannon entropy above 4.5 bits, hex strings above 3.0) and public IPv4 addresses; hex digests
   under digest names (`sha256`, `hash`, `commit`, ...) are kept, they are provenance.

Why linear, and bounded per line: every regex here either starts with a literal or is anchored by
a look-behind at the start of a character run, and has no nested or ambiguous repetition, so each
attempt scans at most one run and a failed attempt costs O(1) at the next position. Named values
are found by one regex matching a secret word, the rest of its name and an optional separator
(the regex engine walks the bytes; each name is consumed once); Python looks only at names followed
by a separator, flag value or setter, judges a repeated name once, and after DENSE_LINE_VALUES
values on one line redacts the rest of that line instead of evaluating more.
`tests/rca_hooks/test_redact.py` checks the regex shapes and the per-line bound;
`benchmarks/hooks_latency.py` times it.
"""

from __future__ import annotations

import math
import re
from collections import Counter

MARK = "[REDACTED]"
_MARK = MARK.encode()

# ---- 1. known token formats --------------------------------------------------------------------

_RUN_CHARS = rb"A-Za-z0-9_\-+/=."
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
    ("gitlab", b"GR1348941", rb"GR1348941[A-Za-z0-9_\-]{20,}"),
    ("slack", b"xox", rb"xox[abposre]-[A-Za-z0-9\-]{10,}"),
    ("slack-webhook", b"hooks.slack.com/services/", rb"hooks\.slack\.com/services/[A-Za-z0-9_/]{10,}"),
    ("discord-webhook", b"discord.com/api/webhooks/", rb"discord\.com/api/webhooks/[A-Za-z0-9_/\-]{10,}"),
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
    ("twilio", b"AC", rb"AC[a-f0-9]{32}"),
    ("twilio", b"SK", rb"SK[a-f0-9]{32}"),
    ("square", b"sq0csp-", rb"sq0csp-[0-9A-Za-z_\-]{30,}"),
    ("square", b"sq0atp-", rb"sq0atp-[0-9A-Za-z_\-]{20,}"),
    ("shopify", b"shpat_", rb"shpat_[a-fA-F0-9]{20,}"),
    ("shopify", b"shpss_", rb"shpss_[a-fA-F0-9]{20,}"),
    ("digitalocean", b"dop_v1_", rb"dop_v1_[a-f0-9]{40,}"),
    ("databricks", b"dapi", rb"dapi[a-f0-9]{32}"),
    ("artifactory", b"AKC", rb"AKC[a-zA-Z0-9]{10,}"),
    ("jwt", b"eyJ", rb"eyJ[A-Za-z0-9_\-=]{4,}\.[A-Za-z0-9_\-=]{4,}\.?[A-Za-z0-9_\-+/=]*"),
]
_TOKEN_SHAPES = {prefix: re.compile(shape) for _, prefix, shape in KNOWN_TOKEN_KINDS}


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
_HEX = frozenset(b"0123456789abcdefABCDEF")
_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_B64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-")
_PEM_HEAD_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]{1,60})-----")
_PEM_SECRET_WORDS = (b"PRIVATE", b"ENCRYPTED", b"SECRET")
_PUTTY_HEAD_RE = re.compile(rb"PuTTY-User-Key-File-[0-9]: ")


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
    """Known token formats, legacy NGC keys and high-entropy quoted strings, one run at a time."""
    for start, end in _token_runs(data):
        run = data[start:end]
        at = 0
        while (match := _TOKEN_START_RE.search(run, at)) is not None:
            at = match.start()
            shape = _TOKEN_SHAPES[match.group(0)].match(run, at) if not at or run[at - 1] not in _WORD_BYTES else None
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
        _high_entropy_run(data, start, end, run, spans)


def _high_entropy_run(data: bytes, start: int, end: int, run: bytes, spans: list) -> None:
    """A whole quoted string of the base64 or hex alphabet with high entropy (scanner criterion)."""
    if start == 0 or data[start - 1] not in b"\"'":
        return
    close = end
    while close < len(data) and data[close] == 0x5C:  # JSON-escaped closing quote
        close += 1
    if close >= len(data) or data[close] not in b"\"'":
        return
    if all(c in _HEX for c in run):
        if _hex_entropy(run) > HEX_ENTROPY_LIMIT and not _DIGEST_NAME_RE.search(_key_before(data, start - 1)):
            spans.append((start, end))
    elif len(run) >= 20 and all(c in _B64 for c in run) and shannon_entropy(run) > BASE64_ENTROPY_LIMIT:
        spans.append((start, end))


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
        end = data.find(b"\n", mac) if mac >= 0 else -1
        end = min(len(data), start + 16384) if end < 0 else end
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
_BEARER_VALUE_RE = re.compile(rb"(?i)bearer[ \t]+([A-Za-z0-9._~+/=\-]{8,})")
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


def _is_secret_name(name: bytes) -> bool:
    lowered = name.lower().strip(b"-_.")
    if not lowered or _HARMLESS_NAME_RE.search(lowered):
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
    return any(w in lowered for w in (b"token", b"secret", b"passw", b"pwd", b"credential", b"passphrase"))


# `db_pass`, `SMTP_PASS`, `keypass` — not `n_pass`, `NO_PASS`, `is_pass` (gap-analysis labels).
_PASS_NAME_RE = re.compile(rb"(?:^|[_.\-])?(?:db|database|key|user|admin|root|smtp|mail|ftp|ldap|proxy|basic|http|vnc|"
                           rb"wifi|sudo|login|redis|mongo|mysql|postgres|pg|rabbit|amqp|sftp|ssh|store|trust)[_.\-]?pass$")
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
        if quote == b"'":
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

    def at(self, pos: int) -> None:
        if pos <= self.end:
            return
        self._rest, self._comment, self.values = (-1, -1), (-1, -1), 0
        data = self.data
        self.start = data.rfind(b"\n", 0, pos) + 1  # scans back over this line only
        end = data.find(b"\n", pos)
        self.end = len(data) if end < 0 else end
        head = data[self.start:self.start + 64].lstrip()
        self.json = head[:1] in (b"{", b"[")


def _value_span(data: bytes, pos: int, lines: _Lines, quoted_key: bool, spaced_equals: bool, colon: bool):
    """(start, end) of the value that begins at `pos`, or None."""
    line_end = lines.end
    if pos >= line_end:
        return None
    slashes = _BACKSLASHES_RE.match(data, pos).end() - pos
    opener = data[pos + slashes:pos + slashes + 1]
    if opener in (b'"', b"'"):
        start = pos + slashes + 1
        level = _trailing_ones(slashes) if opener == b'"' else 0
        return start, _quoted_end(data, start, line_end, level, opener)
    if slashes:
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
# are walked by the regex engine, not by Python. Groups: 1 word, 2 rest of the name, 3 closing quote
# of a quoted key, 4 spaces before the separator, 5 the separator (`=` or `:`, not `://`).
_CANDIDATE_RE = re.compile(rb"(key|token|sshpass|secret|pass|pwd|credential|auth|cookie|sig|bearer|login|curl|mysql)"
                           rb"([a-z0-9_.\-]*)(?:(\\*[\"'])?([ \t]*)(=|:(?!//))[ \t]*)?")
_HAS_SEPARATOR = 5
_NAME_BYTES = bytes(sorted(_NAME_CHAR))
# Where the name of a setter command starts (see _SETTER_BEFORE): group 1 ends there. A lookahead,
# so that overlapping setters (`config set NAME`) are all found.
_SETTER_RE = re.compile(b"(?=(?:" + b"|".join(map(re.escape, sorted(_SETTER_BEFORE, key=len, reverse=True))) + rb")([ \t]+))")


def _memo(fn, limit: int = 4096):
    """`fn` (pure, over bytes) with a bounded cache: a line repeating one name or value thousands of
    times pays for the decision once; the bound keeps a file of unique names from growing it."""
    cache: dict = {}

    def cached(*key):
        try:
            return cache[key]
        except KeyError:
            if len(cache) >= limit:
                cache.clear()
            result = cache[key] = fn(*key)
            return result
    return cached


# A line holding more values of secret names than this (a real line holds a handful; only a
# generated or hostile one holds thousands) is redacted from that value to its end: the per-line
# time bound then holds however the rest of the line is built, at the cost of over-redacting it.
DENSE_LINE_VALUES = 1000


def _named_values(data: bytes, lowered: bytes, spans: list) -> None:
    lines = _Lines(data)
    pos = 0  # values before this position are consumed: names inside them are not looked at
    scanned: dict[bytes, int] = {}  # per command word: end of the last command segment scanned
    setter_starts = None  # found on first need, once per file
    verdicts: dict[bytes, bool] = {}  # name -> _is_secret_name(name): a repeated name is judged once
    kept = _memo(_value_kept)
    while pos < len(data):
        for cand in _CANDIDATE_RE.finditer(lowered, pos):
            hit = cand.start()
            if hit < pos:
                continue
            word, end = cand.group(1), cand.end(2)
            if word in _WORD_RULES:
                pos = _word_rules(data, cand, word, lines, spans, scanned, pos, kept)
                if lines.values > DENSE_LINE_VALUES:
                    spans.append((cand.end(1), lines.end))
                    pos = _next_line(data, lines, spans)
                    break
            separated = cand.lastindex == _HAS_SEPARATOR
            if separated:
                if cand.start(5) == end and data[end:end + 1] == b"=" and data[end + 1:end + 2] in _NO_VALUE_BYTES:
                    continue  # `sig=&…`: an empty value
            elif data[end:end + 1] not in (b" ", b"\t"):
                continue  # no separator and no space: nothing can follow as a value
            start = hit
            if hit and data[hit - 1] in _NAME_CHAR:  # the name starts before the word (a name has no newline)
                floor = max(0, hit - _MAX_NAME)
                before = data[floor:hit]
                start = hit - (len(before) - len(before.rstrip(_NAME_BYTES)))
                if start == floor and floor and data[floor - 1] in _NAME_CHAR:
                    continue  # part of a run too long to be a name
            if not separated:  # after a space only a flag (`--password X`) or a setter's name takes a value
                if data[start:start + 1] == b"-":
                    if data[hit - 1] == 0x2D and data[end:end + 64].lstrip(b" \t")[:1] in (b"-", b""):
                        continue  # `--password --next`: a flag without a value
                else:
                    if setter_starts is None:
                        setter_starts = {m.end(1) for m in _SETTER_RE.finditer(data)}
                    if start not in setter_starts:
                        continue  # "key word" in prose
            name = data[start:end]
            flag = name[:1] == b"-" and (not start or data[start - 1] in b"\n \t\"'=([{")
            if flag:
                name = name.lstrip(b"-")
            secret = verdicts.get(name)
            if secret is None:
                if len(verdicts) >= 4096:
                    verdicts.clear()
                secret = verdicts[name] = _is_secret_name(name)
            if not secret:
                continue
            lines.at(hit)
            lines.values += 1
            if lines.values > DENSE_LINE_VALUES:
                spans.append((end, lines.end))
                pos = _next_line(data, lines, spans)
                break
            value = _named_value(data, cand, lines, start, end, flag, separated)
            if value and name.lower() in _GENERIC_NAMES and (
                    _SPACE_RE.search(data, value[0], value[1]) or value[1] - value[0] < 6):
                value = None  # prose such as "the key: see below", or code such as `key=str`
            if value and not kept(_head(data, value), data[value[1]:value[1] + 1]):
                vstart = value[0]
                scheme = _SCHEME_RE.match(data, vstart, value[1])
                if scheme and scheme.end() < value[1]:
                    vstart = scheme.end()
                if not kept(_head(data, (vstart, value[1]))):
                    spans.append((vstart, value[1]))
                    if lines.end - value[1] <= 64 and not data[value[1]:lines.end].strip():
                        pos = _next_line(data, lines, spans)  # the line is covered to its end
                        break
                pos = max(pos, value[1])
            elif value and not isinstance(value, _RestOfLine) and data[value[0]:value[0] + 1] != b"-":
                pos = max(pos, value[1])  # a kept one-word or quoted value (not a flag): nothing inside it is looked at again
        else:
            return


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


def _word_rules(data: bytes, cand: re.Match, word: bytes, lines: "_Lines", spans: list, scanned: dict, pos: int,
                kept) -> int:
    """`Bearer X` and the command words (`docker login -p`, `sshpass -p`, `mysql -pX`, `curl -u`);
    returns the new `pos`. Each command segment is scanned once per word."""
    lines.at(cand.start())
    if word == b"bearer":
        bearer = _BEARER_VALUE_RE.match(data, cand.start())
        lines.values += bearer is not None
        if bearer and not kept(bearer.group(1)):
            spans.append(bearer.span(1))
            return max(pos, bearer.end())
    elif cand.start() >= scanned.get(word, -1):
        lines.values += 1  # a command segment costs one value, each flag in it one more
        scanned[word] = _command_flags(data, cand.end(1), lines, spans, _COMMAND_RULES[word], kept)
    return pos


_LOGIN_P_RE = re.compile(rb"(?:^|[ \t])(?:-p|--password)(?:=|[ \t]+)")
_MYSQL_P_RE = re.compile(rb"(?:^|[ \t])-p(?=[^\s\-])")
_CURL_U_RE = re.compile(rb"(?:^|[ \t])(?:-u|--user|--proxy-user)(?:=|[ \t]+)[\"']?[^\s:\"'\\]*:")
_SEGMENT_END_RE = re.compile(rb"&&|\|\||[;|\n]|\\n")
_COMMAND_RULES = {b"login": _LOGIN_P_RE, b"sshpass": _LOGIN_P_RE, b"mysql": _MYSQL_P_RE, b"curl": _CURL_U_RE}
_WORD_RULES = {b"bearer", *_COMMAND_RULES}


def _command_flags(data: bytes, seg_start: int, lines: _Lines, spans: list, rule: re.Pattern, kept) -> int:
    """`docker login -p X` / `sshpass -p X` / `mysql -pX` / `curl -u user:X`, within one command."""
    stop = _SEGMENT_END_RE.search(data, seg_start, min(lines.end, seg_start + 4096))
    seg_end = stop.start() if stop else min(lines.end, seg_start + 4096)
    for match in rule.finditer(data, seg_start, seg_end):
        lines.values += 1
        value = _value_span(data, match.end(), lines, False, False, False)
        if value and not kept(_head(data, value)):
            spans.append((value[0], min(value[1], seg_end)))
    return max(seg_start, seg_end)


# ---- 3. URL user-info, 4. high entropy ---------------------------------------------------------

_URL_USERINFO_RE = re.compile(rb"://([^\s/?#@:\"'\\<>]*):([^\s/?#@\"'\\<>]+)@")
_KEY_BEFORE_RE = re.compile(rb"([A-Za-z0-9_.\-]+)\\*[\"']?[ \t]*[:=][ \t]*\\*$")
_DIGEST_NAME_RE = re.compile(rb"(?i)sha|digest|hash|checksum|md5|commit|etag|revision|\boid\b|integrity")
BASE64_ENTROPY_LIMIT = 4.5
HEX_ENTROPY_LIMIT = 3.0


def shannon_entropy(value: bytes) -> float:
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in Counter(value).values()) if total else 0.0


def _hex_entropy(value: bytes) -> float:
    entropy = shannon_entropy(value)
    if value.isdigit() and len(value) > 1:
        entropy -= 1.2 / math.log2(len(value))
    return entropy


def _key_before(data: bytes, pos: int) -> bytes:
    match = _KEY_BEFORE_RE.search(data[max(0, pos - 100):pos])
    return match.group(1) if match else b""


def _url_userinfo(data: bytes, spans: list) -> None:
    for match in _URL_USERINFO_RE.finditer(data):
        if not _value_kept(match.group(2)):
            spans.append(match.span(2))


# ---- join --------------------------------------------------------------------------------------

def redact_bytes(data: bytes) -> tuple[bytes, int]:
    """(redacted bytes, number of values replaced)."""
    spans: list[tuple[int, int]] = []
    _private_keys(data, spans)
    _runs(data, spans)
    _named_values(data, data.lower(), spans)
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

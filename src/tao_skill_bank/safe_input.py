"""Bounded readers for everything a user (or an agent) hands us: YAML, JSON, text, dotted keys.

Every YAML file or `--set` value and every user JSON goes through here, so a hostile input fails
with one `UserError` line naming the file and the fix instead of hanging or crashing:

- size: a file larger than its cap is refused before it is parsed; special files (FIFOs,
  devices) are refused because reading them may never end;
- encoding: strict UTF-8 (a BOM is allowed); the error names the byte offset;
- nesting: more than `MAX_DEPTH` levels is refused (100k-deep `[[[...` would otherwise hit
  Python's recursion limit here or in any walk over the result);
- YAML aliases: the nodes that aliases add when expanded are counted while composing, in time
  linear in the document, and refused above `MAX_ALIAS_NODES` (a "billion laughs" document is
  tiny on disk, but every later walk, copy or dump expands it); recursive aliases are refused;
- integers outside the signed 64-bit range are refused (TAO's int fields end in PyTorch/C++
  int64; larger values would raise OverflowError on float() or hang int() on 100k digits);
- YAML scalars resolve as OmegaConf 2.3 resolves them (the loader TAO's Hydra uses): `1e-3` is
  a float, dates stay strings, duplicate keys are refused; explicit tags other than the core
  str/int/float/bool/null/seq/map are refused (`!!binary`, `!!python/...`, `!local`).

Standard library only at import time (pyyaml is imported when YAML is read), so the stdlib-only
hooks can use the JSON and text readers.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from tao_skill_bank.errors import EXIT_ENVIRONMENT, UserError

MAX_YAML_BYTES = 1024 * 1024         # TAO specs and train configs are a few kB; 1 MiB parses in ~2 s
MAX_JSON_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64                       # nesting levels; TAO specs use < 10, the bank's schemas 11
MAX_ALIAS_NODES = 100_000            # nodes added by expanding YAML aliases
MAX_YAML_NODES = 200_000             # values in one YAML document (a spec has < 1,000)
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1
MAX_KEY_PARTS = 32                   # parts of a dotted key (a.b.c)
MAX_KEY_CHARS = 1024

_CORE_TAGS = frozenset("tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null", "seq", "map"))
# Floats as OmegaConf 2.3 resolves them (YAML 1.2 style: 1e-3 is a float, 08 stays a string).
_FLOAT_RE = re.compile(r"""^(?:
      [-+]?[0-9]+(?:_[0-9]+)*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    | [-+]?[0-9]+(?:_[0-9]+)*[eE][-+]?[0-9]+
    | \.[0-9]+(?:_[0-9]+)*(?:[eE][-+][0-9]+)?
    | [-+]?[0-9]+(?:_[0-9]+)*(?::[0-5]?[0-9])+\.[0-9_]*
    | [-+]?\.(?:inf|Inf|INF)
    | \.(?:nan|NaN|NAN)
    )$""", re.X)


# ---------------------------------------------------------------- text


def read_text(path: str | os.PathLike, *, max_bytes: int, what: str = "file", field: str | None = None,
              fix_missing: str = "check the path") -> str:
    """UTF-8 text of a regular file of at most `max_bytes` bytes, else a one-line UserError."""
    path = Path(path)
    try:  # opened first and judged by fstat of the descriptor: a file swapped for a FIFO after a check cannot hang us
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UserError(f"{what} not found", file=str(path), field=field, fix=fix_missing,
                        exit_code=EXIT_ENVIRONMENT) from None
    except IsADirectoryError:
        raise UserError(f"{what} is a folder, not a file", file=str(path), field=field, fix=fix_missing) from None
    except OSError as exc:
        raise UserError(f"{what} cannot be read ({exc.strerror or type(exc).__name__})", file=str(path), field=field,
                        fix="check the path and its permissions", exit_code=EXIT_ENVIRONMENT) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise UserError(f"{what} is a folder, not a file", file=str(path), field=field, fix=fix_missing)
        if not stat.S_ISREG(info.st_mode):
            raise UserError(f"{what} is not a regular file (a pipe or device could be read forever)", file=str(path),
                            field=field, fix="pass a regular file")
        if info.st_size > max_bytes:
            raise UserError(f"{what} is {info.st_size:,} bytes, above the {max_bytes:,}-byte limit", file=str(path),
                            field=field, fix=f"pass the real {what}; it should be far smaller")
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # grew while we looked
        raise UserError(f"{what} is above the {max_bytes:,}-byte limit", file=str(path), field=field,
                        fix=f"pass the real {what}")
    return decode_utf8(data, str(path), field=field, what=what)


def decode_utf8(data: bytes, source: str, *, field: str | None = None, what: str = "file") -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start:exc.start + 1]
        raise UserError(f"{what} is not UTF-8 text (byte 0x{bad.hex()} at offset {exc.start})", file=source,
                        field=field, fix="save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)") from None


# ---------------------------------------------------------------- YAML


def load_yaml_file(path: str | os.PathLike, *, what: str = "YAML file", field: str | None = None,
                   fix_missing: str = "check the path", max_bytes: int = MAX_YAML_BYTES) -> Any:
    text = read_text(path, max_bytes=max_bytes, what=what, field=field, fix_missing=fix_missing)
    return load_yaml_text(text, source=str(path), field=field)


def load_yaml_text(text: str, *, source: str, field: str | None = None, max_bytes: int = MAX_YAML_BYTES) -> Any:
    """One YAML document, bounded as the module docstring says. `source` names it in errors."""
    import yaml

    if len(text) > max_bytes:
        raise UserError(f"YAML text is {len(text):,} characters, above the {max_bytes:,} limit", file=source,
                        field=field, fix="pass a smaller value")
    loader = _bounded_loader_class()(text)
    try:
        return loader.get_single_data()
    except _LimitExceeded as exc:
        raise UserError(exc.message, file=source, field=field, fix=exc.fix) from None
    except yaml.YAMLError as exc:
        raise UserError(f"not valid YAML: {_yaml_problem(exc)}", file=source, field=field,
                        fix="repair the YAML syntax (quote strings with ': ' or '#')") from None
    except RecursionError:  # defence in depth: the depth limit stops this first
        raise UserError(f"nested too deeply (limit {MAX_DEPTH})", file=source, field=field,
                        fix="flatten the document") from None
    finally:
        loader.dispose()


def _yaml_problem(exc) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return " ".join(f"{problem}{where}".split())[:300]


class _LimitExceeded(Exception):
    def __init__(self, message: str, fix: str):
        super().__init__(message)
        self.message = message
        self.fix = fix


def _line(node_or_event) -> str:
    mark = getattr(node_or_event, "start_mark", None)
    return f" at line {mark.line + 1}" if mark is not None else ""


_LOADER_CLASS = None


def _loader_bases():
    """libyaml's parser (15x faster) under PyYAML's Python composer and safe constructor, so the
    limits below see every node; the pure-Python SafeLoader when pyyaml was built without libyaml."""
    import yaml

    try:
        from yaml._yaml import CParser
    except ImportError:
        return (yaml.SafeLoader,), yaml.SafeLoader.__init__
    from yaml.composer import Composer
    from yaml.constructor import SafeConstructor
    from yaml.resolver import Resolver

    def init(self, stream):
        CParser.__init__(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
    return (Composer, CParser, SafeConstructor, Resolver), init


def _bounded_loader_class():
    """SafeLoader with OmegaConf's scalar resolution and the limits (built once, on first use)."""
    global _LOADER_CLASS
    if _LOADER_CLASS is not None:
        return _LOADER_CLASS
    import yaml
    from yaml.constructor import ConstructorError

    bases, base_init = _loader_bases()

    class BoundedLoader(*bases):
        def __init__(self, stream):
            base_init(self, stream)
            self._depth = 0
            self._sizes: dict[int, int] = {}   # id(node) -> nodes in its full expansion
            self._alias_nodes = 0
            self._nodes = 0

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                target = self.anchors.get(event.anchor)
                if target is not None:
                    size = self._sizes.get(id(target))
                    if size is None:
                        raise _LimitExceeded(f"recursive alias *{event.anchor}{_line(event)}",
                                             "an anchor cannot contain an alias to itself")
                    self._alias_nodes += size
                    if self._alias_nodes > MAX_ALIAS_NODES:
                        raise _LimitExceeded(f"aliases expand to more than {MAX_ALIAS_NODES:,} nodes{_line(event)} "
                                             "(an alias bomb?)", "write the values out instead of nesting aliases")
                return super().compose_node(parent, index)
            event = self.peek_event()
            tag = getattr(event, "tag", None)
            if tag not in (None, "!") and tag not in _CORE_TAGS:
                raise _LimitExceeded(f"YAML tag {tag} is not allowed{_line(event)}",
                                     "remove the tag; plain strings, numbers, booleans, lists and mappings only")
            self._nodes += 1
            if self._nodes > MAX_YAML_NODES:
                raise _LimitExceeded(f"more than {MAX_YAML_NODES:,} values{_line(event)}",
                                     "pass the real file; specs and configs hold a few hundred values")
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _LimitExceeded(f"nested deeper than {MAX_DEPTH} levels{_line(event)}", "flatten the document")
            try:
                node = super().compose_node(parent, index)
            finally:
                self._depth -= 1
            if isinstance(node.value, list):
                children = [c for pair in node.value for c in (pair if isinstance(pair, tuple) else (pair,))]
                self._sizes[id(node)] = 1 + sum(self._sizes.get(id(c), 1) for c in children)
            else:
                self._sizes[id(node)] = 1
            return node

        def construct_yaml_int(self, node):
            text = str(node.value).replace("_", "")
            if len(text) > 70:  # 64 binary digits + sign/prefix; refuse before int() sees 100k digits
                raise _LimitExceeded(f"integer {text[:20]}... is out of the 64-bit range{_line(node)}",
                                     "use a smaller number (or quote it to keep it as text)")
            value = super().construct_yaml_int(node)
            if not INT64_MIN <= value <= INT64_MAX:
                raise _LimitExceeded(f"integer {text[:20]}{'...' if len(text) > 20 else ''} is out of the "
                                     f"64-bit range{_line(node)}", "use a smaller number (or quote it to keep it as text)")
            return value

        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:str":  # as OmegaConf: merge keys and non-string keys aside
                    if key_node.value in seen:
                        raise ConstructorError("while constructing a mapping", node.start_mark,
                                               f"found duplicate key {key_node.value!r}", key_node.start_mark)
                    seen.add(key_node.value)
            return super().construct_mapping(node, deep=deep)

    BoundedLoader.add_constructor("tag:yaml.org,2002:int", BoundedLoader.construct_yaml_int)
    # Implicit resolvers: OmegaConf's set — YAML 1.2 floats, no timestamps (dates stay strings).
    resolvers = {key: [(tag, regexp) for tag, regexp in entries
                       if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:float")]
                 for key, entries in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    for first in "-+0123456789.":
        resolvers.setdefault(first, []).append(("tag:yaml.org,2002:float", _FLOAT_RE))
    BoundedLoader.yaml_implicit_resolvers = resolvers
    _LOADER_CLASS = BoundedLoader
    return BoundedLoader


# ---------------------------------------------------------------- JSON


def load_json_file(path: str | os.PathLike, *, what: str = "JSON file", field: str | None = None,
                   fix_missing: str = "check the path", max_bytes: int = MAX_JSON_BYTES) -> Any:
    text = read_text(path, max_bytes=max_bytes, what=what, field=field, fix_missing=fix_missing)
    return load_json_text(text, source=str(path), field=field)


def load_json_text(text: str, *, source: str, field: str | None = None) -> Any:
    """json.loads with bounded integers and nesting (Python's json reads Infinity/NaN, as TAO schemas need)."""
    try:
        data = json.loads(text, parse_int=_json_int)
    except _LimitExceeded as exc:
        raise UserError(exc.message, file=source, field=field, fix=exc.fix) from None
    except RecursionError:
        raise UserError(f"nested deeper than {MAX_DEPTH} levels", file=source, field=field,
                        fix="flatten the document") from None
    except ValueError as exc:
        raise UserError(f"not valid JSON: {str(exc).splitlines()[0][:200]}", file=source, field=field,
                        fix="repair the JSON syntax") from None
    problem = check_tree(data)
    if problem:
        raise UserError(problem[0], file=source, field=field, fix=problem[1])
    return data


def _json_int(text: str) -> int:
    if len(text) > 20:
        raise _LimitExceeded(f"integer {text[:20]}... is out of the 64-bit range", "use a smaller number")
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise _LimitExceeded(f"integer {text} is out of the 64-bit range", "use a smaller number")
    return value


_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def check_tree(data: Any) -> tuple[str, str] | None:
    """(problem, fix) when parsed JSON nests deeper than MAX_DEPTH or holds a lone UTF-16
    surrogate (`"\\ud800"`, which no UTF-8 file can hold: writing it later would fail); else None.
    Iterative, so any depth is safe to look at."""
    stack = [(data, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if _SURROGATE_RE.search(node):
                return "text holds a lone UTF-16 surrogate escape (\\ud800-\\udfff)", "remove the broken escape"
            continue
        if not isinstance(node, (dict, list)):
            continue
        if depth + 1 > MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels", "flatten the document"
        if isinstance(node, dict):
            stack.extend((k, depth + 1) for k in node)
            stack.extend((v, depth + 1) for v in node.values())
        else:
            stack.extend((v, depth + 1) for v in node)
    return None


# ---------------------------------------------------------------- values from the command line


def split_dotted_key(key: str, *, field: str = "--set") -> list[str]:
    """`a.b.c` -> parts; refuses empty parts and keys longer than TAO's specs can be deep."""
    parts = key.split(".")
    if len(parts) > MAX_KEY_PARTS:
        raise UserError(f"dotted key with {len(parts):,} parts (limit {MAX_KEY_PARTS}): {key[:60]}...", field=field,
                        fix="write keys like dataset.batch_size")
    if len(key) > MAX_KEY_CHARS:
        raise UserError(f"key of {len(key):,} characters (limit {MAX_KEY_CHARS}): {key[:60]}...", field=field,
                        fix="write keys like dataset.batch_size")
    if not all(parts):
        raise UserError(f"empty part in the dotted key '{key[:80]}'", field=field, fix="write keys like dataset.batch_size")
    return parts


def bounded_int(text: str, *, source: str, field: str) -> int:
    """An integer typed on the command line, refused (one line) outside the 64-bit range."""
    stripped = text.strip().replace("_", "")
    if len(stripped) > 20:
        raise UserError(f"integer {stripped[:20]}... is out of the 64-bit range", file=source, field=field,
                        fix="use a smaller number")
    value = int(stripped)
    if not INT64_MIN <= value <= INT64_MAX:
        raise UserError(f"integer {stripped} is out of the 64-bit range", file=source, field=field,
                        fix="use a smaller number")
    return value

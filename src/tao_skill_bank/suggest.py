"""Did-you-mean for names an agent mistyped: `--min_recall` for `--min-recall`, `top_k` for
`top_k_per_label`, a dotted spec key with one part misspelt (pure, stdlib only)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def _canonical(name: str) -> str:
    """Case, `_` vs `-` and leading dashes do not count as differences."""
    return name.lstrip("-").lower().replace("_", "-")


def did_you_mean(word: str, choices: Iterable[str], limit: int = 3) -> list[str]:
    """The closest choices to `word`, best first: same name up to case/`_`/`-`, then a choice that
    `word` is the start or the end of (`top_k` -> `top_k_per_label`), then close spellings."""
    options = sorted(set(choices))
    if not word or not options:
        return []
    key = _canonical(word)
    by_key: dict[str, list[str]] = {}
    for option in options:
        by_key.setdefault(_canonical(option), []).append(option)
    exact = by_key.get(key, [])
    if exact:
        return exact[:limit]
    parts = [o for o in options if len(key) >= 3 and (_canonical(o).startswith(key) or _canonical(o).endswith(key))]
    close = [o for k in difflib.get_close_matches(key, list(by_key), n=limit, cutoff=0.75) for o in by_key[k]]
    found: list[str] = []
    for option in parts + close:
        if option not in found:
            found.append(option)
    return found[:limit]


def hint(word: str, choices: Iterable[str]) -> str:
    """'did you mean X?' / 'did you mean X or Y?' or '' when nothing is close."""
    found = did_you_mean(word, choices)
    if not found:
        return ""
    return "did you mean " + " or ".join(found) + "?"

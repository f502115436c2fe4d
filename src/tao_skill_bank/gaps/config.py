"""Gap-analysis config: the container's `gap_analysis vcn_aoi` keys, from a spec + overrides.

`GapConfig` mirrors the data-services keys and defaults exactly, so the same spec + `key=value`
line works with the local engine and with the container. Every check raises a one-line
`UserError` naming the file, the field and the fix. The inputs it points at are read by
`gaps.inputs`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tao_skill_bank.errors import UserError
from tao_skill_bank.gaps.inputs import load_yaml
from tao_skill_bank.safe_input import bounded_int
from tao_skill_bank.suggest import did_you_mean


MISSING = "???"
REQUIRED_KEYS = ("inference_results_dir", "train_config", "results_dir")


@dataclass
class GapConfig:
    """Exactly the container's keys and defaults (`threshold < 0` means sweep)."""

    inference_results_dir: str
    train_config: str
    results_dir: str
    kpi_media_path: str = ""
    threshold: float = -1.0
    min_recall: float = 1.0
    top_k_per_label: int = 50

    @property
    def swept(self) -> bool:
        return self.threshold < 0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_FIELDS = {f.name: f for f in dataclasses.fields(GapConfig)}
_KEY_ORDER = ("inference_results_dir", "train_config", "kpi_media_path", "threshold", "min_recall",
              "top_k_per_label", "results_dir")  # the container's spec order


def load_config(spec_path: str | os.PathLike | None, overrides: list[str]) -> GapConfig:
    """Spec YAML (optional) merged with `key=value` overrides (overrides win), validated."""
    values: dict[str, tuple[Any, str]] = {}  # key -> (raw value, where it came from)
    if spec_path is not None:
        for key, value in _read_spec(Path(spec_path)).items():
            values[key] = (value, str(spec_path))
    for item in overrides:
        key, value = _split_override(item)
        values[key] = (value, "command line")
    for key, (_, source) in values.items():
        if key not in _FIELDS:
            nearest = did_you_mean(key, list(_FIELDS), limit=1)
            hint = f"did you mean '{nearest[0]}'? " if nearest else ""
            raise UserError("unknown key (the container would refuse it too)", file=source, field=key[:80],
                            fix=f"{hint}valid keys: {', '.join(_KEY_ORDER)}")
    kwargs = {key: _coerce(key, raw, source) for key, (raw, source) in values.items()}
    for key in REQUIRED_KEYS:
        if key not in kwargs:
            raise UserError("required key missing", file=str(spec_path) if spec_path else "command line",
                            field=key, fix=f"add {key}=<path> to the command line or the spec")
    config = GapConfig(**kwargs)
    _check_ranges(config, {key: source for key, (_, source) in values.items()})
    return config


def _read_spec(path: Path) -> dict[str, Any]:
    data = load_yaml(path, "-e", "spec file", "pass the path of an existing vcn_aoi spec YAML")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError("spec must be a mapping of key: value", file=str(path),
                        fix=f"use the keys {', '.join(_KEY_ORDER)}")
    return {str(k): v for k, v in data.items()}


def _split_override(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    key = key.strip().lstrip("+")  # Hydra's +key= / ++key= mean the same here
    if not sep or not key:
        raise UserError(f"'{item[:80]}' is not key=value", file="command line", field=item[:80],
                        fix="write overrides as key=value, e.g. min_recall=0.99")
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return key, value


def _coerce(key: str, raw: Any, source: str) -> Any:
    kind = _FIELDS[key].type
    if isinstance(raw, str) and raw.strip() == MISSING:
        raise UserError("value is the unresolved placeholder ???", file=source, field=key,
                        fix=f"give {key} a real value")
    if kind == "str":
        if raw is None or isinstance(raw, (dict, list, bool)):
            raise UserError(f"expected a path string, got {raw!r:.80}", file=source, field=key,
                            fix=f"write {key}=<path>")
        from tao_skill_bank.container import unescaped_interpolations

        if unescaped_interpolations(str(raw)):  # the container's Hydra would resolve it; we would not
            raise UserError(f"{str(raw)[:80]!r} holds a Hydra interpolation '${{...}}'", file=source, field=key,
                            fix="write the path itself (the container would resolve '${...}', the local engine would not)")
        return str(raw)
    if kind == "float":
        number = _number(raw)
        if number is None or not math.isfinite(number):
            raise UserError(f"expected a finite number, got {raw!r:.80}", file=source, field=key,
                            fix=f"write {key}=<number>, e.g. {key}={_FIELDS[key].default}")
        return number
    # int: a YAML integer or digits; 2.5, 50.0 and true are refused as the container refuses them
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"\s*[+-]?\d+\s*", raw):
        return bounded_int(raw, source=source, field=key)
    raise UserError(f"expected an integer, got {raw!r:.80}", file=source, field=key,
                    fix=f"write {key}=<integer>, e.g. {key}=50")


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, (int, float)):
        return float(raw)
    try:
        return float(str(raw).strip())
    except ValueError:
        return None


def _check_ranges(config: GapConfig, sources: dict[str, str]) -> None:
    if not 0.0 <= config.min_recall <= 1.0:
        raise UserError(f"min_recall={config.min_recall} is outside [0, 1]",
                        file=sources.get("min_recall"), field="min_recall",
                        fix="use a recall between 0 and 1, e.g. min_recall=1.0 (no missed defects)")
    if config.top_k_per_label < 1:
        raise UserError(f"top_k_per_label={config.top_k_per_label} must be at least 1",
                        file=sources.get("top_k_per_label"), field="top_k_per_label",
                        fix="use a positive per-label budget, e.g. top_k_per_label=50")
    for key in REQUIRED_KEYS:
        if not getattr(config, key).strip():
            raise UserError("empty path", file=sources.get(key), field=key, fix=f"give {key} a path")


def spec_text(config: GapConfig) -> str:
    """The `-e` spec: every key filled in, container key order, no ??? sentinel."""
    import yaml

    ordered = {key: getattr(config, key) for key in _KEY_ORDER}
    return yaml.safe_dump(ordered, sort_keys=False, default_flow_style=False)


def write_spec(config: GapConfig, path: str | os.PathLike) -> Path:
    from tao_skill_bank.fsutil import atomic_write_text

    return atomic_write_text(path, spec_text(config))

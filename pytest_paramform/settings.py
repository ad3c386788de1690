"""How a check is configured: ini options, a marker and call keywords, in that order."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_paramform.comparison import LEVELS, CompareOptions
from pytest_paramform.errors import SettingsError

FORMATS = ("yaml", "markdown")
KEYS = ("format", "level", "tolerance", "rel_tolerance", "buffers", "dtype")
_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


@dataclass(frozen=True)
class Settings:
    """The golden format and the strictness of one check."""

    format: str = "yaml"
    compare: CompareOptions = field(default_factory=CompareOptions)
    buffers: bool = False
    dtype: bool = False

    def updated(self, values: Mapping[str, Any], *, source: str) -> Settings:
        """These settings with ``values`` (None means unset) laid over them.

        ``source`` names where the values came from, so an error says what to fix.
        """
        unknown = sorted(set(values) - set(KEYS))
        if unknown:
            raise SettingsError(
                f"{source}: unknown option {', '.join(unknown)} (known: {', '.join(KEYS)})"
            )
        given = {k: v for k, v in values.items() if v is not None}
        fmt = given.get("format", self.format)
        if fmt not in FORMATS:
            raise SettingsError(
                f"{source}: format must be one of {', '.join(FORMATS)}, got {fmt!r}"
            )
        level = given.get("level", self.compare.level)
        if level not in LEVELS:
            raise SettingsError(
                f"{source}: level must be one of {', '.join(LEVELS)}, got {level!r}"
            )
        tolerance = _number(given, "tolerance", self.compare.tolerance, source)
        rel_tolerance = _number(given, "rel_tolerance", self.compare.rel_tolerance, source)
        return Settings(
            fmt,
            CompareOptions(level, tolerance, rel_tolerance),
            buffers=_flag(given, "buffers", self.buffers, source),
            dtype=_flag(given, "dtype", self.dtype, source),
        )


def _flag(values: Mapping[str, Any], key: str, default: bool, source: str) -> bool:
    """A boolean from a keyword (True/False) or an ini string (true/false, yes/no, 1/0)."""
    if key not in values:
        return default
    raw = values[key]
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE + _FALSE:
        return text in _TRUE
    raise SettingsError(f"{source}: {key} must be true or false, got {raw!r}")


def _number(values: Mapping[str, Any], key: str, default: float, source: str) -> float:
    if key not in values:
        return default
    raw = values[key]
    try:
        if isinstance(raw, bool):
            raise ValueError
        number = float(raw)
    except (TypeError, ValueError):
        raise SettingsError(f"{source}: {key} must be a number, got {raw!r}") from None
    if not math.isfinite(number) or number < 0:
        raise SettingsError(f"{source}: {key} must be a finite number >= 0, got {raw!r}")
    return number

"""What an option's value may be: the one validator, shared by the option rows (ini, marker,
keyword, command line) and by ``CompareOptions`` built in Python, so every way of giving a
value is held to one rule. The caller words the frame: a setting's error names where it
was given (``ini option paramform_tolerance: tolerance ...``); ``CompareOptions`` and the
CLI's comparison flags say the bare field and its unit, as they always have. Pure and
light: read at every pytest start."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pytest_paramform.errors import SettingsError

_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


def flag(raw: object, key: str, source: str) -> bool:
    """A boolean from a keyword (True/False) or an ini string (true/false, yes/no, 1/0)."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE + _FALSE:
        return text in _TRUE
    raise SettingsError(f"{source}: {key} must be true or false, got {raw!r}")


def number(raw: object, key: str, source: str) -> float:
    """A finite number >= 0 from a keyword or an ini string (``"0.5"``)."""
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SettingsError(f"{source}: {key} must be a number, got {raw!r}") from None
    non_negative(value, key, source, shown=raw)
    return value


def non_negative(
    value: object,
    key: str,
    source: str | None,
    *,
    shown: object = None,
    unit: str | None = None,
) -> None:
    """``value`` is a finite int or float >= 0 (never a string or a bool); the error quotes
    ``shown`` (what the user wrote) when given, and says the ``unit`` when given."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value):
        quoted = value if shown is None else shown
        units = f" ({unit})" if unit else ""
        raise SettingsError(
            f"{_named(key, source)} must be a finite number >= 0{units}, got {quoted!r}"
        )


def _finite(value: float) -> bool:
    return math.isfinite(value) and value >= 0


def count(raw: object, key: str, source: str) -> int:
    """A whole number >= 0 from a keyword (``20_000_000``, ``2e7``) or an ini string
    (``20_000_000``, ``20,000,000``, ``2e7``): budgets are written the way people read them."""
    value: object = raw
    if isinstance(raw, str):
        text = raw.strip().replace(",", "").replace("_", "")
        try:
            value = int(text) if text.isdigit() else float(text)
        except ValueError:
            value = None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SettingsError(f"{source}: {key} must be a whole number >= 0, got {raw!r}")
    return value


def one_of(raw: object, allowed: Sequence[str], key: str, source: str | None) -> str:
    """``raw`` when it is one of ``allowed``."""
    if raw not in allowed:
        raise SettingsError(
            f"{_named(key, source)} must be one of {', '.join(allowed)}, got {raw!r}"
        )
    return str(raw)


def _named(key: str, source: str | None) -> str:
    """``source: key`` for a setting given somewhere (an ini option, the marker, a keyword);
    the bare ``key`` for a field of an object built in Python (its traceback says where)."""
    return key if source is None else f"{source}: {key}"

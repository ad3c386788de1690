"""Values in a YAML golden, shared by its sections: how a name or a list of sizes is
written, and how a loaded value is checked to be what its field holds. Every problem is a
GoldenError naming the line and the field."""

from __future__ import annotations

import math
import re
from typing import Any

from pytest_paramform.errors import GoldenError
from pytest_paramform.formats.yaml_tokens import PLAIN, RESERVED, UNSAFE

_PLAIN = re.compile(PLAIN)
_ESCAPED = re.compile(f"[{UNSAFE}]")


def quote(text: str) -> str:
    """A YAML scalar for ``text``: plain when unambiguous, else double-quoted and escaped."""
    if _PLAIN.fullmatch(text) and text.lower() not in RESERVED:
        return text
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif _ESCAPED.match(ch):
            out.append(f"\\u{ord(ch):04x}")  # every such character lies below U+10000
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def flow_ints(values: tuple[int, ...]) -> str:
    """A shape as a flow list: ``[32, 3]``."""
    return "[" + ", ".join(map(str, values)) + "]"


def expect_keys(
    mapping: Any,
    keys: tuple[str, ...],
    *,
    what: str,
    line: int | None,
    optional: tuple[str, ...] = (),
) -> dict[str, Any]:
    """``mapping`` if it holds every one of ``keys``, and nothing but those and ``optional``."""
    if not isinstance(mapping, dict):
        raise GoldenError(f"{what} must be a mapping, got {type(mapping).__name__}", line=line)
    missing = [k for k in keys if k not in mapping]
    unknown = [k for k in mapping if k not in keys and k not in optional]
    if missing or unknown:
        detail = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"unknown {', '.join(map(str, unknown))}" if unknown else "",
            )
            if part
        )
        raise GoldenError(f"{what}: {detail} (expected {', '.join(keys)})", line=line)
    return mapping


def read_int(value: Any, *, field: str, line: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise GoldenError(f"expected a whole number >= 0, got {value!r}", line=line, field=field)
    return value


def read_float(value: Any, *, field: str, line: int | None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise GoldenError(f"expected a percentage, got {value!r}", line=line, field=field)
    return float(value)


def read_dims(value: Any, *, field: str, line: int | None) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise GoldenError(f"expected a list of sizes, got {value!r}", line=line, field=field)
    if all(type(v) is int and v >= 0 for v in value):
        return tuple(value)
    return tuple(read_int(v, field=field, line=line) for v in value)


def read_str(value: Any, *, field: str, line: int | None) -> str:
    if not isinstance(value, str):
        raise GoldenError(f"expected text, got {value!r}", line=line, field=field)
    return value


def read_bool(value: Any, *, field: str, line: int | None) -> bool:
    if not isinstance(value, bool):
        raise GoldenError(f"expected true or false, got {value!r}", line=line, field=field)
    return value

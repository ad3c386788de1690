"""The tokens of paramform's own YAML layout, shared by the fast reader's parts: the regex
atoms a canonical line is made of, how a matched scalar or list becomes data, the signal
to fall back to PyYAML, and where the parts of a golden stand.

The writer (``yaml_values.quote``) keeps to the same contract: names matching ``PLAIN`` and
not in ``RESERVED`` are written bare; characters in ``UNSAFE`` are always ``\\uXXXX``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

INT = r"(?:0|[1-9][0-9]*)"
LIST = rf"\[(?:{INT}(?:, {INT})*)?\]"
PLAIN = r"[A-Za-z_][A-Za-z0-9_.\-]*"
UNSAFE = r"\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff"
# Words that YAML 1.1 readers resolve to booleans or null when left unquoted.
RESERVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})
_QUOTED = rf'"(?:[^"\\{UNSAFE}]|\\["\\]|\\u[0-9a-fA-F]{{4}})*"'
SCALAR = rf"(?:{PLAIN}|{_QUOTED})"
SHARE = r"[0-9]+\.[0-9]+"
_ESCAPE = re.compile(r'\\(["\\]|u[0-9a-fA-F]{4})')


class NotCanonical(Exception):
    """The document is not in paramform's own layout: read it with PyYAML instead."""


@dataclass
class Lines:
    """Where the parts of a golden stand (1-based), so errors can name the line."""

    top: int | None = None
    keys: dict[str, int] = field(default_factory=dict)
    items: dict[str, list[int]] = field(default_factory=dict)
    forms: dict[str, int] = field(default_factory=dict)
    dtypes: dict[str, int] = field(default_factory=dict)


def scalar(token: str) -> str:
    """A matched ``SCALAR`` as the text YAML reads; NotCanonical for a reserved word."""
    if not token.startswith('"'):
        if token.lower() in RESERVED:
            raise NotCanonical
        return token
    return _ESCAPE.sub(lambda m: m[1] if len(m[1]) == 1 else chr(int(m[1][1:], 16)), token[1:-1])


def ints(token: str) -> list[int]:
    """A matched ``LIST`` as the list YAML reads."""
    return list(parsed_ints(token))


@lru_cache(maxsize=4096)
def parsed_ints(token: str) -> tuple[int, ...]:
    """A shape's text parsed once: a large model repeats a few shapes many times."""
    return tuple(map(int, token[1:-1].split(", "))) if token != "[]" else ()

"""One line of a failure message, shared by every kind of comparison."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pytest_paramform.report import ParamRow

DriftKind = Literal[
    "changed",
    "added",
    "removed",
    "buffer",
    "tying",
    "state",
    "module",
    "recording",
    "note",
    "totals",
    "forms",
]
ROW_KINDS: tuple[DriftKind, ...] = ("changed", "added", "removed")


@dataclass(frozen=True)
class Drift:
    """One line of a failure: a changed, added or removed tensor, or the overall effect.

    ``kind`` says which (row kinds and buffers are capped in a long message, the totals
    never are); ``name`` is the tensor the line is about, when it is about one. A row
    line also carries its rows (``before`` and ``after``; one is None when the tensor was
    added or removed), so that ``fold`` can say what repeated blocks share; they are
    what ``text`` already says, and take no part in equality.
    """

    kind: DriftKind
    text: str
    name: str | None = None
    before: ParamRow | None = field(default=None, compare=False, repr=False)
    after: ParamRow | None = field(default=None, compare=False, repr=False)

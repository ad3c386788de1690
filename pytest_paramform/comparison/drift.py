"""One line of a failure message, shared by every kind of comparison."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DriftKind = Literal[
    "changed",
    "added",
    "removed",
    "buffer",
    "tying",
    "state",
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
    never are); ``name`` is the tensor the line is about, when it is about one.
    """

    kind: DriftKind
    text: str
    name: str | None = None

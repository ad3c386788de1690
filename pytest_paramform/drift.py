"""One line of a failure message, shared by every kind of comparison."""

from __future__ import annotations

from dataclasses import dataclass

ROW_KINDS = ("changed", "added", "removed")


@dataclass(frozen=True)
class Drift:
    """One line of a failure: a changed, added or removed tensor, or the overall effect."""

    kind: str
    text: str
    name: str | None = None

"""How strict a comparison is: the levels it knows and the tolerances it allows. The
comparison owns these; the ``level``, ``tolerance`` and ``rel_tolerance`` option rows
read them from here. Light to import: the option table reads ``LEVELS`` at every pytest
start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pytest_paramform.values import non_negative, one_of

Level = Literal["layers", "summary"]
LEVELS: tuple[Level, ...] = ("layers", "summary")
# Said in a tolerance's error, as CompareOptions and the CLI always have.
UNITS = {"tolerance": "percentage points", "rel_tolerance": "a fraction, 0.01 = 1%"}


@dataclass(frozen=True)
class CompareOptions:
    """How strict the check is: exact by default, looser only when asked for explicitly.
    Its fields are the rows of the option table's ``compare`` group (a test holds them
    together), checked by the same validator as an ini option or a keyword."""

    level: Level = "layers"
    tolerance: float = 0.0  # summary level: percentage points a form share may move
    rel_tolerance: float = 0.0  # summary level: a fraction of the total, 0.01 = 1%

    def __post_init__(self) -> None:
        one_of(self.level, LEVELS, "level", None)
        non_negative(self.tolerance, "tolerance", None, unit=UNITS["tolerance"])
        non_negative(self.rel_tolerance, "rel_tolerance", None, unit=UNITS["rel_tolerance"])

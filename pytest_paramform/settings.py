"""One check's resolved settings: the option table's values laid over each other."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_paramform.comparison import CompareOptions
from pytest_paramform.errors import SettingsError
from pytest_paramform.forward_report import DEFAULT_DEPTH, InputSpec
from pytest_paramform.options import BY_NAME, LEVELS, Value


@dataclass(frozen=True)
class Settings:
    """The golden format and the strictness of one check."""

    format: str = "yaml"
    compare: CompareOptions = field(default_factory=CompareOptions)
    buffers: bool = False
    dtype: bool = False
    max_parameters: int | None = None
    max_flops: int | None = None
    inputs: InputSpec | None = None  # a forward pass is recorded only when given
    depth: int = DEFAULT_DEPTH

    def updated(self, values: Mapping[str, Any], *, source: str) -> Settings:
        """These settings with ``values`` (None means unset) laid over them.

        ``source`` names where the values came from, so an error says what to fix.
        """
        unknown = sorted(set(values) - set(BY_NAME))
        if unknown:
            raise SettingsError(
                f"{source}: unknown option {', '.join(unknown)} (known: {', '.join(BY_NAME)})"
            )
        given = {
            name: BY_NAME[name].parse(raw, source)
            for name, raw in values.items()
            if raw is not None
        }
        current = self.flat()
        current.update(given)
        level = next(level for level in LEVELS if level == current["level"])  # validated
        return Settings(
            str(current["format"]),
            CompareOptions(level, _float(current["tolerance"]), _float(current["rel_tolerance"])),
            buffers=bool(current["buffers"]),
            dtype=bool(current["dtype"]),
            max_parameters=_count_or_none(current["max_parameters"]),
            max_flops=_count_or_none(current["max_flops"]),
            inputs=_inputs(current["inputs"]),
            depth=_count_or_none(current["depth"]) or 0,
        )

    def flat(self) -> dict[str, Value | None]:
        """The settings as one value per option name."""
        return {
            "format": self.format,
            "level": self.compare.level,
            "tolerance": self.compare.tolerance,
            "rel_tolerance": self.compare.rel_tolerance,
            "buffers": self.buffers,
            "dtype": self.dtype,
            "max_parameters": self.max_parameters,
            "max_flops": self.max_flops,
            "inputs": self.inputs,
            "depth": self.depth,
        }


def _float(value: object) -> float:
    assert isinstance(value, int | float), "validated by the option table"
    return float(value)


def _count_or_none(value: object) -> int | None:
    """A count option's value (validated by the table), None when no budget is set."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _inputs(value: object) -> InputSpec | None:
    """The ``inputs`` option's value (read by the table): tensors to make, or a callable."""
    if value is None or callable(value):
        return value
    assert isinstance(value, tuple)
    return value

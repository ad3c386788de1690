"""One check's resolved settings: the option table's values laid over each other.

Built from the rows alone: any row is known, validated and held here without a line in
this module. The typed properties are for the code that reads an option by name (the
``compare`` group becomes a ``CompareOptions``, field by field).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_paramform import options
from pytest_paramform.comparison.strictness import CompareOptions
from pytest_paramform.errors import SettingsError
from pytest_paramform.forward_report import InputSpec
from pytest_paramform.options import Group, Value


def _defaults() -> dict[str, Value | None]:
    return {option.name: option.default for option in options.OPTIONS}


@dataclass(frozen=True)
class Settings:
    """The value of every option for one check (None: unset, e.g. no budget)."""

    values: Mapping[str, Value | None] = field(default_factory=_defaults)

    def updated(self, values: Mapping[str, Any], *, source: str) -> Settings:
        """These settings with ``values`` (None means unset) laid over them, each checked
        by its row. ``source`` names where the values came from, so an error says what
        to fix."""
        rows = options.by_name()
        unknown = sorted(set(values) - set(rows))
        if unknown:
            raise SettingsError(
                f"{source}: unknown option {', '.join(unknown)} (known: {', '.join(rows)})"
            )
        given = {
            name: rows[name].parse(raw, source) for name, raw in values.items() if raw is not None
        }
        return Settings({**self.values, **given})

    def flat(self) -> dict[str, Value | None]:
        """The settings as one value per option name."""
        return dict(self.values)

    def group(self, *groups: Group) -> dict[str, Any]:
        """The values of the options in ``groups``, as keywords for the code that uses
        them (``check_budgets(report, **settings.group("budget"))``)."""
        return {name: self.values[name] for name in options.in_groups(*groups)}

    @property
    def compare(self) -> CompareOptions:
        return CompareOptions(**self.group("compare"))

    @property
    def format(self) -> str:
        return str(self.values["format"])

    @property
    def buffers(self) -> bool:
        return bool(self.values["buffers"])

    @property
    def dtype(self) -> bool:
        return bool(self.values["dtype"])

    @property
    def max_parameters(self) -> int | None:
        return _count_or_none(self.values["max_parameters"])

    @property
    def max_flops(self) -> int | None:
        return _count_or_none(self.values["max_flops"])

    @property
    def inputs(self) -> InputSpec | None:
        """Tensors to make, or a callable; a forward pass is recorded only when given."""
        value = self.values["inputs"]
        assert value is None or callable(value) or isinstance(value, tuple), "read by its row"
        return value

    @property
    def depth(self) -> int:
        return _count_or_none(self.values["depth"]) or 0


def _count_or_none(value: object) -> int | None:
    """A count option's value (validated by its row), None when unset."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None

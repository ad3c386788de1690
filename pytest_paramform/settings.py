"""One check's resolved settings: the option table's values laid over each other.

Built from the rows alone: any row is known, validated and held here without a line in
this module. Code takes a group's values as keywords (``settings.group("budget")``); the
two properties are the values read as one object: the ``compare`` group as a
``CompareOptions``, field by field, and the golden format's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_paramform import options
from pytest_paramform.comparison.strictness import CompareOptions
from pytest_paramform.errors import SettingsError
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

"""Two checkpoints compared as what they are: sets of named tensors, with no model order.

``torch.save`` keeps the state dict's order, the ``safetensors`` package sorts its header,
an index lists tensors in its ``weight_map``'s order: the same weights saved twice may
come in any order, so order alone must never drift. Both sides are read in name order;
a real change (a shape, a tensor added or removed, a tie or a dtype where both sides
record it) still drifts, and is listed in that stable order.
"""

from __future__ import annotations

from dataclasses import replace
from operator import attrgetter

from pytest_paramform.report import Alias, ParamFormReport

_BY_NAME = attrgetter("name")


def checkpoint_views(
    expected: ParamFormReport, actual: ParamFormReport
) -> tuple[ParamFormReport, ParamFormReport]:
    """Both checkpoints in name order; a side that records no tie at all is read as
    holding the other side's tied groups where it holds one name of a group."""
    if expected.aliases and not actual.aliases:
        actual = _holding_ties(actual, expected.aliases)
    elif actual.aliases and not expected.aliases:
        expected = _holding_ties(expected, actual.aliases)
    return _by_name(expected), _by_name(actual)


def _by_name(report: ParamFormReport) -> ParamFormReport:
    buffers = None if report.buffers is None else tuple(sorted(report.buffers, key=_BY_NAME))
    return replace(
        report,
        rows=tuple(sorted(report.rows, key=_BY_NAME)),
        aliases=tuple(sorted(report.aliases, key=_BY_NAME)),
        buffers=buffers,
    )


def _holding_ties(report: ParamFormReport, aliases: tuple[Alias, ...]) -> ParamFormReport:
    """safetensors cannot record a tie: it stores one name of each tied group, not always
    the first. Holding exactly one name of a group the other side ties is holding the
    group; holding two of its names is an untied pair, and drifts as one."""
    groups: dict[str, list[str]] = {}
    for alias in aliases:
        groups.setdefault(alias.target, [alias.target]).append(alias.name)
    names = {row.name for row in report.rows}
    first: dict[str, str] = {}
    adopted: list[Alias] = []
    for target, members in groups.items():
        present = [name for name in members if name in names]
        if len(present) == 1:
            first[present[0]] = target
            adopted += [Alias(name, target) for name in members[1:]]
    if not adopted:
        return report
    rows = tuple(
        replace(row, name=first[row.name]) if row.name in first else row for row in report.rows
    )
    return replace(report, rows=rows, aliases=tuple(adopted))

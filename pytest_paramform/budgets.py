"""Budgets: ceilings on what a model may hold, checked before any golden is read or written.

A hand-written ``assert sum(p.numel() for p in model.parameters()) < 2_000_000`` becomes
one keyword. A model over its budget fails a check and an update alike, so an update never
records a model that breaks its budget. Pure: reads the report only.
"""

from __future__ import annotations

from pytest_paramform.errors import ParamFormError, SettingsError
from pytest_paramform.report import ParamFormReport


class BudgetError(ParamFormError):
    """A model is over one of its budgets; ``budget`` names the option."""

    def __init__(self, problem: str, *, budget: str) -> None:
        super().__init__(problem)
        self.budget = budget

    def at(self, path: str) -> ParamFormError:
        return self  # about the model, not about a file


def check_budgets(
    report: ParamFormReport, *, max_parameters: int | None = None, max_flops: int | None = None
) -> None:
    """Raise :class:`BudgetError` naming the budget and the figure when ``report`` is over
    one; a budget of None is no budget. FLOPs are counted in a forward pass, so a FLOPs
    budget without one is an error rather than a pass."""
    if max_flops is not None:
        _check_flops(report, max_flops)
    total = report.num_parameters
    if max_parameters is not None and total > max_parameters:
        raise BudgetError(
            f"{report.name} has {total:,} parameters, over its budget "
            f"max_parameters={max_parameters:,}",
            budget="max_parameters",
        )


def _check_flops(report: ParamFormReport, budget: int) -> None:
    if report.forward is None:  # a misuse, not a model over its budget
        raise SettingsError(
            f"max_flops={budget:,} needs a forward pass to count {report.name}'s FLOPs: "
            "give inputs (inputs=(1, 3, 224, 224), --input 1x3x224x224)"
        )
    if report.forward.flops > budget:
        raise BudgetError(
            f"{report.name} computes {report.forward.flops:,} FLOPs, over its budget "
            f"max_flops={budget:,}",
            budget="max_flops",
        )

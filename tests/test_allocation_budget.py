"""A build with real memory under a budget: it stops before the allocation that would pass
it, and a model's own ``except Exception`` cannot swallow the stop."""

from __future__ import annotations

import pytest
import torch

from pytest_paramform.sources.building.budget import AllocationBudget, BudgetExceeded, nbytes


def test_fresh_tensors_and_new_results_are_counted_views_are_not() -> None:
    with AllocationBudget(10_000) as budget:
        tensor = torch.zeros(10)  # 40 bytes
        doubled = tensor * 2  # 40 more
        _ = doubled[2:], doubled.view(2, 5), tensor.add_(1)  # views and in-place: none
    assert budget.used == 80
    assert nbytes(torch.zeros(3, dtype=torch.float64)) == 24


def test_a_tensor_past_the_budget_stops_the_build_before_it_is_made() -> None:
    made: list[torch.Tensor] = []

    def build() -> None:
        made.append(torch.zeros(100))  # 400 bytes
        made.append(torch.empty(1_000_000))  # 4 MB: refused before torch allocates it

    with pytest.raises(BudgetExceeded) as info, AllocationBudget(1024) as budget:
        build()
    assert len(made) == 1
    assert budget.used == 400
    assert (info.value.used, info.value.budget) == (4_000_400, 1024)


def test_a_models_own_except_exception_cannot_swallow_the_stop() -> None:
    def builds_on() -> str:
        try:
            torch.ones(1_000_000)
        except Exception:
            return "built on anyway"
        return "allocated"

    with pytest.raises(BudgetExceeded), AllocationBudget(1024):
        builds_on()


def test_tensors_made_on_meta_or_another_device_cost_nothing() -> None:
    with AllocationBudget(1024) as budget:
        torch.zeros(1_000_000, device="meta")
        torch.empty(1_000_000, device="meta") + 1
    assert budget.used == 0

"""Fresh tensors while a model is built: the size a constructor asks for is read without
making anything, and the cheap build's stand-ins make only the big ones on meta."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from pytest_paramform.sources.building.constructors import (
    BIG_NUMEL,
    big_constructors_on_meta,
    big_on_meta,
    requested_numel,
)
from pytest_paramform.sources.building.stand_ins import standing_in


@pytest.mark.parametrize(
    ("method", "args", "numel"),
    [
        (False, (2, 3), 6),
        (False, ((2, 3),), 6),
        (False, ([2, 3],), 6),
        (False, ((2, 3), 7.0), 6),  # torch.full(size, fill_value)
        (True, (torch.ones(1), 4, 5), 20),
        (True, (torch.ones(1), (4, 5)), 20),
        (False, (torch.Size([2, 3]),), 6),
        (False, ((2, torch.tensor(3)),), None),  # not plain ints: measured instead
        (False, (), None),
    ],
)
def test_the_size_asked_for_is_read_from_the_arguments(
    method: bool, args: tuple[Any, ...], numel: int | None
) -> None:
    assert requested_numel(method, args) == numel


def test_a_size_the_arguments_do_not_say_plainly_is_measured_on_meta() -> None:
    big = big_on_meta(torch.arange, False, False, (BIG_NUMEL + 1,), {})
    assert big is not None
    assert (big.device.type, big.numel()) == ("meta", BIG_NUMEL + 1)
    assert big_on_meta(torch.arange, False, False, (BIG_NUMEL,), {}) is None


def test_a_call_meta_refuses_is_left_to_torch_to_answer() -> None:
    assert big_on_meta(torch.arange, False, False, ("ten",), {}) is None


def test_the_stand_ins_make_big_tensors_on_meta_and_small_ones_real() -> None:
    swaps = big_constructors_on_meta(torch)
    assert {name for owner, name, _ in swaps if owner is torch} >= {"zeros", "empty", "arange"}
    assert {name for owner, name, _ in swaps if owner is torch.Tensor} == {
        "new_empty", "new_zeros", "new_ones", "new_full"
    }
    assert all(stand_in.__name__ == name for _, name, stand_in in swaps)
    with standing_in(swaps):
        big, small = torch.ones(BIG_NUMEL + 1), torch.ones(3)
        new_big = small.new_zeros((1024, 1025))
    assert (big.is_meta, small.is_meta, new_big.is_meta) == (True, False, True)
    assert small.tolist() == [1.0, 1.0, 1.0]
    assert not torch.ones(BIG_NUMEL + 1).is_meta, "the constructors are back afterwards"

"""The watched build's policies, one by one, and the mode that composes them: where meta
and real tensors meet, shapes carry on and no value is ever made up."""

from __future__ import annotations

import gc

import pytest
import torch

from pytest_paramform.sources.building.constructors import BIG_NUMEL
from pytest_paramform.sources.building.meta_mode import BigTensorsOnMeta
from pytest_paramform.sources.building.policies import (
    UnknownValues,
    all_on_meta,
    big_fresh_on_meta,
    caused_by_meta,
    keep_on_meta,
    mark_meta_failure,
    skip_fill_from_meta,
)

BIG = (2048, 1024)  # 2**21 elements: above BIG_NUMEL


def meta(*shape: int) -> torch.Tensor:
    return torch.empty(shape, device="meta")


def test_a_big_fresh_tensor_is_made_on_meta_and_a_small_one_is_left_to_torch() -> None:
    policy = big_fresh_on_meta(sized=True, method=False)
    big = policy(torch.zeros, BIG, {"dtype": torch.float16})
    assert big is not None
    assert (big.device.type, tuple(big.shape), big.dtype) == ("meta", BIG, torch.float16)
    assert policy(torch.zeros, (4, 4), {}) is None
    assert policy(torch.zeros, BIG, {"device": "meta"}) is None, "not on the host: as asked"
    assert policy(torch.zeros, BIG, {"out": torch.empty(0)}) is None


def test_a_big_new_tensor_from_a_method_is_made_on_meta_too() -> None:
    policy = big_fresh_on_meta(sized=True, method=True)
    big = policy(torch.Tensor.new_zeros, (torch.ones(1), BIG), {})
    assert big is not None
    assert (big.device.type, tuple(big.shape)) == ("meta", BIG)


def test_a_write_from_meta_into_a_real_tensor_is_skipped_and_remembered() -> None:
    unknown = UnknownValues()
    policy = skip_fill_from_meta(unknown)
    real = torch.zeros(3)
    assert policy(torch.Tensor.copy_, (real, meta(3)), {}) is real
    assert real.tolist() == [0.0, 0.0, 0.0]
    assert unknown.reached_by((real,), {})
    other = torch.zeros(3)
    assert policy(torch.Tensor.__setitem__, (other, 0, meta()), {}) is other
    assert policy(torch.Tensor.copy_, (torch.zeros(3), meta(3), True), {}) is not None
    assert policy(torch.Tensor.copy_, (torch.zeros(3), torch.ones(3)), {}) is None
    assert policy(torch.Tensor.copy_, (meta(3), meta(3)), {}) is None


def test_values_computed_from_unknown_ones_are_unknown_and_reading_them_fails() -> None:
    unknown = UnknownValues()
    source = torch.zeros(2)
    unknown.remember(source)
    derived = unknown.spread(torch.add, (source, 1), {})
    assert unknown.reached_by((), {"x": [derived]})
    with pytest.raises(RuntimeError, match=r"item\(\) read a tensor that was written") as info:
        unknown.spread(torch.Tensor.item, (derived,), {})
    assert caused_by_meta(info.value)
    assert not unknown.reached_by((torch.zeros(2),), {})


def test_a_tensor_of_unknown_values_is_forgotten_once_it_is_freed() -> None:
    unknown = UnknownValues()
    tensor = torch.zeros(2)
    unknown.remember(tensor)
    del tensor
    gc.collect()
    assert unknown.tensors == {}


def test_a_meta_tensor_moved_to_the_cpu_stays_on_meta_in_the_dtype_asked_for() -> None:
    tensor = meta(2, 2)
    assert keep_on_meta(torch.Tensor.cpu, (tensor,), {}) is tensor
    assert keep_on_meta(torch.Tensor.to, (tensor, "cpu"), {}) is tensor
    half = keep_on_meta(torch.Tensor.to, (tensor, "cpu", torch.float16), {})
    assert half is not None
    assert (half.device.type, half.dtype) == ("meta", torch.float16)
    assert keep_on_meta(torch.Tensor.to, (torch.ones(2), "cpu"), {}) is None, "a real one moves"


def test_a_call_mixing_meta_and_cpu_tensors_is_made_again_all_on_meta() -> None:
    result = all_on_meta(torch.matmul, (torch.ones(2, 3), meta(3, 4)), {})
    assert (result.device.type, tuple(result.shape)) == ("meta", (2, 4))
    assert all_on_meta(torch.Tensor.add_, (torch.ones(3), meta(3)), {}) is None, "in place"
    assert all_on_meta(torch.add, (torch.ones(3), meta(3)), {"out": torch.ones(3)}) is None
    assert all_on_meta(torch.add, (torch.ones(3), torch.ones(3)), {}) is None, "no mix"


def test_an_error_from_a_call_on_meta_is_marked_and_found_behind_another() -> None:
    on_meta, on_cpu = RuntimeError("boom"), RuntimeError("boom")
    mark_meta_failure(on_meta, (meta(1),), {})
    mark_meta_failure(on_cpu, (torch.ones(1),), {})
    assert caused_by_meta(on_meta)
    assert not caused_by_meta(on_cpu)
    wrapped = ValueError("the model's own wrapping")
    wrapped.__cause__ = on_meta
    assert caused_by_meta(wrapped)


def test_an_error_type_that_takes_no_mark_is_left_as_it_is() -> None:
    class Slotted(Exception):
        __slots__ = ()

    class NoAttributes(BaseException):
        def __setattr__(self, name: str, value: object) -> None:
            raise AttributeError(name)

    error = NoAttributes()
    mark_meta_failure(error, (meta(1),), {})
    assert not caused_by_meta(error)
    assert not caused_by_meta(Slotted())


def test_the_mode_applies_each_policy_to_its_own_calls_and_leaves_the_rest() -> None:
    with BigTensorsOnMeta():
        big = torch.zeros(*BIG)
        small = torch.arange(4) * 2
        table = torch.zeros(4)
        table.copy_(meta(4))
        moved = meta(2).to("cpu")
        with pytest.raises(RuntimeError) as info:
            table.sum().item()
    assert big.is_meta
    assert small.tolist() == [0, 2, 4, 6]
    assert moved.is_meta
    assert caused_by_meta(info.value)
    assert big.numel() > BIG_NUMEL

"""Every assumption paramform makes about torch's private internals, one test each.

When torch changes, these fail first and point at ``sources/torch_compat.py``, the only
module that relies on them.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

from pytest_paramform.sources import torch_compat
from pytest_paramform.sources.torch_compat import (
    COMPILED_MODEL,
    PACKED_DTYPE,
    PACKED_PARAMS,
    PACKED_TUPLE,
    PACKED_WEIGHT,
    QUANTIZED_MODULES,
    is_view,
    storage_key,
    tensors_in,
    to_arguments,
    torch_function_disabled,
    tree_map,
    tree_map_only,
)

QUANTIZE_DEPRECATED = "ignore:torch.ao.quantization is deprecated:DeprecationWarning"


class Seen(torch_compat.TorchFunctionMode):
    """Records the name of every torch call it sees."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def __torch_function__(
        self, func: Callable[..., Any], types: Any, args: Any = (), kwargs: Any = None
    ) -> Any:
        self.names.append(getattr(func, "__name__", repr(func)))
        return func(*args, **(kwargs or {}))


def test_importing_the_compat_module_imports_no_torch() -> None:
    code = (
        "import sys; import pytest_paramform.sources.torch_compat; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_torch_function_mode_is_the_base_a_mode_subclasses_and_sees_every_call() -> None:
    assert torch_compat.TorchFunctionMode is torch.overrides.TorchFunctionMode
    with Seen() as seen:
        torch.ones(2).add(1)
    assert seen.names == ["ones", "add"]


def test_the_tensors_of_a_call_are_found_however_nested() -> None:
    a, b, c = torch.ones(1), torch.zeros(2), torch.empty(3, device="meta")
    found = tensors_in((a, [1, (b, "x")]), {"out": {"deep": c}, "n": 3})
    assert [t.shape for t in found] == [(1,), (2,), (3,)]
    assert found[2] is c


def test_tree_map_replaces_every_leaf_and_keeps_the_nesting() -> None:
    assert tree_map(lambda x: x * 2, ([1, (2, 3)], {"k": 4})) == ([2, (4, 6)], {"k": 8})


def test_tree_map_only_touches_leaves_of_the_type_asked_for() -> None:
    moved = tree_map_only(torch.Tensor, lambda t: t.to("meta"), {"x": torch.ones(2), "n": 1})
    assert moved["x"].is_meta
    assert moved["n"] == 1


@pytest.mark.parametrize(
    ("args", "kwargs", "device", "dtype"),
    [
        ((torch.float16,), {}, None, torch.float16),
        (("cpu",), {}, "cpu", None),
        (("meta", torch.bfloat16), {}, "meta", torch.bfloat16),
        ((), {"device": "cpu", "dtype": torch.int8}, "cpu", torch.int8),
        ((torch.empty(1, dtype=torch.float64, device="meta"),), {}, "meta", torch.float64),
    ],
    ids=["dtype", "device", "both", "keywords", "other-tensor"],
)
def test_the_device_and_dtype_a_to_call_asks_for(
    args: tuple[Any, ...], kwargs: dict[str, Any], device: str | None, dtype: torch.dtype | None
) -> None:
    parsed_device, parsed_dtype = to_arguments(args, kwargs)
    assert (parsed_device.type if parsed_device is not None else None) == device
    assert parsed_dtype == dtype


def test_calls_made_with_torch_function_disabled_reach_no_mode() -> None:
    with Seen() as seen:
        with torch_function_disabled():
            torch.ones(2)
        torch.zeros(2)
    assert seen.names == ["zeros"]


def test_a_slice_is_a_view_and_a_clone_is_not() -> None:
    tensor = torch.ones(4, 4)
    assert is_view(tensor[1:])
    assert is_view(tensor.t())
    assert not is_view(tensor.clone())
    assert not is_view(tensor)


def test_a_storage_is_known_by_its_key_on_meta_too() -> None:
    linear = nn.Linear(3, 3, device="meta")
    tied = nn.Linear(3, 3, device="meta")
    tied.weight = linear.weight
    assert storage_key(tied.weight) == storage_key(linear.weight)
    assert storage_key(linear.weight.t()) == storage_key(linear.weight)
    assert storage_key(linear.bias) != storage_key(linear.weight)
    assert linear.bias.data_ptr() == linear.weight.data_ptr() == 0, "why not the data pointer"


@pytest.mark.filterwarnings(QUANTIZE_DEPRECATED)
@pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor:UserWarning")
def test_a_quantized_linear_packs_its_weights_under_these_state_dict_keys() -> None:
    model = nn.Sequential(nn.Linear(4, 3), nn.Embedding(10, 4))
    quantized = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    assert type(quantized[0]).__module__.startswith(QUANTIZED_MODULES)
    state = quantized.state_dict()
    weight, bias = state[f"0.{PACKED_TUPLE}"]
    assert (weight.shape, bias.shape) == ((3, 4), (3,))
    assert state[f"0.{PACKED_DTYPE}"] == torch.qint8
    assert all(PACKED_PARAMS not in key for key in state if key.startswith("1."))


@pytest.mark.filterwarnings(QUANTIZE_DEPRECATED)
@pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor:UserWarning")
def test_a_quantized_embedding_packs_its_weight_under_its_own_key() -> None:
    embedding = torch.ao.nn.quantized.Embedding(10, 4)
    assert type(embedding).__module__.startswith(QUANTIZED_MODULES)
    assert embedding.state_dict()[PACKED_WEIGHT].shape == (10, 4)


def test_torch_compile_holds_the_model_under_its_original_attribute() -> None:
    model = nn.Linear(2, 2)
    compiled = torch.compile(model)
    assert getattr(compiled, COMPILED_MODEL) is model


class CountsMatmuls(torch_compat.TorchDispatchMode):
    """Records every aten operation it sees below autograd."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: list[Any] = []

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None
    ) -> Any:
        self.ops.append(func)
        return func(*args, **(kwargs or {}))


def test_a_dispatch_mode_sees_the_aten_operations_of_a_meta_call() -> None:
    with CountsMatmuls() as mode:
        torch.ones(2, 3, device="meta") @ torch.ones(3, 4, device="meta")
    assert torch.ops.aten.mm.default in mode.ops


def test_flop_formulas_are_keyed_by_overload_packet_and_take_the_result() -> None:
    formulas = torch_compat.flop_formulas()
    op = torch.ops.aten.mm.default
    a, b = torch.ones(2, 3, device="meta"), torch.ones(3, 4, device="meta")
    formula = formulas[torch_compat.overload_packet(op)]
    assert torch_compat.flop_count(formula, (a, b), {}, a @ b) == 2 * 2 * 3 * 4


def test_a_composite_operation_is_told_from_one_with_its_own_kernel() -> None:
    assert torch_compat.has_composite_kernel(torch.ops.aten.linear.default)
    assert not torch_compat.has_composite_kernel(torch.ops.aten.mm.default)


def test_a_schema_tells_a_view_a_fresh_result_and_an_in_place_write() -> None:
    view = torch_compat.op_schema(torch.ops.aten.view.default)
    fresh = torch_compat.op_schema(torch.ops.aten.mm.default)
    in_place = torch_compat.op_schema(torch.ops.aten.relu_.default)
    assert view.returns[0].alias_info is not None
    assert not view.is_mutable
    assert fresh.returns[0].alias_info is None
    assert not fresh.is_mutable
    assert in_place.is_mutable
    assert in_place.returns[0].alias_info.is_write


def test_a_modules_own_tables_are_where_getattr_finds_its_tensors() -> None:
    layer = nn.BatchNorm1d(3)
    parameters, buffers = torch_compat.module_tables(layer)
    stand_in = torch.zeros(3)
    parameters["weight"] = stand_in
    buffers["running_mean"] = stand_in
    assert layer.weight is stand_in
    assert layer.running_mean is stand_in

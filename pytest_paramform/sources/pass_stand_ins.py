"""What stands in for a model's tensors and norms while a report's forward pass runs.

The pass must neither move nor copy the user's model, and must cost little: the tensors of
each module are swapped for stand-ins for the pass only (:func:`stand_ins`), on ``meta``
(no memory) or, when a pass has to read values, as real zeros; and ``torch.nn.functional``'s
norms answer a ``meta`` call with an empty tensor of the input's shape
(:func:`norms_keep_shape`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from pytest_paramform.sources.building.stand_ins import standing_in
from pytest_paramform.sources.torch_compat import module_tables

META = torch.device("meta")

_Fits = Callable[[torch.Tensor, tuple[Any, ...], dict[str, Any]], bool]


@contextmanager
def stand_ins(module: nn.Module, *, real: bool) -> Iterator[None]:
    """Each parameter and buffer that the pass must not use stands in as a fresh tensor
    for the block (one stand-in for a tensor held twice, so ties hold), and is put back
    after it. On ``meta`` (``real=False``) every real tensor stands in as an empty meta
    tensor, and one already on meta (a model built without weights) is used as it is: it
    has no values to keep. With real memory, every meta tensor stands in as zeros, a real
    buffer as a copy (a pass may write into its buffers: counters, caches, running
    statistics; the model's own are left untouched), and a real parameter is used as it is
    (eval mode, ``no_grad``): an index or mask keeps the values the model reads.

    The modules' tables are swapped directly: ``torch.func.functional_call`` does the same
    through a name-by-name accessor that costs as much as a small model's pass."""
    swapped: list[tuple[dict[str, Any], str, torch.Tensor]] = []
    made: dict[int, torch.Tensor] = {}
    for sub in module.modules():
        parameters, buffers = module_tables(sub)
        for table in (parameters, buffers):
            for name, tensor in table.items():
                if tensor is None:
                    continue
                if not real and not tensor.is_meta:
                    stand_in: Callable[[torch.Tensor], torch.Tensor] = empty_like
                elif real and tensor.is_meta:
                    stand_in = _zeros_like
                elif real and table is buffers:
                    stand_in = _copy_of
                else:
                    continue
                if id(tensor) not in made:
                    made[id(tensor)] = stand_in(tensor)
                swapped.append((table, name, tensor))
    try:
        for table, name, tensor in swapped:
            table[name] = made[id(tensor)]
        yield
    finally:
        for table, name, tensor in swapped:
            table[name] = tensor


def empty_like(tensor: torch.Tensor) -> torch.Tensor:
    """``torch.empty_like(tensor, device="meta")``, made in C++: on meta, ``empty_like``
    runs torch's Python implementation (about 30 us a tensor). The same strides for a
    dense tensor (as ``empty_like`` keeps them), else torch's own answer."""
    if tensor.is_contiguous() or tensor.is_contiguous(memory_format=torch.channels_last):
        return torch.empty_strided(tensor.shape, tensor.stride(), dtype=tensor.dtype, device=META)
    return torch.empty_like(tensor, device=META)


def _copy_of(tensor: torch.Tensor) -> torch.Tensor:
    """The same values in fresh host memory, made through ``torch.empty`` so that a memory
    budget sees the copy before it is allocated."""
    return torch.empty(tuple(tensor.shape), dtype=tensor.dtype).copy_(tensor)


def _zeros_like(tensor: torch.Tensor) -> torch.Tensor:
    """Zeros on the host (values a pass can read, never NaN), made through ``torch.zeros``
    so that a memory budget sees them before they are allocated."""
    return torch.zeros(tuple(tensor.shape), dtype=tensor.dtype)


F = torch.nn.functional


def _batch_norm_fits(x: torch.Tensor, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    stats = [t for t in (*args[1:5], kwargs.get("weight")) if isinstance(t, torch.Tensor)]
    return x.dim() >= 2 and all(t.numel() == x.shape[1] for t in stats)


def _layer_norm_fits(x: torch.Tensor, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    shape = args[1] if len(args) > 1 else kwargs.get("normalized_shape")
    shape = (shape,) if isinstance(shape, int) else tuple(shape or ())
    return len(shape) <= x.dim() and tuple(x.shape[x.dim() - len(shape) :]) == shape


def _group_norm_fits(x: torch.Tensor, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    groups = args[1] if len(args) > 1 else kwargs.get("num_groups")
    return x.dim() >= 2 and isinstance(groups, int) and groups > 0 and x.shape[1] % groups == 0


_NORMS: dict[str, _Fits] = {
    "batch_norm": _batch_norm_fits,
    "layer_norm": _layer_norm_fits,
    "group_norm": _group_norm_fits,
}


@contextmanager
def norms_keep_shape() -> Iterator[None]:
    """Batch, layer and group norm return their input's shape and dtype, and count no
    FLOPs; on ``meta`` torch runs them through Python decompositions (about 7 ms a call,
    most of a ResNet's pass), so a fitting call is answered with an empty tensor here. A
    call that does not fit (wrong channels), or on real tensors, runs as usual.

    ``torch.nn.functional``'s own functions stand in for the pass, rather than a
    ``TorchFunctionMode`` seeing every torch call (about 6 us each, a third of a pass)."""
    swaps = [(F, name, _keeping_shape(getattr(F, name), fits)) for name, fits in _NORMS.items()]
    with standing_in(swaps):
        yield


def _keeping_shape(norm: Callable[..., Any], fits: _Fits) -> Callable[..., Any]:
    @functools.wraps(norm)
    def stand_in(*args: Any, **kwargs: Any) -> Any:
        x = args[0] if args else kwargs.get("input")
        if isinstance(x, torch.Tensor) and x.is_meta and fits(x, args, kwargs):
            return empty_like(x)
        return norm(*args, **kwargs)

    return stand_in

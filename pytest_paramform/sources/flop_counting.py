"""FLOPs of a forward pass on ``meta``, counted by torch's own formulas, at a fraction of
``FlopCounterMode``'s cost.

``FlopCounterMode`` does per torch operation what a report does not need (tracking the
module tree, a table per operation); and on ``meta`` most operations run a Python
implementation in torch (``addmm``, ``gelu``, ``add``: 0.1-2 ms each), which is most of a
forward pass. :class:`CountingMode` is one dispatch mode that

- adds up the FLOPs of each operation that has a formula in ``FlopCounterMode``'s registry,
  called exactly as ``FlopCounterMode`` calls it (the same figures, to the FLOP); an
  operation torch can decompose is decomposed first, as ``FlopCounterMode`` does;
- remembers what an operation on ``meta`` tensors returned (shapes, strides, dtypes, and
  the FLOPs), keyed by everything the result can depend on: the operation, the inputs'
  shapes, strides and dtypes, the other arguments (with their types) and the default dtype.
  A model repeats its blocks, and models share shapes (the memo lasts the session), so most
  operations are answered with fresh empty tensors (about 2 us) instead of torch's Python
  implementation. Only operations that make new tensors, or write into their first
  argument without changing its shape, are remembered: views, and anything that returns
  something other than tensors, always run.
"""

from __future__ import annotations

from typing import Any

import torch

from pytest_paramform.sources.torch_compat import (
    TorchDispatchMode,
    flop_count,
    flop_formulas,
    has_composite_kernel,
    op_schema,
    overload_packet,
)

META = torch.device("meta")

# What an operation is to the memo: not remembered, makes one / several new tensors, or
# writes into its first argument and returns it.
_RUNS, _FRESH, _FRESH_MANY, _IN_PLACE = 0, 1, 2, 3

# Plain argument types that go into a key as they are (with their type: 2 and 2.0 give
# different dtypes).
_PLAIN = frozenset(
    (int, float, bool, complex, str, type(None), torch.dtype, torch.device, torch.layout,
     torch.memory_format)
)

_Made = tuple[tuple[tuple[int, ...], tuple[int, ...], torch.dtype], ...]


# Shared by every pass of the session: models share their layers' shapes (the zoo's
# forward sections take a fifth less time than with one memo per pass). A result is a few
# hundred bytes; past the cap the memo starts again rather than grow with a long session.
_MEMO: dict[tuple[Any, ...], tuple[_Made, int]] = {}
_MEMO_CAP = 200_000


class CountingMode(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """See the module docstring. ``total`` is the FLOPs counted so far."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.total = 0
        self._formulas = flop_formulas()
        if len(_MEMO) > _MEMO_CAP:
            _MEMO.clear()
        self._memo = _MEMO
        self._kinds: dict[Any, int] = {}
        self._decomposes: dict[Any, bool] = {}

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None
    ) -> Any:
        kwargs = kwargs or {}
        kind = self._kinds.get(func)
        if kind is None:
            kind = self._kinds[func] = _kind(func)
        key = _key(func, args, kwargs) if kind else None
        if key is not None:
            known = self._memo.get(key)
            if known is not None:
                made, flops = known
                self.total += flops
                return _remade(kind, made, args)
        formula = self._formulas.get(overload_packet(func))
        if formula is None and self._can_decompose(func):
            with self:
                result = func.decompose(*args, **kwargs)
            if result is not NotImplemented:
                return result
        before = _layout(args[0]) if kind == _IN_PLACE else None
        out = func(*args, **kwargs)
        flops = flop_count(formula, args, kwargs, out) if formula is not None else 0
        self.total += flops
        if key is not None and (before is None or before == _layout(args[0])):
            # An in-place call that changed its argument's shape (``_resize_output_``, which
            # meta kernels call) must run every time: only a plain write is remembered.
            described = _described(out)
            if described is not None:
                self._memo[key] = (described, flops)
        return out

    def _can_decompose(self, func: Any) -> bool:
        known = self._decomposes.get(func)
        if known is None:
            known = self._decomposes[func] = has_composite_kernel(func)
        return known


def _kind(func: Any) -> int:
    """How the memo may answer ``func``, read from its schema: a result aliasing an input
    (a view) or anything but tensors always runs."""
    schema = op_schema(func)
    returns = schema.returns
    if not returns or any(str(r.type) != "Tensor" for r in returns):
        return _RUNS
    if not any("Tensor" in str(a.type) for a in schema.arguments):
        return _RUNS  # a constructor (empty, zeros, arange): made in C++ already
    if not schema.is_mutable:
        if any(r.alias_info is not None for r in returns):
            return _RUNS
        return _FRESH if len(returns) == 1 else _FRESH_MANY
    return _IN_PLACE if _writes_first_argument_only(func) else _RUNS


def _writes_first_argument_only(func: Any) -> bool:
    """``relu_``, ``add_``, ``hardswish_``: writes values into its first argument and returns
    it, leaving its shape alone (unlike ``resize_``, ``unsqueeze_`` or ``set_``)."""
    schema = op_schema(func)
    name = schema.name.rpartition("::")[2]
    shaping = ("resize", "set_", "sparse_", "mkldnn_transpose")
    if torch.Tag.inplace_view in func.tags or name.lstrip("_").startswith(shaping):
        return False
    arguments = schema.arguments
    written = [a for a in arguments if a.alias_info is not None and a.alias_info.is_write]
    returned = schema.returns[0].alias_info
    return (
        len(schema.returns) == 1
        and len(written) == 1
        and written[0].name == arguments[0].name
        and returned is not None
        and returned.is_write
        and set(returned.before_set) == set(written[0].alias_info.before_set)
    )


def _key(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...] | None:
    """Everything a ``meta`` result can depend on, or None when an argument is not plain
    (a real tensor, whose values may matter; a subclass; an object)."""
    parts: list[Any] = [func, torch.get_default_dtype()]
    if _add_parts(args, parts) and _add_parts(tuple(kwargs.items()), parts):
        return tuple(parts)
    return None


def _add_parts(values: tuple[Any, ...] | list[Any], parts: list[Any]) -> bool:
    for value in values:
        kind = type(value)
        if kind is torch.Tensor or kind is torch.nn.Parameter:
            if not value.is_meta:
                return False
            parts.append((value.shape, value.stride(), value.dtype))
        elif kind in _PLAIN:
            parts.append((kind, value))
        elif kind is tuple or kind is list:
            parts.append((kind, len(value)))
            if not _add_parts(value, parts):
                return False
        else:
            return False
    return True


def _layout(tensor: Any) -> tuple[Any, ...] | None:
    if not isinstance(tensor, torch.Tensor):
        return None
    return tuple(tensor.shape), tuple(tensor.stride())


def _described(out: Any) -> _Made | None:
    """Shapes, strides and dtypes of a result made of plain dense ``meta`` tensors at
    offset 0 (what ``empty_strided`` can make again), else None."""
    outs = out if isinstance(out, tuple) else (out,)
    made = []
    for tensor in outs:
        plain = type(tensor) is torch.Tensor and tensor.is_meta
        if not plain or tensor.layout != torch.strided or tensor.storage_offset() != 0:
            return None
        made.append((tuple(tensor.shape), tuple(tensor.stride()), tensor.dtype))
    return tuple(made)


def _remade(kind: int, made: _Made, args: tuple[Any, ...]) -> Any:
    if kind == _IN_PLACE:
        return args[0]
    tensors = tuple(
        torch.empty_strided(shape, stride, dtype=dtype, device=META)
        for shape, stride, dtype in made
    )
    return tensors if kind == _FRESH_MANY else tensors[0]

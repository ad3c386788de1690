"""Quantized layers: weights that ``named_parameters()`` does not yield.

A quantized ``Linear`` (``torch.ao.quantization.quantize_dynamic``) keeps its weight and
bias packed in a ``_packed_params`` object, not as parameters; its ``state_dict`` saves
them as one ``(weight, bias)`` tuple under ``<layer>._packed_params._packed_params``, next
to ``<layer>._packed_params.dtype``. Reported as they are, such a model would lose every
Linear layer. Here they are unpacked under the names a user knows from the float model,
``<layer>.weight`` and ``<layer>.bias``, with their shapes and quantized dtype; a quantized
LSTM or GRU gives ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ... as the float one
does. (Its ``state_dict`` holds TorchScript objects, which ``torch.load(weights_only=True)``
refuses; the live model reports.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from pytest_paramform.heavy_imports import require
from pytest_paramform.sources.tensors import Part
from pytest_paramform.sources.torch_compat import (
    PACKED_DTYPE,
    PACKED_PARAMS,
    PACKED_TUPLE,
    PACKED_WEIGHT,
    QUANTIZED_MODULES,
)

if TYPE_CHECKING:
    from torch import Tensor, nn


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _is_packed(module: nn.Module) -> bool:
    """A quantized layer whose weight is a method that unpacks it."""
    return type(module).__module__.startswith(QUANTIZED_MODULES) and callable(
        getattr(type(module), "weight", None)
    )


def packed_tensors(model: nn.Module) -> list[tuple[str, Tensor]]:
    """``(name, tensor)`` for every packed weight and bias, in module order."""
    kinds = {type(module) for module in model.modules()}
    if not any(kind.__module__.startswith(QUANTIZED_MODULES) for kind in kinds):
        return []  # the common case, told from a few distinct classes
    found: list[tuple[str, Tensor]] = []
    for prefix, module in model.named_modules(remove_duplicate=False):
        if _is_packed_rnn(module):
            found += [(_join(prefix, n), t) for n, t in _rnn_tensors(module)]
        elif _is_packed(module):
            found.append((_join(prefix, "weight"), module.weight()))
            bias = getattr(module, "bias", None)
            value = bias() if callable(bias) else None
            if value is not None:
                found.append((_join(prefix, "bias"), value))
    return found


def _is_packed_rnn(module: nn.Module) -> bool:
    """A quantized LSTM or GRU: its weights come back from ``get_weight()``."""
    return type(module).__module__.startswith(QUANTIZED_MODULES) and callable(
        getattr(type(module), "get_weight", None)
    )


_RNN_KINDS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _rnn_tensors(module: Any) -> list[tuple[str, Tensor]]:
    """The float LSTM's names and order: per layer and direction, ``weight_ih``,
    ``weight_hh``, ``bias_ih``, ``bias_hh`` (``_l0``, ``_l0_reverse``, ``_l1``, ...)."""
    tensors = {**module.get_weight(), **module.get_bias()}
    suffixes = list(dict.fromkeys(n.split("_", 2)[2] for n in tensors))
    return [
        (f"{kind}_{suffix}", tensors[f"{kind}_{suffix}"])
        for suffix in suffixes
        for kind in _RNN_KINDS
        if f"{kind}_{suffix}" in tensors
    ]


def module_order(model: nn.Module) -> dict[str, int]:
    """Each module path's place in ``named_modules()``, the order parameters come in."""
    order: dict[str, int] = {}
    for index, (prefix, _) in enumerate(model.named_modules(remove_duplicate=False)):
        order.setdefault(prefix, index)
    return order


def unpacked(parts: Iterable[Part]) -> Iterator[Part]:
    """Each part, a state dict's entries with every quantized layer's packed weights
    unpacked (read as the part is, one entry at a time)."""
    for part in parts:
        if part.entries is not None:
            torch = require("torch", "torch")
            part = part._replace(entries=_unpacked_entries(torch, part.entries))
        yield part


def _unpacked_entries(torch: Any, entries: Iterable[tuple[Any, Any]]) -> Iterator[tuple[Any, Any]]:
    for key, value in entries:
        if not isinstance(key, str) or (
            isinstance(value, torch.Tensor) and PACKED_PARAMS not in key
        ):
            yield key, value
        else:
            yield from unpacked_items(torch, key, value)


def unpacked_items(torch: Any, key: str, value: Any) -> Iterator[tuple[str, Any]]:
    """A state_dict entry as the tensors a user would name: a packed ``(weight, bias)``
    tuple becomes ``<layer>.weight`` and ``<layer>.bias``; the packed dtype entry is not a
    tensor and goes; everything else is left as it is."""
    is_dtype_entry = key == PACKED_DTYPE or key.endswith("." + PACKED_DTYPE)
    if is_dtype_entry and isinstance(value, torch.dtype):
        return
    layer = _layer_of(key)
    if layer is not None and key.endswith(PACKED_TUPLE) and _weight_bias(torch, value):
        yield _join(layer, "weight"), value[0]
        if value[1] is not None:
            yield _join(layer, "bias"), value[1]
        return
    if layer is not None and key.endswith(PACKED_WEIGHT) and isinstance(value, torch.Tensor):
        yield _join(layer, "weight"), value
        return
    yield key, value


def _layer_of(key: str) -> str | None:
    for suffix in (PACKED_TUPLE, PACKED_WEIGHT):
        if key == suffix:
            return ""
        if key.endswith("." + suffix):
            return key[: -len(suffix) - 1]
    return None


def _weight_bias(torch: Any, value: Any) -> bool:
    return (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], torch.Tensor)
        and (value[1] is None or isinstance(value[1], torch.Tensor))
    )

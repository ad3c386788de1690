"""A quantized model's state dict: packed weights under the names of the float model.

A quantized ``Linear`` (``torch.ao.quantization.quantize_dynamic``) saves its weight and
bias as one ``(weight, bias)`` tuple under ``<layer>._packed_params._packed_params``, next
to ``<layer>._packed_params.dtype``; a quantized ``Embedding`` saves its weight under
``<layer>._packed_params._packed_weight``. Read as they are, such a checkpoint would lose
every Linear layer: here they become ``<layer>.weight`` and ``<layer>.bias``. (A live
quantized model is read by ``quantized_modules.py``.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pytest_paramform.sources.tensors import dotted
from pytest_paramform.sources.torch_compat import (
    PACKED_DTYPE,
    PACKED_PARAMS,
    PACKED_TUPLE,
    PACKED_WEIGHT,
)


def unpacked_entries(
    torch: Any, entries: Iterable[tuple[Any, Any]]
) -> Iterator[tuple[Any, Any]]:
    """A state dict's entries with every quantized layer's packed weights unpacked, read
    one entry at a time as they are asked for."""
    for key, value in entries:
        if not isinstance(key, str) or (
            isinstance(value, torch.Tensor) and PACKED_PARAMS not in key
        ):
            yield key, value
        else:
            yield from _unpacked_items(torch, key, value)


def _unpacked_items(torch: Any, key: str, value: Any) -> Iterator[tuple[str, Any]]:
    """A state_dict entry as the tensors a user would name: a packed ``(weight, bias)``
    tuple becomes ``<layer>.weight`` and ``<layer>.bias``; the packed dtype entry is not a
    tensor and goes; everything else is left as it is."""
    is_dtype_entry = key == PACKED_DTYPE or key.endswith("." + PACKED_DTYPE)
    if is_dtype_entry and isinstance(value, torch.dtype):
        return
    layer = _layer_of(key)
    if layer is not None and key.endswith(PACKED_TUPLE) and _weight_bias(torch, value):
        yield dotted(layer, "weight"), value[0]
        if value[1] is not None:
            yield dotted(layer, "bias"), value[1]
        return
    if layer is not None and key.endswith(PACKED_WEIGHT) and isinstance(value, torch.Tensor):
        yield dotted(layer, "weight"), value
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

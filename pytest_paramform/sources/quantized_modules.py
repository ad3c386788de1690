"""A live quantized model: weights that ``named_parameters()`` does not yield.

A quantized ``Linear`` (``torch.ao.quantization.quantize_dynamic``) keeps its weight and
bias packed in a ``_packed_params`` object, not as parameters. Reported as they are, such a
model would lose every Linear layer. Here they are unpacked under the names a user knows
from the float model, ``<layer>.weight`` and ``<layer>.bias``, with their shapes and
quantized dtype; a quantized LSTM or GRU gives ``weight_ih_l0``, ``weight_hh_l0``,
``bias_ih_l0``, ... as the float one does (its ``state_dict`` holds TorchScript objects,
which ``torch.load(weights_only=True)`` refuses, so only the live model reports). A
quantized checkpoint is read by ``quantized_state_dicts.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_paramform.report import ParamRow
from pytest_paramform.sources.state_dicts import dtype_name
from pytest_paramform.sources.tensors import dotted
from pytest_paramform.sources.torch_compat import QUANTIZED_MODULES

if TYPE_CHECKING:
    from torch import Tensor, nn


def _is_packed(module: nn.Module) -> bool:
    """A quantized layer whose weight is a method that unpacks it."""
    return type(module).__module__.startswith(QUANTIZED_MODULES) and callable(
        getattr(type(module), "weight", None)
    )


def with_packed_weights(model: nn.Module, rows: list[ParamRow], dtype: bool) -> list[ParamRow]:
    """``rows`` with each quantized layer's packed weight and bias put in module order;
    they are not parameters, so they are frozen."""
    packed = _packed_tensors(model)
    if not packed:
        return rows
    extra = [
        ParamRow(n, tuple(int(d) for d in t.shape), True, dtype_name(t) if dtype else None)
        for n, t in packed
    ]
    order = _module_order(model)
    owner = [order.get(row.name.rpartition(".")[0], -1) for row in [*rows, *extra]]
    ranked = sorted(zip(owner, range(len(owner)), [*rows, *extra], strict=True))
    return [row for _, _, row in ranked]


def _module_order(model: nn.Module) -> dict[str, int]:
    """Each module path's place in ``named_modules()``, the order parameters come in."""
    order: dict[str, int] = {}
    for index, (prefix, _) in enumerate(model.named_modules(remove_duplicate=False)):
        order.setdefault(prefix, index)
    return order


def _packed_tensors(model: nn.Module) -> list[tuple[str, Tensor]]:
    """``(name, tensor)`` for every packed weight and bias, in module order."""
    kinds = {type(module) for module in model.modules()}
    if not any(kind.__module__.startswith(QUANTIZED_MODULES) for kind in kinds):
        return []  # the common case, told from a few distinct classes
    found: list[tuple[str, Tensor]] = []
    for prefix, module in model.named_modules(remove_duplicate=False):
        if _is_packed_rnn(module):
            found += [(dotted(prefix, n), t) for n, t in _rnn_tensors(module)]
        elif _is_packed(module):
            found.append((dotted(prefix, "weight"), module.weight()))
            bias = getattr(module, "bias", None)
            value = bias() if callable(bias) else None
            if value is not None:
                found.append((dotted(prefix, "bias"), value))
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

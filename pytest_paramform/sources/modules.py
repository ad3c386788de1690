"""The report of a model, read from ``named_parameters()`` (and the forward pass, when
asked for): an ``nn.Module`` as it is, or the one a factory built (``factories.py``).

Reads names, shapes and flags only: never moves, runs or copies a module (a forward pass
runs on ``meta``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pytest_paramform.errors import SourceError
from pytest_paramform.forward_report import InputSpec
from pytest_paramform.heavy_imports import require
from pytest_paramform.report import Alias, ParamFormReport, ParamRow, RowFields
from pytest_paramform.sources.quantized_modules import with_packed_weights
from pytest_paramform.sources.state_dicts import check_item, dtype_name
from pytest_paramform.sources.tensors import short_repr
from pytest_paramform.sources.wrappers import WRAPPED

if TYPE_CHECKING:
    from torch import Tensor, nn


def read_model(
    module: nn.Module,
    name: str | None,
    *,
    buffers: bool,
    dtype: bool,
    inputs: InputSpec | None,
    depth: int,
) -> ParamFormReport:
    """The report of ``module``, named after its class unless ``name`` is given."""
    module = unwrap(module)
    report = report_of_module(module, name or type(module).__name__, buffers=buffers, dtype=dtype)
    if inputs is None:
        return report
    from pytest_paramform.sources.forward import run_forward

    return replace(report, forward=run_forward(module, inputs, depth))


def unwrap(module: nn.Module) -> nn.Module:
    """The model inside torch.compile and (Distributed)DataParallel wrappers."""
    while (attr := WRAPPED.get(type(module).__name__)) is not None and hasattr(module, attr):
        module = getattr(module, attr)
    return module


def _dtype(tensor: Tensor, record: bool) -> str | None:
    return dtype_name(tensor) if record else None


def _check_not_lazy(torch: Any, module: nn.Module, name: str, param: Tensor) -> None:
    if torch.nn.parameter.is_lazy(param):
        raise SourceError(
            f"parameter {name!r} of {type(module).__name__} is not initialised yet "
            "(a lazy module such as nn.LazyLinear): run one forward pass with a sample "
            "input before taking its report"
        )


def _named_parameters(module: nn.Module) -> Iterator[tuple[str, Tensor]]:
    """Every name of every parameter, tied ones included; a model that overrides
    ``named_parameters`` without the keyword gets its own answer, checked item by item."""
    try:
        pairs = module.named_parameters(remove_duplicate=False)
    except TypeError:
        pairs = module.named_parameters()
    torch = require("torch", "torch")
    where = f"{type(module).__name__}.named_parameters()"
    for item in pairs:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise SourceError(
                f"{where} yielded {short_repr(item)}, expected (name, parameter) pairs"
            )
        check_item(torch, item[0], item[1], where)
        yield item


def report_of_module(
    module: nn.Module, name: str, *, buffers: bool = False, dtype: bool = False
) -> ParamFormReport:
    """Rows from ``named_parameters()``; a name that holds an earlier name's tensor is an
    alias, counted once. Reads names, shapes and flags only: never moves, runs or copies.
    """
    torch = require("torch", "torch")
    first: dict[int, str] = {}
    names: list[str] = []
    keys: list[RowFields] = []
    aliases: list[Alias] = []
    for pname, param in _named_parameters(module):
        _check_not_lazy(torch, module, pname, param)
        if id(param) in first:
            aliases.append(Alias(pname, first[id(param)]))
            continue
        first[id(param)] = pname
        names.append(pname)
        keys.append((tuple(map(int, param.shape)), not param.requires_grad, _dtype(param, dtype)))
    # Rows of one shape, flag and dtype share their derived figures: a decoder repeats a
    # few dozen of them over hundreds of parameters.
    rows = ParamRow.trusted_rows(names, keys)
    recorded = _persistent_buffers(torch, module, dtype) if buffers else None
    rows = with_packed_weights(module, rows, dtype)
    return ParamFormReport(name, tuple(rows), tuple(aliases), recorded)


def _persistent_buffers(torch: Any, module: nn.Module, dtype: bool) -> tuple[ParamRow, ...]:
    """The buffers a state_dict holds (``persistent=False`` ones such as a rotary
    ``inv_freq`` are derived, never saved), read from ``state_dict(keep_vars=True)``,
    which hands back the module's own tensors without copying them."""
    params = {pname for pname, _ in _named_parameters(module)}
    return tuple(
        ParamRow(key, tuple(int(d) for d in value.shape), dtype=_dtype(value, dtype))
        for key, value in module.state_dict(keep_vars=True).items()
        if key not in params and isinstance(value, torch.Tensor)
    )

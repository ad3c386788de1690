"""Adapters from torch objects to report rows: the only place that reads a model.

torch is imported when a source is read, never when this module is imported, so that
loading the plugin costs nothing for test suites that never take a snapshot.
"""

from __future__ import annotations

from typing import Any

from pytest_paramform.empty import empty_weights, no_downloads, skip_init
from pytest_paramform.errors import SourceError
from pytest_paramform.optional import require
from pytest_paramform.report import ParamFormReport, ParamRow

ACCEPTED = (
    "an nn.Module, or a factory that returns one (a model class, a function such as "
    "torchvision.models.resnet50, or a lambda)"
)


def _describe(obj: Any) -> str:
    text = repr(obj)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{type(obj).__name__} {text}"


def rows_of_module(module: Any) -> tuple[ParamRow, ...]:
    """Rows from ``named_parameters()``: tied tensors once, under their first name.

    Reads names and shapes only: the module is never moved, run or copied.
    """
    torch = require("torch", "torch")
    rows = []
    for name, param in module.named_parameters():
        if torch.nn.parameter.is_lazy(param):
            raise SourceError(
                f"parameter {name!r} of {type(module).__name__} is not initialised yet "
                "(a lazy module such as nn.LazyLinear): run one forward pass with a sample "
                "input before taking its report"
            )
        rows.append(ParamRow(name=name, shape=tuple(int(d) for d in param.shape)))
    return tuple(rows)


def factory_name(factory: Any) -> str:
    """A factory's own name (``mobilenet_v2``), looking through ``functools.partial``."""
    inner = getattr(factory, "func", factory)
    name = getattr(inner, "__name__", None)
    return name if isinstance(name, str) and name != "<lambda>" else "model"


def _call(factory: Any) -> Any:
    """Build on ``meta``; a factory that runs its own layers while building (torchvision's
    SSDlite probes its backbone with a sample image) is built again with real but
    uninitialised weights, still without downloads."""
    try:
        with empty_weights():
            return factory()
    except (RuntimeError, NotImplementedError) as exc:
        if "meta" not in str(exc):
            raise
    with skip_init(), no_downloads():
        return factory()


def build_module(factory: Any) -> Any:
    """Call ``factory`` without weights and check that it gave a module."""
    torch = require("torch", "torch")
    try:
        module = _call(factory)
    except TypeError as exc:
        raise SourceError(
            f"could not call {_describe(factory)} without arguments ({exc}); "
            f"pass {ACCEPTED} that needs no arguments, e.g. functools.partial(factory, ...)"
        ) from exc
    if not isinstance(module, torch.nn.Module):
        raise SourceError(
            f"{_describe(factory)} returned {_describe(module)}, not an nn.Module; "
            f"expected {ACCEPTED}"
        )
    return module


def build_report(source: Any, name: str | None = None) -> ParamFormReport:
    """The report of a module, or of the module a factory builds without weights."""
    torch = require("torch", "torch")
    if isinstance(source, torch.nn.Module):
        module, default = source, type(source).__name__
    elif callable(source) and not isinstance(source, torch.Tensor):
        module, default = build_module(source), factory_name(source)
    else:
        raise SourceError(f"cannot take a report of {_describe(source)}: expected {ACCEPTED}")
    return ParamFormReport(name=name or default, rows=rows_of_module(module))

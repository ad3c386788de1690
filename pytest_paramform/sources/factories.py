"""A factory (a model class, a builder function, a lambda, a ``functools.partial``)
called without weights, checked to give an ``nn.Module``, and the name it gives a report.
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any

from pytest_paramform.errors import SourceError
from pytest_paramform.heavy_imports import require
from pytest_paramform.sources.building.ladder import call_without_weights
from pytest_paramform.sources.kinds import ACCEPTED, describe

if TYPE_CHECKING:
    from torch import nn


def build(factory: Any) -> tuple[nn.Module, str]:
    """The module ``factory`` builds without weights, and the factory's name."""
    name = factory_name(factory)
    return build_module(factory, name), name


def factory_name(factory: Any) -> str:
    """A factory's own name (``mobilenet_v2``), looking through ``functools.partial``; a
    partial of a generic builder given the model's name first
    (``partial(timm.create_model, "resnet50")``) is named after that model."""
    if isinstance(factory, functools.partial):
        if factory.args and isinstance(factory.args[0], str) and factory.args[0].strip():
            return factory.args[0].strip().rsplit("/", 1)[-1]
        return factory_name(factory.func)
    name = getattr(factory, "__name__", None)
    return name if isinstance(name, str) and name != "<lambda>" else "model"


def _check_callable_without_arguments(factory: Any) -> None:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # a builtin without a signature: just call it
        return
    try:
        signature.bind()
    except TypeError as exc:
        raise SourceError(
            f"could not call {describe(factory)} without arguments ({exc}); "
            f"pass {ACCEPTED} that needs no arguments, e.g. functools.partial(factory, ...)"
        ) from None


def build_module(factory: Any, name: str) -> nn.Module:
    """Call ``factory`` (named ``name`` in messages) without weights and check that it gave
    a module."""
    torch = require("torch", "torch")
    _check_callable_without_arguments(factory)
    # an error inside the model's own code is the user's to see
    module = call_without_weights(factory, name)
    if not isinstance(module, torch.nn.Module):
        raise SourceError(
            f"{describe(factory)} returned {describe(module)}, not an nn.Module; "
            f"expected {ACCEPTED}"
        )
    built: nn.Module = module
    return built

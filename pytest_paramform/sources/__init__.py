"""Adapters from torch objects to report rows: the only place that reads a model.

torch is imported when a source is read, never when this module is imported, so that
loading the plugin costs nothing for test suites that never take a snapshot.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Iterator, Mapping
from dataclasses import replace
from itertools import repeat
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_paramform.sources.checkpoints import (
    TensorInfo,
    check_item,
    dtype_name,
    is_checkpoint_path,
    read_safetensors,
    read_torch_checkpoint,
    short_repr,
    tensors_of_mapping,
)

if TYPE_CHECKING:
    from torch import Tensor, nn

from pytest_paramform.errors import SourceError
from pytest_paramform.forward_report import DEFAULT_DEPTH, parse_inputs
from pytest_paramform.gc_pause import gc_paused
from pytest_paramform.heavy_imports import require
from pytest_paramform.report import Alias, ParamFormReport, ParamRow
from pytest_paramform.sources.building.ladder import call_without_weights
from pytest_paramform.sources.quantized import module_order, packed_tensors
from pytest_paramform.sources.sharded import (
    FOLDER_FILES,
    checkpoint_in_folder,
    is_index_path,
    read_sharded,
)
from pytest_paramform.sources.specs import FORMS, is_spec, resolve
from pytest_paramform.torch_warnings import internal_warnings_ignored

ACCEPTED = (
    "an nn.Module, a factory that returns one (a model class, a function such as "
    f"torchvision.models.resnet50, or a lambda), a spec ({FORMS}), a state_dict, or a "
    "checkpoint path (.safetensors, .pt, .pth, .bin, an index or a save_pretrained folder)"
)


def _describe(obj: Any) -> str:
    text = repr(obj)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{type(obj).__name__} {text}"


def _dtype(tensor: Tensor, record: bool) -> str | None:
    return dtype_name(tensor) if record else None


def _check_not_lazy(torch: Any, module: nn.Module, name: str, param: Tensor) -> None:
    if torch.nn.parameter.is_lazy(param):
        raise SourceError(
            f"parameter {name!r} of {type(module).__name__} is not initialised yet "
            "(a lazy module such as nn.LazyLinear): run one forward pass with a sample "
            "input before taking its report"
        )


# Wrappers that add a prefix to every name but no parameter of their own.
WRAPPED = {
    "OptimizedModule": "_orig_mod",  # torch.compile
    "DataParallel": "module",
    "DistributedDataParallel": "module",
}
WRAPPER_PREFIXES = tuple(f"{attr}." for attr in dict.fromkeys(WRAPPED.values()))


def unwrap(module: nn.Module) -> nn.Module:
    """The model inside torch.compile and (Distributed)DataParallel wrappers, so the same
    architecture gives the same golden whichever wrapper holds it."""
    while (attr := WRAPPED.get(type(module).__name__)) is not None and hasattr(module, attr):
        module = getattr(module, attr)
    return module


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
    module = unwrap(module)
    first: dict[int, str] = {}
    rows: list[ParamRow] = []
    aliases: list[Alias] = []
    for pname, param in _named_parameters(module):
        _check_not_lazy(torch, module, pname, param)
        if id(param) in first:
            aliases.append(Alias(pname, first[id(param)]))
            continue
        first[id(param)] = pname
        shape = tuple(int(d) for d in param.shape)
        rows.append(ParamRow(pname, shape, not param.requires_grad, _dtype(param, dtype)))
    rows = _with_packed_weights(module, rows, dtype)
    recorded = _persistent_buffers(torch, module, dtype) if buffers else None
    return ParamFormReport(name, tuple(rows), tuple(aliases), recorded)


def _with_packed_weights(module: nn.Module, rows: list[ParamRow], dtype: bool) -> list[ParamRow]:
    """Rows with a quantized layer's packed weight and bias put in module order; they are
    not parameters, so they are frozen."""
    packed = packed_tensors(module)
    if not packed:
        return rows
    extra = [ParamRow(n, tuple(int(d) for d in t.shape), True, _dtype(t, dtype)) for n, t in packed]
    order = module_order(module)
    owner = [order.get(row.name.rpartition(".")[0], -1) for row in [*rows, *extra]]
    ranked = sorted(zip(owner, range(len(owner)), [*rows, *extra], strict=True))
    return [row for _, _, row in ranked]


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


def report_of_tensors(
    tensors: list[TensorInfo], ties: list[tuple[str, str]], name: str, *, dtype: bool
) -> ParamFormReport:
    """A checkpoint's report: every saved tensor is a row (buffers included).

    A prefix that a wrapper put on every name (``module.``, ``_orig_mod.``) is dropped, as
    :func:`unwrap` does for a live model.
    """
    tensors, ties = _strip_wrapper_prefix(tensors, ties)
    shapes = map(attrgetter("shape"), tensors)
    kinds = map(attrgetter("dtype"), tensors) if dtype else repeat(None)
    keys = zip(shapes, repeat(False), kinds)  # (shape, frozen, dtype): its own fields
    rows = tuple(ParamRow.trusted_rows(map(attrgetter("name"), tensors), keys, _fields))
    aliases = tuple(Alias(alias, target) for alias, target in ties)
    return ParamFormReport(name, rows, aliases, None, "checkpoint")


def _fields(key: Any) -> tuple[tuple[int, ...], bool, str | None]:
    return key  # type: ignore[no-any-return]


def _strip_wrapper_prefix(
    tensors: list[TensorInfo], ties: list[tuple[str, str]]
) -> tuple[list[TensorInfo], list[tuple[str, str]]]:
    names = [t.name for t in tensors] + [n for tie in ties for n in tie]
    for prefix in WRAPPER_PREFIXES:
        if names and all(n.startswith(prefix) for n in names):
            cut = len(prefix)
            tensors = [t._replace(name=t.name[cut:]) for t in tensors]
            ties = [(a[cut:], b[cut:]) for a, b in ties]
            return _strip_wrapper_prefix(tensors, ties)
    return tensors, ties


def report_of_checkpoint(
    path: str | os.PathLike[str], name: str | None, *, dtype: bool
) -> ParamFormReport:
    """``.safetensors`` from its header alone; ``.pt``/``.pth``/``.bin`` with weights_only."""
    path = Path(path)
    if path.is_dir():
        inside = checkpoint_in_folder(path)
        if inside is None:
            raise SourceError(
                f"is a folder without a checkpoint (looked for {', '.join(FOLDER_FILES)})",
                path=str(path),
            )
        return report_of_checkpoint(inside, name or path.absolute().name, dtype=dtype)
    if is_index_path(path):
        tensors, ties = read_sharded(path)
        label = name or path.absolute().parent.name
        return report_of_tensors(tensors, ties, label, dtype=dtype)
    label = name or path.name.split(".")[0]
    if str(path).lower().endswith(".safetensors"):
        return report_of_tensors(read_safetensors(path), [], label, dtype=dtype)
    tensors, ties = read_torch_checkpoint(path)
    return report_of_tensors(tensors, ties, label, dtype=dtype)


def is_checkpoint_folder(source: object) -> bool:
    """A path (not a spec string) that names an existing folder."""
    if isinstance(source, str) and is_spec(source):
        return False
    return isinstance(source, str | os.PathLike) and Path(source).is_dir()


def reads_checkpoint(source: object) -> bool:
    """Whether ``source`` is read as a checkpoint: a checkpoint file, an index or a
    ``save_pretrained`` folder, named by a path; a spec string never is, whatever the disk
    holds under that name (``./torchvision:x`` is a path)."""
    if isinstance(source, str) and is_spec(source):
        return False
    return is_checkpoint_path(source) or is_checkpoint_folder(source)


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
            f"could not call {_describe(factory)} without arguments ({exc}); "
            f"pass {ACCEPTED} that needs no arguments, e.g. functools.partial(factory, ...)"
        ) from None


def build_module(factory: Any) -> nn.Module:
    """Call ``factory`` without weights and check that it gave a module."""
    torch = require("torch", "torch")
    _check_callable_without_arguments(factory)
    # an error inside the model's own code is the user's to see
    module = call_without_weights(factory, factory_name(factory))
    if not isinstance(module, torch.nn.Module):
        raise SourceError(
            f"{_describe(factory)} returned {_describe(module)}, not an nn.Module; "
            f"expected {ACCEPTED}"
        )
    built: nn.Module = module
    return built


def build_report(
    source: Any,
    name: str | None = None,
    *,
    buffers: bool = False,
    dtype: bool = False,
    inputs: object = None,
    depth: int = DEFAULT_DEPTH,
) -> ParamFormReport:
    """The report of a module, a factory (built without weights), a spec string as the CLI
    takes (``torchvision:NAME``, ``hf:PATH``, ``package.module:callable``), a
    state_dict-like mapping, or a checkpoint (a file, an index or a ``save_pretrained``
    folder). ``buffers`` and ``dtype`` record more than the seed; ``inputs`` (a shape, a
    mapping of keyword to shape or (shape, dtype), or a callable) adds one forward pass on
    ``meta`` (modules down to ``depth``).

    Warnings torch raises about its own internals meanwhile are ignored; the user's code
    (a factory's body) still answers to the user's warning filters."""
    if isinstance(source, str) and not reads_checkpoint(source):
        # Outside the filter: a spec imports the user's module, and its warnings (or ours
        # about the spec, such as code shipped beside a config) are the user's to see.
        source, default = resolve(source)
        name = name or default
    with internal_warnings_ignored():
        if inputs is None:
            return _build_report(source, name, buffers=buffers, dtype=dtype)
        inputs = parse_inputs(inputs, "build_report(inputs=...)")
        module, default = _module_of(source)
        report = report_of_module(module, name or default, buffers=buffers, dtype=dtype)
        from pytest_paramform.sources.forward import run_forward

        return replace(report, forward=run_forward(unwrap(module), inputs, depth))


def _module_of(source: Any) -> tuple[nn.Module, str]:
    """The module a forward pass runs: a module as it is, or a factory's, built without
    weights; anything else holds no forward."""
    torch = require("torch", "torch")
    if isinstance(source, torch.nn.Module):
        return source, type(unwrap(source)).__name__
    if is_checkpoint_path(source) or is_checkpoint_folder(source) or isinstance(source, Mapping):
        raise SourceError(
            f"inputs need a model to run, and {_describe(source)} holds tensors only; "
            "pass the model (or its factory) to record a forward pass"
        )
    if callable(source) and not isinstance(source, torch.Tensor):
        return build_module(source), factory_name(source)
    raise SourceError(f"cannot take a report of {_describe(source)}: expected {ACCEPTED}")


def _build_report(source: Any, name: str | None, *, buffers: bool, dtype: bool) -> ParamFormReport:
    if reads_checkpoint(source):
        with gc_paused():  # no user code runs while a checkpoint is read
            return report_of_checkpoint(source, name, dtype=dtype)
    torch = require("torch", "torch")
    if isinstance(source, Mapping):
        tensors, ties = tensors_of_mapping(source)
        return report_of_tensors(tensors, ties, name or "state_dict", dtype=dtype)
    if isinstance(source, torch.nn.Module):
        module, default = source, type(unwrap(source)).__name__
    elif callable(source) and not isinstance(source, torch.Tensor):
        module, default = build_module(source), factory_name(source)
    else:
        raise SourceError(f"cannot take a report of {_describe(source)}: expected {ACCEPTED}")
    return report_of_module(module, name or default, buffers=buffers, dtype=dtype)

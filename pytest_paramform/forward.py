"""One forward pass on ``meta``: what a model computes, without weights or arithmetic.

The module is never changed: its parameters and buffers are swapped for ``meta`` stand-ins
for the pass only (``torch.func.functional_call``), so a model with real weights is
neither moved nor copied; train/eval flags are put back afterwards. Hooks record each
module's output shapes down to a depth, and ``FlopCounterMode`` counts FLOPs (2 per
multiply-add), per module and in total. torch is imported when this module is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from pytest_paramform.errors import SourceError
from pytest_paramform.forward_report import (
    ForwardInput,
    ForwardReport,
    InputSpec,
    ModuleOutput,
    Shape,
)

META = torch.device("meta")


@dataclass
class _Seen:
    """What the hooks saw of one module."""

    outputs: tuple[tuple[str, Shape], ...] = ()
    calls: int = 0
    flops: int = 0
    started: list[int] = field(default_factory=list)  # the counter at each open call


def run_forward(module: nn.Module, inputs: InputSpec, depth: int) -> ForwardReport:
    """The model's outputs, and its modules' down to ``depth``, for one pass on ``meta``
    in eval mode under ``no_grad``."""
    args, kwargs = make_arguments(inputs)
    chosen = dict(modules_to_depth(module, depth))
    seen = {name: _Seen() for name in chosen}
    counter = FlopCounterMode(display=False)
    with _eval_mode(module), torch.no_grad(), counter, _recording(chosen, seen, counter):
        torch.func.functional_call(module, _meta_state(module), tuple(args), kwargs)
    rows = tuple(
        ModuleOutput(name, s.outputs, s.calls, s.flops) for name, s in seen.items() if s.calls
    )
    total = int(counter.get_total_flops())
    return ForwardReport(_recorded_inputs(args, kwargs), depth, rows, total)


def modules_to_depth(module: nn.Module, depth: int) -> Iterator[tuple[str, nn.Module]]:
    """The model ("") and its modules whose names have at most ``depth`` parts, in model
    order."""
    for name, sub in module.named_modules():
        if name.count(".") < depth or not name:
            yield name, sub


def make_arguments(inputs: InputSpec) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments on ``meta``: empty tensors for shapes, or what a
    callable returns (called with ``meta`` as the default device; any tensor it made
    elsewhere is put there too)."""
    if callable(inputs):
        with META:
            made = inputs()
        made = _to_meta(made)
        if isinstance(made, Mapping):
            return [], dict(made)
        if isinstance(made, tuple | list):
            return list(made), {}
        return [made], {}
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for spec in inputs:
        tensor = torch.empty(spec.shape, dtype=_dtype(spec), device=META)
        if spec.positional:
            args.append(tensor)
        else:
            kwargs[spec.name] = tensor
    return args, kwargs


def _dtype(spec: ForwardInput) -> torch.dtype:
    dtype = getattr(torch, spec.dtype, None)
    if not isinstance(dtype, torch.dtype):
        raise SourceError(
            f"inputs: {spec.dtype!r} (for input {spec.name}) is not a torch dtype "
            "(float32, bfloat16, int64, bool, ...)"
        )
    return dtype


def _to_meta(value: Any) -> Any:
    return torch.utils._pytree.tree_map_only(torch.Tensor, lambda t: t.to(META), value)


def _recorded_inputs(args: list[Any], kwargs: dict[str, Any]) -> tuple[ForwardInput, ...]:
    named = [(str(i), a) for i, a in enumerate(args)] + list(kwargs.items())
    return tuple(
        ForwardInput(name, _shape(t), str(t.dtype).removeprefix("torch."))
        for name, t in named
        if isinstance(t, torch.Tensor)
    )


def _meta_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """A ``meta`` stand-in for every parameter and buffer, each tied tensor once."""
    state = {**dict(module.named_parameters()), **dict(module.named_buffers())}
    return {name: torch.empty_like(t, device=META) for name, t in state.items()}


@contextmanager
def _eval_mode(module: nn.Module) -> Iterator[None]:
    flags = [(sub, sub.training) for sub in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for sub, training in flags:
            sub.training = training


@contextmanager
def _recording(
    chosen: dict[str, nn.Module], seen: dict[str, _Seen], counter: FlopCounterMode
) -> Iterator[None]:
    """Hooks on the chosen modules: outputs after each call, and the FLOPs counted between
    a call's start and its end (its modules' included)."""
    handles = [
        hook
        for name, sub in chosen.items()
        for hook in (
            sub.register_forward_pre_hook(_start_hook(seen[name], counter)),
            sub.register_forward_hook(_output_hook(seen[name], counter)),
        )
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _start_hook(seen: _Seen, counter: FlopCounterMode) -> Callable[..., None]:
    def hook(module: nn.Module, args: Any) -> None:
        seen.started.append(int(counter.get_total_flops()))

    return hook


def _output_hook(seen: _Seen, counter: FlopCounterMode) -> Callable[..., None]:
    def hook(module: nn.Module, args: Any, output: Any) -> None:
        seen.calls += 1
        seen.flops += int(counter.get_total_flops()) - seen.started.pop()
        if seen.calls == 1:
            seen.outputs = tuple(leaves(output))

    return hook


def leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Shape]]:
    """The tensors in an output by name: "" for a lone tensor, positions in tuples and
    lists, keys in dicts and ``ModelOutput``s (joined with dots when nested); anything
    else (None, a cache object) is not a tensor and is left out."""
    if isinstance(value, torch.Tensor):
        yield prefix, _shape(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from leaves(item, _join(prefix, str(key)))
    elif isinstance(value, tuple | list):
        for index, item in enumerate(value):
            yield from leaves(item, _join(prefix, str(index)))


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _shape(tensor: torch.Tensor) -> Shape:
    return tuple(int(d) for d in tensor.shape)

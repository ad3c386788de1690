"""One forward pass on ``meta``: what a model computes, without weights or arithmetic.

The module is never changed: its parameters and buffers are swapped for stand-ins for the
pass only (see :mod:`~pytest_paramform.sources.pass_stand_ins`), so a model with real
weights is neither moved nor copied; train/eval flags are put back afterwards. Hooks record
each module's output shapes down to a depth, and
:class:`~pytest_paramform.sources.flop_counting.CountingMode` counts FLOPs with
``FlopCounterMode``'s formulas (2 per multiply-add), per module and in total.

A pass that reads values (``.item()``, ``nonzero``) cannot run on ``meta``; like a build
that reads values, it runs again with real memory (zeros where the model has no values),
under the build's memory budget, and past the budget says what to do. torch is imported
when this module is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from pytest_paramform.errors import SourceError
from pytest_paramform.forward_report import (
    ForwardInput,
    ForwardReport,
    InputSpec,
    ModuleOutput,
    Shape,
)
from pytest_paramform.sources.building.budget import AllocationBudget, BudgetExceeded
from pytest_paramform.sources.building.ladder import BUILD_MEMORY_BUDGET
from pytest_paramform.sources.flop_counting import CountingMode
from pytest_paramform.sources.pass_stand_ins import norms_keep_shape, stand_ins
from pytest_paramform.sources.tensors import dotted
from pytest_paramform.sources.torch_compat import TorchFunctionMode, tree_map_only

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
    in eval mode under ``no_grad``; again with real memory if it reads values."""
    on_meta, real = _Failure(type(module).__name__), False
    while True:  # at most twice: on meta, then with real memory
        try:
            return _recorded_pass(module, inputs, depth, real=real)
        except BudgetExceeded as exc:  # the real pass's budget; nothing else is ours
            if not real:
                raise
            raise SourceError(_over_budget_text(on_meta, exc.budget)) from None
        except Exception as exc:  # the model's own code: anything may come out of it
            failure = _located_failure(module, inputs, exc, real=real)
            if real or not _reads_values(failure.call, exc):
                raise SourceError(_failure_text(failure, exc, real=real)) from exc
            on_meta, real = failure, True


def _recorded_pass(
    module: nn.Module, inputs: InputSpec, depth: int, *, real: bool
) -> ForwardReport:
    """One pass, recorded. With real memory: the model's own real tensors as they are,
    zeros for the ones on meta and for inputs given as shapes, under the build's budget."""
    chosen = dict(modules_to_depth(module, depth))
    seen = {name: _Seen() for name in chosen}
    counter = CountingMode()
    with _budget(real):
        args, kwargs = make_arguments(inputs, real=real)
        with _pass(module, real, counter, _recording(chosen, seen, counter)):
            module(*args, **kwargs)
    rows = tuple(
        ModuleOutput(name, s.outputs, s.calls, s.flops) for name, s in seen.items() if s.calls
    )
    return ForwardReport(_recorded_inputs(args, kwargs), depth, rows, counter.total)


@contextmanager
def _pass(module: nn.Module, real: bool, *watching: Any) -> Iterator[None]:
    """Eval mode, stand-ins, ``no_grad``, the given modes and hooks, and on ``meta`` the
    norms answered without torch's Python decompositions."""
    with ExitStack() as stack:
        for context in (_eval_mode(module), stand_ins(module, real=real), torch.no_grad()):
            stack.enter_context(context)
        for context in watching:
            stack.enter_context(context)
        if not real:
            stack.enter_context(norms_keep_shape())
        yield


def _budget(real: bool) -> AbstractContextManager[Any]:
    """With real memory, the build's budget watches from the inputs on: every tensor the
    pass makes (inputs, stand-ins, activations) is counted before it is allocated."""
    return AllocationBudget(BUILD_MEMORY_BUDGET) if real else nullcontext()


def modules_to_depth(module: nn.Module, depth: int) -> Iterator[tuple[str, nn.Module]]:
    """The model ("") and its modules whose names have at most ``depth`` parts, in model
    order."""
    for name, sub in module.named_modules():
        if name.count(".") < depth or not name:
            yield name, sub


def make_arguments(inputs: InputSpec, *, real: bool = False) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments on ``meta``: empty tensors for shapes, or what a
    callable returns (called with ``meta`` as the default device; any tensor it made
    elsewhere is put there too). With ``real``, zeros for shapes, and the callable's own
    tensors as it made them."""
    if callable(inputs):
        if real:
            made = inputs()
        else:
            with META:
                made = _to_meta(inputs())
        if isinstance(made, Mapping):
            return [], dict(made)
        if isinstance(made, tuple | list):
            return list(made), {}
        return [made], {}
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for spec in inputs:
        dtype = _dtype(spec)
        if real:
            tensor = torch.zeros(spec.shape, dtype=dtype)
        else:
            tensor = torch.empty(spec.shape, dtype=dtype, device=META)
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
    return tree_map_only(torch.Tensor, lambda t: t.to(META), value)


def _recorded_inputs(args: list[Any], kwargs: dict[str, Any]) -> tuple[ForwardInput, ...]:
    named = [(str(i), a) for i, a in enumerate(args)] + list(kwargs.items())
    return tuple(
        ForwardInput(name, _shape(t), str(t.dtype).removeprefix("torch."))
        for name, t in named
        if isinstance(t, torch.Tensor)
    )


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
    chosen: dict[str, nn.Module], seen: dict[str, _Seen], counter: CountingMode
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


def _start_hook(seen: _Seen, counter: CountingMode) -> Callable[..., None]:
    def hook(module: nn.Module, args: Any) -> None:
        seen.started.append(counter.total)

    return hook


def _output_hook(seen: _Seen, counter: CountingMode) -> Callable[..., None]:
    def hook(module: nn.Module, args: Any, output: Any) -> None:
        seen.calls += 1
        seen.flops += counter.total - seen.started.pop()
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
            yield from leaves(item, dotted(prefix, str(key)))
    elif isinstance(value, tuple | list):
        for index, item in enumerate(value):
            yield from leaves(item, dotted(prefix, str(index)))


def _shape(tensor: torch.Tensor) -> Shape:
    return tuple(int(d) for d in tensor.shape)


# Calls that hand a tensor's values to Python, or make a shape from values: a meta tensor
# has no values, so these cannot run there.
_VALUE_READS = ("item", "tolist", "numpy", "__bool__", "__int__", "__float__", "__index__")
_VALUE_SHAPED = ("nonzero", "masked_select", "unique", "bincount", "repeat_interleave")


@dataclass
class _Failure:
    """Where a failing pass of ``model`` (its class's name) failed: the modules open at
    that moment, each as its name and its class's name, and the torch call."""

    model: str
    stack: list[tuple[str, str]] = field(default_factory=list)
    call: str | None = None
    where: list[tuple[str, str]] = field(default_factory=list)


class _FailedCall(TorchFunctionMode):
    """Notes the first torch call that raised, and which modules were running then. Used
    only to explain a pass that failed, so a pass that runs pays nothing for it."""

    def __init__(self, failure: _Failure) -> None:
        super().__init__()
        self.failure = failure

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        try:
            return func(*args, **(kwargs or {}))
        except Exception:
            if self.failure.call is None:
                self.failure.call = _call_name(func)
                self.failure.where = list(self.failure.stack)
            raise


def _call_name(func: Any) -> str:
    """``Tensor.item``, ``torch.nonzero``: how the model's code spelled the call."""
    name = getattr(func, "__name__", repr(func))
    owner = getattr(func, "__objclass__", None) or getattr(func, "__self__", None)
    if owner is torch.Tensor or getattr(owner, "__name__", "") in ("TensorBase", "Tensor"):
        return f"Tensor.{name}"
    module = getattr(func, "__module__", None) or "torch"
    return f"{'torch' if module.startswith('torch') else module}.{name}"


def _located_failure(
    module: nn.Module, inputs: InputSpec, exc: Exception, *, real: bool
) -> _Failure:
    """The pass runs again, watched, to name the deepest module that was running and the
    torch call that failed."""
    failure = _Failure(type(module).__name__)
    try:
        with _budget(real):
            args, kwargs = make_arguments(inputs, real=real)
            with _pass(module, real, _module_stack(module, failure), _FailedCall(failure)):
                module(*args, **kwargs)
    except (Exception, BudgetExceeded):  # the same failure again, now located
        pass
    return failure


def _where(failure: _Failure) -> str:
    """``in layer2.0 (Gate) at Tensor.item()``: the deepest module running, and the call
    (a module whose own code raised is still on the stack: no hook closed it)."""
    running = failure.where if failure.call else failure.stack
    deepest, kind = running[-1] if running else ("", failure.model)
    where = f"in {deepest} ({kind})" if deepest else f"in the model's own forward ({kind})"
    return where + (f" at {failure.call}()" if failure.call else "")


def _failure_text(failure: _Failure, exc: Exception, *, real: bool = False) -> str:
    first = str(exc).splitlines()[0] if str(exc) else ""
    first = first if len(first) <= 160 else first[:157] + "..."
    text = (
        f"the forward pass of {failure.model} failed {_where(failure)}: "
        f"{type(exc).__name__}: {first}"
    )
    if real:
        text += (
            " (it ran with real memory, because it reads values: zeros where the model "
            "has no weights, zeros for inputs given as shapes; pass inputs= a callable "
            "that makes the values it needs)"
        )
    return text


def _over_budget_text(failure: _Failure, budget: int) -> str:
    return (
        f"the forward pass of {failure.model} reads values {_where(failure)}, and a forward "
        f"pass on meta has none (no weights, no data), so it must run with real memory, and "
        f"that pass would make more than {budget / 1024**3:.1f} GiB of tensors (counted as "
        "they are made, freed ones included). Record the forward pass of a part that does "
        "not read values (pass that submodule), use smaller inputs, or leave out inputs= "
        "for this model"
    )


def _reads_values(call: str | None, exc: Exception) -> bool:
    name = (call or "").rpartition(".")[2]
    return name in _VALUE_READS + _VALUE_SHAPED or "meta" in str(exc).lower()


@contextmanager
def _module_stack(module: nn.Module, failure: _Failure) -> Iterator[None]:
    """Keeps ``failure.stack`` as the modules whose forward is running, each as its name
    and its class's name."""

    def enter(name: str) -> Callable[..., None]:
        return lambda sub, _args: failure.stack.append((name, type(sub).__name__))

    def leave(_module: nn.Module, _args: Any, _output: Any) -> None:
        failure.stack.pop()

    handles = []
    for name, sub in module.named_modules():
        handles.append(sub.register_forward_pre_hook(enter(name)))
        handles.append(sub.register_forward_hook(leave))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()

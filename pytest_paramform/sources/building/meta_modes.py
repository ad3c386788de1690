"""Two views of every torch call made while a model is built for a report.

:class:`BigTensorsOnMeta` keeps a build from allocating what it would throw away: a fresh
tensor above :data:`BIG_NUMEL` elements (a fused ``num_experts x ...`` expert weight, a
``torch.zeros(16, 5120, 16384)`` buffer) is made on ``meta`` instead, while the small
tensor math some builders do (regnet widths, swin's relative position tables) stays real.

Where meta and real tensors meet, shapes carry on and values do not:

- a call that mixes meta parameters with real CPU tensors (a sample image run through a
  backbone to learn its output size) is made again all on ``meta``;
- a meta tensor moved to the CPU stays on ``meta``;
- a write of a ``meta`` result into a real tensor is skipped (swin fills a buffer from a
  parameter's device); the tensor is remembered as holding unknown values, and a later
  read of them fails like a read on ``meta``, so no report is built on made-up values.

Any error raised by a call with a ``meta`` tensor among its arguments is marked: that is
how a build that *read a value* is told apart from a build that is simply broken, whatever
torch's wording.

:class:`AllocationBudget` is for the other case, a build that must run with real memory:
it adds up the bytes of the tensors the build makes and stops it, before allocating, once
they would pass a budget, so that a CI machine is never pushed into swap or OOM-killed.
"""

from __future__ import annotations

import contextlib
import math
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pytest_paramform.errors import chain
from pytest_paramform.heavy_imports import require

if TYPE_CHECKING:
    from torch import Tensor

# 2**20 elements: 4 MiB of float32. A build seldom needs the values of a larger fresh tensor
# (one that does fails on meta and is built again with real memory); smaller ones are often
# read (widths, tables, masks computed from the config) and stay real.
BIG_NUMEL = 1 << 20

_CONSTRUCTORS = (
    "empty",
    "empty_strided",
    "zeros",
    "ones",
    "full",
    "rand",
    "randn",
    "randint",
    "randperm",
    "arange",
    "linspace",
    "logspace",
    "eye",
)
_TENSOR_CONSTRUCTORS = ("new_empty", "new_zeros", "new_ones", "new_full")
# Constructors whose positional arguments are the size (``zeros(2, 3)``, ``full((2, 3), x)``),
# so the size is read without making anything.
_SIZED = ("empty", "empty_strided", "zeros", "ones", "full", "rand", "randn")
_LIKE = ("empty_like", "zeros_like", "ones_like", "full_like", "rand_like", "randn_like")

# Writing a tensor computed from meta parameters into a real buffer (swin's relative
# position tables are filled from ``logit_scale.device``): there is no value to write, and
# the build only needs the buffer's shape, so the write is skipped.
_FILLS = ("copy_", "__setitem__")

# Moving a meta tensor to the CPU (``pe.to(x.device)`` after building a big table): there
# are no values to copy, so the tensor stays on meta, converted to the dtype asked for; a
# later read of it fails on meta and the build is retried with real memory.
_MOVES = ("to", "cpu")

_IN_PLACE_DUNDERS = frozenset(
    f"__i{op}__"
    for op in ("add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "pow", "and",
               "or", "xor", "lshift", "rshift")
) | {"__setitem__"}

# Calls that hand a tensor's values to Python.
_VALUE_READS = (
    "item", "tolist", "numpy", "__bool__", "__int__", "__float__", "__index__", "__complex__"
)

_META_MARK = "_paramform_meta_failure"


def _constructors(names: Iterable[str], owner: Any) -> frozenset[Callable[..., Any]]:
    return frozenset(getattr(owner, n) for n in names if hasattr(owner, n))


def _tensors(torch: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> list[Tensor]:
    leaves, _ = torch.utils._pytree.tree_flatten((args, dict(kwargs)))
    return [leaf for leaf in leaves if isinstance(leaf, torch.Tensor)]


def caused_by_meta(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error it was raised from) came out of a torch call on a
    ``meta`` tensor while :class:`BigTensorsOnMeta` watched."""
    return any(getattr(error, _META_MARK, False) for error in chain(exc))


def _on_meta_marker() -> BaseException:
    """The cause given to a read of unknown values, marked as a failure caused by meta."""
    cause = RuntimeError("the values came from a meta tensor")
    setattr(cause, _META_MARK, True)
    return cause


def _mark_meta_failure(torch: Any, exc: BaseException, args: Any, kwargs: Any) -> None:
    try:
        on_meta = any(t.device.type == "meta" for t in _tensors(torch, args, kwargs))
    except Exception:  # an argument torch itself cannot flatten: leave the error as it is
        return
    if on_meta:
        with contextlib.suppress(AttributeError):  # an exception type with __slots__
            setattr(exc, _META_MARK, True)


def _fills_from_meta(torch: Any, args: tuple[Any, ...]) -> bool:
    """``real.copy_(meta[, non_blocking])`` or ``real[index] = meta``."""
    if len(args) < 2 or not isinstance(args[0], torch.Tensor) or args[0].device.type == "meta":
        return False
    source = args[2] if len(args) == 3 and not isinstance(args[2], bool) else args[1]
    return isinstance(source, torch.Tensor) and source.device.type == "meta"


def _all_on_meta(
    torch: Any, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """A call that failed because it mixed meta parameters with real CPU tensors (a model
    running a sample image through its backbone to learn a feature size, as timm's hybrid
    embeddings do): made again with every tensor on meta, which gives the shapes without
    values. None when that does not apply: an in-place call (its real target would be left
    unchanged without a word), ``out=``, or no mix."""
    name = getattr(func, "__name__", "")
    in_place = (name.endswith("_") and not name.endswith("__")) or name in _IN_PLACE_DUNDERS
    if in_place or "out" in kwargs:
        return None
    try:
        tensors = _tensors(torch, args, kwargs)
        devices = {t.device.type for t in tensors}
    except Exception:
        return None
    if devices != {"meta", "cpu"}:
        return None

    def to_meta(value: Any) -> Any:
        return value.to("meta") if isinstance(value, torch.Tensor) else value

    moved_args, moved_kwargs = torch.utils._pytree.tree_map(to_meta, (args, kwargs))
    try:
        return func(*moved_args, **moved_kwargs)
    except Exception:
        return None


def _leaves_meta(torch: Any, args: tuple[Any, ...]) -> bool:
    return bool(args) and isinstance(args[0], torch.Tensor) and args[0].device.type == "meta"


def _kept_on_meta(torch: Any, cpu: bool, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``meta.to(...)`` / ``meta.cpu()``: the dtype changed as asked, the device kept."""
    tensor = args[0]
    if cpu:
        return tensor
    device, dtype, _, _ = torch._C._nn._parse_to(*args[1:], **kwargs)
    if device is not None and device.type not in ("cpu", "meta"):
        return tensor.to(*args[1:], **kwargs)  # an accelerator: torch says what it says
    return tensor if dtype is None or dtype == tensor.dtype else tensor.to(dtype=dtype)


def _on_host(kwargs: Mapping[str, Any]) -> bool:
    """No device asked for, or the CPU: where the build would allocate real memory."""
    device = kwargs.get("device")
    return device is None or str(device).split(":")[0] == "cpu"


def _base_mode() -> type:
    torch = require("torch", "torch")
    mode: type = torch.overrides.TorchFunctionMode
    return mode


class BigTensorsOnMeta(_base_mode()):  # type: ignore[misc]
    """See the module docstring. Enter it with ``with BigTensorsOnMeta():``."""

    def __init__(self) -> None:
        super().__init__()
        torch = require("torch", "torch")
        self._torch = torch
        self._methods = _constructors(_TENSOR_CONSTRUCTORS, torch.Tensor)
        self._fresh = _constructors(_CONSTRUCTORS, torch) | self._methods
        self._sized = _constructors(_SIZED, torch) | self._methods
        self._fills = _constructors(_FILLS, torch.Tensor)
        self._reads = _constructors(_VALUE_READS, torch.Tensor)
        self._moves = _constructors(_MOVES, torch.Tensor)
        # id -> weak reference: tensors compare elementwise, so no set or WeakSet of them
        self._unknown: dict[int, weakref.ref[Any]] = {}
        self._watched = self._fresh | self._fills | self._moves

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        try:
            if self._unknown and self._reaches_unknown(args, kwargs):
                return self._spread_unknown(func, args, kwargs)
            if func not in self._watched:  # nearly every call: property reads, math
                return func(*args, **kwargs)
            if func in self._fresh:
                sized, method = func in self._sized, func in self._methods
                big = _big_on_meta(func, sized, method, args, kwargs)
                if big is not None:
                    return big
            if func in self._fills and _fills_from_meta(self._torch, args):
                self._remember_unknown(args[0])
                return args[0]
            if func in self._moves and _leaves_meta(self._torch, args):
                return _kept_on_meta(self._torch, func is self._torch.Tensor.cpu, args, kwargs)
            return func(*args, **kwargs)
        except Exception as exc:
            together = _all_on_meta(self._torch, func, args, kwargs)
            if together is not None:
                return together
            _mark_meta_failure(self._torch, exc, args, kwargs)
            raise

    def _remember_unknown(self, tensor: Any) -> None:
        key = id(tensor)
        self._unknown[key] = weakref.ref(tensor, lambda _: self._unknown.pop(key, None))

    def _reaches_unknown(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        for tensor in _tensors(self._torch, args, kwargs):
            ref = self._unknown.get(id(tensor))
            if ref is not None and ref() is tensor:
                return True
        return False

    def _spread_unknown(
        self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """A tensor whose meta write was skipped holds no real values: reading one fails
        as a read on ``meta`` would (so the build is retried with real memory), and what
        is computed from it holds no real values either."""
        if func in self._reads:
            raise RuntimeError(
                f"{getattr(func, '__name__', func)}() read a tensor that was written from a "
                "meta tensor while the model was built"
            ) from _on_meta_marker()
        result = func(*args, **kwargs)
        for tensor in _tensors(self._torch, (result,), {}):
            self._remember_unknown(tensor)
        return result


def _big_on_meta(
    func: Callable[..., Any],
    sized: bool,
    method: bool,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """The tensor a constructor call asks for, made on ``meta``, when it would be made on
    the host with more than :data:`BIG_NUMEL` elements; None otherwise (then the call is
    made as it is). ``sized``: the arguments are the size; ``method``: ``Tensor.new_*``."""
    if "out" in kwargs or not _on_host(kwargs):
        return None
    numel = _requested_numel(method, args) if sized else None
    if numel is not None and numel <= BIG_NUMEL:
        return None
    probe = _meta_probe(func, args, kwargs)
    return probe if probe is not None and probe.numel() > BIG_NUMEL else None


def _requested_numel(method: bool, args: tuple[Any, ...]) -> int | None:
    """Elements asked for by ``torch.zeros(2, 3)``, ``torch.ones((2, 3))``,
    ``t.new_zeros((2, 3))``, read from the arguments; None when they do not say it plainly
    (then the call is measured on ``meta``)."""
    size = args[1:] if method else args
    if size and all(type(d) is int for d in size):  # zeros(2, 3): the usual form
        return int(math.prod(size))
    if len(size) == 1 and isinstance(size[0], tuple | list):
        size = tuple(size[0])
    elif size and not all(type(d) is int for d in size) and isinstance(size[0], tuple | list):
        size = tuple(size[0])  # torch.full((2, 3), fill_value)
    if not size or not all(type(d) is int for d in size):
        return None
    return int(math.prod(size))


def _meta_probe(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The same call on ``meta`` (no memory, no values), or None when it cannot be made
    there (a CPU generator, an argument only the CPU takes)."""
    try:
        return func(*args, **{**kwargs, "device": "meta"})
    except Exception:
        return None


def big_constructors_on_meta(torch: Any) -> list[tuple[Any, str, Callable[..., Any]]]:
    """Stand-ins for the constructors (``torch.empty``, ``torch.zeros``, ...,
    ``Tensor.new_zeros``) that make a tensor above :data:`BIG_NUMEL` elements on ``meta``:
    the cheap first attempt at a build, with no cost on any other torch call. The
    watching :class:`BigTensorsOnMeta` is for the builds that fail under it."""
    swaps: list[tuple[Any, str, Callable[..., Any]]] = []
    for owner, names, method in (
        (torch, _CONSTRUCTORS, False),
        (torch.Tensor, _TENSOR_CONSTRUCTORS, True),
    ):
        for name in names:
            if hasattr(owner, name):
                swaps.append((owner, name, _meta_if_big(getattr(owner, name), name, method)))
    return swaps


def _meta_if_big(func: Callable[..., Any], name: str, method: bool) -> Callable[..., Any]:
    sized = name in _SIZED or method

    def constructor(*args: Any, **kwargs: Any) -> Any:
        big = _big_on_meta(func, sized, method, args, kwargs)
        return big if big is not None else func(*args, **kwargs)

    constructor.__name__ = name
    return constructor


class BudgetExceeded(BaseException):
    """A build with real memory would pass its budget; raised before the allocation.

    A BaseException, like KeyboardInterrupt, so that a model's own ``except Exception``
    cannot swallow it and build on."""

    def __init__(self, used: int, budget: int) -> None:
        self.used, self.budget = used, budget
        super().__init__(f"{used} bytes of {budget}")


def nbytes(tensor: Tensor) -> int:
    return int(tensor.numel()) * int(tensor.element_size())


class AllocationBudget(_base_mode()):  # type: ignore[misc]
    """See the module docstring. Fresh tensors (constructors, ``*_like``, ``new_*``) are
    measured on ``meta`` before they are made; any other call's new, non-view results
    are counted after it returns. Memory freed meanwhile is not subtracted: the count is
    an upper bound, so the budget errs on the side of the machine."""

    def __init__(self, budget: int) -> None:
        super().__init__()
        torch = require("torch", "torch")
        self._torch = torch
        self.budget = budget
        self.used = 0
        self._fresh = (
            _constructors(_CONSTRUCTORS, torch)
            | _constructors(_LIKE, torch)
            | _constructors(_TENSOR_CONSTRUCTORS, torch.Tensor)
        )

    def _spend(self, amount: int) -> None:
        if self.used + amount > self.budget:
            raise BudgetExceeded(self.used + amount, self.budget)
        self.used += amount

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        torch = self._torch
        if func in self._fresh and "out" not in kwargs and _on_host(kwargs):
            probe = _meta_probe(func, args, kwargs)
            if probe is not None:
                self._spend(nbytes(probe))
            return func(*args, **kwargs)
        result = func(*args, **kwargs)
        if isinstance(result, torch.Tensor) and result.device.type != "meta":
            inputs = _tensors(torch, args, kwargs)
            if not any(result is t for t in inputs) and not result._is_view():
                self._spend(nbytes(result))
        return result

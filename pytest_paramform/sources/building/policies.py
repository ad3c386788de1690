"""What a watched build does where meta and real tensors meet: one policy per function.

When the cheap build fails, it runs again with every torch call watched
(:class:`~pytest_paramform.sources.building.meta_mode.BigTensorsOnMeta`). Where meta and
real tensors meet, shapes carry on and values do not; each rule of that is one policy here:

- :func:`big_fresh_on_meta`: a fresh tensor too big to be tensor math is made on ``meta``;
- :class:`UnknownValues` and :func:`skip_fill_from_meta`: a write of a ``meta`` result into a
  real tensor is skipped, and a later read of the values it should hold fails like a read
  on ``meta``, so no report is built on made-up values;
- :func:`keep_on_meta`: a meta tensor moved to the CPU stays on ``meta``;
- :func:`all_on_meta`: a call that failed because it mixed meta and CPU tensors is made
  again all on ``meta``;
- :func:`mark_meta_failure`: any other error from a call with a ``meta`` tensor among its
  arguments is marked (:func:`caused_by_meta`): that is how a build that *read a value* is
  told apart from a build that is simply broken, whatever torch's wording.

A policy takes the call (``func, args, kwargs``) and answers with its result, or None when
the call is not its concern. Importing this module does not import torch.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pytest_paramform.errors import chain
from pytest_paramform.heavy_imports import require
from pytest_paramform.sources.building.constructors import big_on_meta, functions
from pytest_paramform.sources.torch_compat import tensors_in, to_arguments, tree_map

if TYPE_CHECKING:
    from torch import Tensor

Call = Callable[..., Any]
Policy = Callable[[Call, tuple[Any, ...], dict[str, Any]], Any]

# Writing a tensor computed from meta parameters into a real buffer (swin's relative
# position tables are filled from ``logit_scale.device``).
FILLS = ("copy_", "__setitem__")
# Moving a meta tensor to the CPU (``pe.to(x.device)`` after building a big table).
MOVES = ("to", "cpu")
# Calls that hand a tensor's values to Python.
VALUE_READS = (
    "item", "tolist", "numpy", "__bool__", "__int__", "__float__", "__index__", "__complex__"
)

_IN_PLACE_DUNDERS = frozenset(
    f"__i{op}__"
    for op in ("add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "pow", "and",
               "or", "xor", "lshift", "rshift")
) | {"__setitem__"}

_META_MARK = "_paramform_meta_failure"


def _torch() -> Any:
    return require("torch", "torch")


def _on_meta(value: Any) -> bool:
    return isinstance(value, _torch().Tensor) and value.device.type == "meta"


def big_fresh_on_meta(*, sized: bool, method: bool) -> Policy:
    """The policy for one constructor: a fresh tensor above ``BIG_NUMEL`` elements made on
    ``meta`` instead of the host; a smaller one is made as asked (its values may be read).
    ``sized``: the arguments are the size; ``method``: a ``Tensor.new_*`` method."""

    def policy(func: Call, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Tensor | None:
        return big_on_meta(func, sized, method, args, kwargs)

    return policy


class UnknownValues:
    """The real tensors whose values are unknown because a write from ``meta`` into them was
    skipped, and everything computed from them. Held by weak reference, by id: tensors
    compare elementwise, so no set or WeakSet of them."""

    def __init__(self) -> None:
        self.tensors: dict[int, weakref.ref[Any]] = {}
        self._reads = functions(VALUE_READS, _torch().Tensor)

    def remember(self, tensor: Tensor) -> None:
        key = id(tensor)
        self.tensors[key] = weakref.ref(tensor, lambda _: self.tensors.pop(key, None))

    def reached_by(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Whether a call's arguments include a tensor of unknown values."""
        for tensor in tensors_in(args, kwargs):
            ref = self.tensors.get(id(tensor))
            if ref is not None and ref() is tensor:
                return True
        return False

    def spread(self, func: Call, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A call that reaches unknown values: reading them fails as a read on ``meta``
        would (so the build is retried with real memory), and what is computed from them
        is unknown too."""
        if func in self._reads:
            raise RuntimeError(
                f"{getattr(func, '__name__', func)}() read a tensor that was written from a "
                "meta tensor while the model was built"
            ) from _meta_marker()
        result = func(*args, **kwargs)
        for tensor in tensors_in((result,), {}):
            self.remember(tensor)
        return result


def skip_fill_from_meta(unknown: UnknownValues) -> Policy:
    """The policy for ``real.copy_(meta)`` and ``real[index] = meta``: there is no value to
    write and the build only needs the real tensor's shape, so the write is skipped and the
    tensor remembered in ``unknown``."""

    def policy(func: Call, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Tensor | None:
        if len(args) < 2 or not isinstance(args[0], _torch().Tensor) or _on_meta(args[0]):
            return None
        source = args[2] if len(args) == 3 and not isinstance(args[2], bool) else args[1]
        if not _on_meta(source):
            return None
        unknown.remember(args[0])
        target: Tensor = args[0]
        return target

    return policy


def keep_on_meta(func: Call, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Tensor | None:
    """``meta.to(...)`` and ``meta.cpu()``: there are no values to copy, so the tensor stays
    on ``meta``, in the dtype asked for; a later read of it fails on ``meta`` and the build
    is retried with real memory. A move to an accelerator is left to torch."""
    if not args or not _on_meta(args[0]):
        return None
    tensor: Tensor = args[0]
    if func is _torch().Tensor.cpu:
        return tensor
    device, dtype = to_arguments(args[1:], kwargs)
    if device is not None and device.type not in ("cpu", "meta"):
        return None
    return tensor if dtype is None or dtype == tensor.dtype else tensor.to(dtype=dtype)


def all_on_meta(func: Call, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """For a call that failed: when it mixed meta parameters with real CPU tensors (a model
    running a sample image through its backbone to learn a feature size, as timm's hybrid
    embeddings do), its result made again with every tensor on ``meta``, which gives the
    shapes without values. None when that does not apply: an in-place call (its real target
    would be left unchanged without a word), ``out=``, or no mix."""
    name = getattr(func, "__name__", "")
    in_place = (name.endswith("_") and not name.endswith("__")) or name in _IN_PLACE_DUNDERS
    if in_place or "out" in kwargs:
        return None
    try:
        devices = {t.device.type for t in tensors_in(args, kwargs)}
    except Exception:
        return None
    if devices != {"meta", "cpu"}:
        return None
    torch = _torch()

    def to_meta(value: Any) -> Any:
        return value.to("meta") if isinstance(value, torch.Tensor) else value

    moved_args, moved_kwargs = tree_map(to_meta, (args, kwargs))
    try:
        return func(*moved_args, **moved_kwargs)
    except Exception:
        return None


def mark_meta_failure(exc: BaseException, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Marks ``exc`` as caused by ``meta`` when the failed call had a ``meta`` tensor among
    its arguments; :func:`caused_by_meta` reads the mark."""
    try:
        on_meta = any(t.device.type == "meta" for t in tensors_in(args, kwargs))
    except Exception:  # an argument torch itself cannot flatten: leave the error as it is
        return
    if on_meta:
        with contextlib.suppress(AttributeError):  # an exception type with __slots__
            setattr(exc, _META_MARK, True)


def caused_by_meta(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error it was raised from) came out of a torch call on a
    ``meta`` tensor while a build was watched."""
    return any(getattr(error, _META_MARK, False) for error in chain(exc))


def _meta_marker() -> BaseException:
    """The cause given to a read of unknown values, marked as a failure caused by meta."""
    cause = RuntimeError("the values came from a meta tensor")
    setattr(cause, _META_MARK, True)
    return cause

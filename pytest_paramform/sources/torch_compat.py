"""Every assumption paramform makes about torch's private internals, in one place.

Building a model on ``meta`` and reading tied checkpoints needs a few names torch does not
publish: its pytree (the tensors among a call's nested arguments), how ``Tensor.to`` parses
its arguments, a switch that hides calls from ``__torch_function__``, whether a tensor is a
view, which storage a tensor lives in, and how quantized layers and ``torch.compile`` keep
their weights. Each is reached through this module only, so a torch upgrade is this file
to read; tests/test_torch_compat.py pins one test to each assumption.

Importing this module does not import torch (the plugin loads it on every pytest start):
torch is imported on the first call.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pytest_paramform.heavy_imports import require

if TYPE_CHECKING:
    import torch
    from torch.overrides import TorchFunctionMode as TorchFunctionMode
    from torch.utils._python_dispatch import TorchDispatchMode as TorchDispatchMode

# How torch's quantized modules (``torch.ao.nn.quantized``) keep their weights: packed in a
# ``_packed_params`` object, which their ``state_dict`` saves under these keys.
QUANTIZED_MODULES = "torch.ao.nn.quantized"
PACKED_PARAMS = "_packed_params"
PACKED_TUPLE = f"{PACKED_PARAMS}._packed_params"  # Linear: one (weight, bias) tuple
PACKED_WEIGHT = f"{PACKED_PARAMS}._packed_weight"  # Embedding / EmbeddingBag
PACKED_DTYPE = f"{PACKED_PARAMS}.dtype"

# The attribute under which ``torch.compile``'s ``OptimizedModule`` holds the model.
COMPILED_MODEL = "_orig_mod"


def __getattr__(name: str) -> Any:
    """``TorchFunctionMode``, the base of every mode here, looked up on first use so that
    importing this module imports no torch."""
    if name == "TorchFunctionMode":
        return _torch().overrides.TorchFunctionMode
    if name == "TorchDispatchMode":  # the base of the forward pass's FLOP counter
        return require("torch.utils._python_dispatch", "torch").TorchDispatchMode
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _torch() -> ModuleType:
    return require("torch", "torch")


def tensors_in(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> list[torch.Tensor]:
    """The tensors among a call's arguments, however nested in tuples, lists and dicts,
    found as torch itself finds them."""
    torch = _torch()
    leaves, _ = torch.utils._pytree.tree_flatten((args, dict(kwargs)))
    return [leaf for leaf in leaves if isinstance(leaf, torch.Tensor)]


def tree_map(function: Callable[[Any], Any], value: Any) -> Any:
    """``value`` with every leaf replaced by ``function(leaf)``, its nesting kept."""
    return _torch().utils._pytree.tree_map(function, value)


def tree_map_only(kind: type, function: Callable[[Any], Any], value: Any) -> Any:
    """``value`` with every leaf of type ``kind`` replaced by ``function(leaf)``."""
    return _torch().utils._pytree.tree_map_only(kind, function, value)


def to_arguments(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[torch.device | None, torch.dtype | None]:
    """The device and dtype a ``Tensor.to(*args, **kwargs)`` call asks for (None: the
    tensor's own), parsed as torch parses them: ``to(torch.half)``, ``to("cpu")``,
    ``to(other)``, ``to(device=..., dtype=...)``."""
    device, dtype, _, _ = _torch()._C._nn._parse_to(*args, **kwargs)
    return device, dtype


def torch_function_disabled() -> AbstractContextManager[None]:
    """A block whose torch calls no ``__torch_function__`` sees, neither an active mode
    nor a tensor subclass: torch's own checks made past a build mode. An object, not a
    generator, since a build enters it once per parameter."""
    disabled: AbstractContextManager[None] = _torch()._C.DisableTorchFunction()
    return disabled


def is_view(tensor: torch.Tensor) -> bool:
    """Whether ``tensor`` shares the memory of another tensor it was made from."""
    return bool(tensor._is_view())


def storage_key(tensor: torch.Tensor) -> int:
    """The C++ object of the storage ``tensor`` lives in. Not its data pointer: every
    ``meta`` tensor has data pointer 0, and tied weights must be told apart there too."""
    return int(tensor.untyped_storage()._cdata)


def flop_formulas() -> dict[Any, Callable[..., int]]:
    """``FlopCounterMode``'s formulas by operation (``aten.mm``, ``aten.convolution``, ...),
    each called through :func:`flop_count`."""
    counter = require("torch.utils.flop_counter", "torch").FlopCounterMode(display=False)
    formulas: dict[Any, Callable[..., int]] = dict(counter.flop_registry)
    # On the CPU (a pass that had to run with real memory), attention runs a kernel with
    # no formula: it gets the formula of the same attention elsewhere, so that it is
    # counted as on meta (whose math path counts its two matmuls) rather than as zero.
    aten = _torch().ops.aten
    flash = formulas.get(aten._scaled_dot_product_flash_attention)
    if flash is not None and hasattr(aten, "_scaled_dot_product_flash_attention_for_cpu"):
        formulas.setdefault(aten._scaled_dot_product_flash_attention_for_cpu, flash)
    return formulas


def has_composite_kernel(func: Any) -> bool:
    """Whether ``func.decompose`` would decompose it (``FlopCounterMode`` tries it on every
    operation without a formula; the answer is remembered per operation here)."""
    torch = _torch()
    key = torch._C.DispatchKey.CompositeImplicitAutograd
    return key in func.py_kernels or bool(
        torch._C._dispatch_has_kernel_for_dispatch_key(func.name(), key)
    )


@functools.cache
def _flop_out_keyword() -> str:
    """How a formula is handed the operation's result: ``out_val=`` (torch >= 2.4's
    ``FlopCounterMode``) or ``out=`` (torch 2.2), read from torch's own formula wrapper."""
    wrapper = require("torch.utils.flop_counter", "torch").shape_wrapper(lambda *a, **k: 0)
    names = inspect.signature(wrapper, follow_wrapped=False).parameters
    return "out_val" if "out_val" in names else "out"


def flop_count(
    formula: Callable[..., int], args: tuple[Any, ...], kwargs: dict[str, Any], out: Any
) -> int:
    """The FLOPs ``formula`` (one of :func:`flop_formulas`) counts for one call, called as
    ``FlopCounterMode`` calls it."""
    return int(formula(*args, **kwargs, **{_flop_out_keyword(): out}))


def op_schema(func: Any) -> Any:
    """An aten operation's schema (its arguments, returns, aliasing and mutability)."""
    return func._schema


def overload_packet(func: Any) -> Any:
    """The operation ``func`` is an overload of (``aten.mm`` for ``aten.mm.default``): the
    key of ``flop_formulas``."""
    return func._overloadpacket


def module_tables(module: torch.nn.Module) -> tuple[dict[str, Any], dict[str, Any]]:
    """A module's own parameter and buffer tables, where ``getattr`` finds them: a forward
    pass swaps stand-ins in and out there (cheaper than ``functional_call``'s accessor)."""
    return module._parameters, module._buffers

"""The torch functions that make a fresh tensor, and stand-ins that make a big one on meta.

A build seldom needs the values of a big fresh tensor (a fused ``num_experts x ...`` expert
weight, a ``torch.zeros(16, 5120, 16384)`` buffer), and allocating one can take more memory
than the machine has; small ones are often read (widths, tables, masks computed from the
config) and must stay real. So a constructor call above :data:`BIG_NUMEL` elements is made
on ``meta``. Its size is read from the arguments when they say it plainly, else measured by
making the same call on ``meta``, which costs no memory.

:func:`big_constructors_on_meta` gives stand-ins for the cheap first attempt at a build;
the watched attempt (:mod:`~pytest_paramform.sources.building.meta_mode`) and the budget
(:mod:`~pytest_paramform.sources.building.budget`) use the same tables and measurements.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import Tensor

    from pytest_paramform.sources.building.stand_ins import Swap

# 2**20 elements: 4 MiB of float32. A build seldom needs the values of a larger fresh tensor
# (one that does fails on meta and is built again with real memory); smaller ones are often
# read (widths, tables, masks computed from the config) and stay real.
BIG_NUMEL = 1 << 20

CONSTRUCTORS = (
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
TENSOR_CONSTRUCTORS = ("new_empty", "new_zeros", "new_ones", "new_full")
# Constructors whose positional arguments are the size (``zeros(2, 3)``, ``full((2, 3), x)``),
# so the size is read without making anything.
SIZED = ("empty", "empty_strided", "zeros", "ones", "full", "rand", "randn")
LIKE = ("empty_like", "zeros_like", "ones_like", "full_like", "rand_like", "randn_like")


def functions(names: Iterable[str], owner: Any) -> frozenset[Callable[..., Any]]:
    """``owner``'s functions of those names; a name this torch lacks is left out."""
    return frozenset(getattr(owner, n) for n in names if hasattr(owner, n))


def on_host(kwargs: Mapping[str, Any]) -> bool:
    """No device asked for, or the CPU: where the build would allocate real memory."""
    device = kwargs.get("device")
    return device is None or str(device).split(":")[0] == "cpu"


def meta_probe(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> Tensor | None:
    """The same call on ``meta`` (no memory, no values), or None when it cannot be made
    there (a CPU generator, an argument only the CPU takes)."""
    try:
        probe: Tensor = func(*args, **{**kwargs, "device": "meta"})
    except Exception:
        return None
    return probe


def requested_numel(method: bool, args: tuple[Any, ...]) -> int | None:
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


def big_on_meta(
    func: Callable[..., Any],
    sized: bool,
    method: bool,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
) -> Tensor | None:
    """The tensor a constructor call asks for, made on ``meta``, when it would be made on
    the host with more than :data:`BIG_NUMEL` elements; None otherwise (then the call is
    made as it is). ``sized``: the arguments are the size; ``method``: ``Tensor.new_*``."""
    if "out" in kwargs or not on_host(kwargs):
        return None
    numel = requested_numel(method, args) if sized else None
    if numel is not None and numel <= BIG_NUMEL:
        return None
    probe = meta_probe(func, args, kwargs)
    return probe if probe is not None and probe.numel() > BIG_NUMEL else None


def big_constructors_on_meta(torch: Any) -> list[Swap]:
    """Stand-ins for the constructors (``torch.empty``, ``torch.zeros``, ...,
    ``Tensor.new_zeros``) that make a tensor above :data:`BIG_NUMEL` elements on ``meta``:
    the cheap first attempt at a build, with no cost on any other torch call."""
    swaps: list[Swap] = []
    for owner, names, method in (
        (torch, CONSTRUCTORS, False),
        (torch.Tensor, TENSOR_CONSTRUCTORS, True),
    ):
        for name in names:
            if hasattr(owner, name):
                swaps.append((owner, name, _meta_if_big(getattr(owner, name), name, method)))
    return swaps


def _meta_if_big(func: Callable[..., Any], name: str, method: bool) -> Callable[..., Any]:
    sized = name in SIZED or method

    def constructor(*args: Any, **kwargs: Any) -> Any:
        big = big_on_meta(func, sized, method, args, kwargs)
        return big if big is not None else func(*args, **kwargs)

    constructor.__name__ = name
    return constructor

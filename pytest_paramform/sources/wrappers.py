"""Wrappers that add a prefix to every name but no parameter of their own
(``torch.compile``, ``DataParallel``): looked through, so that the same architecture gives
the same golden whichever wrapper holds it, live or saved."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

WRAPPED = {
    "OptimizedModule": "_orig_mod",  # torch.compile
    "DataParallel": "module",
    "DistributedDataParallel": "module",
}
WRAPPER_PREFIXES = tuple(f"{attr}." for attr in dict.fromkeys(WRAPPED.values()))


def unwrap(module: nn.Module) -> nn.Module:
    """The model inside torch.compile and (Distributed)DataParallel wrappers."""
    while (attr := WRAPPED.get(type(module).__name__)) is not None and hasattr(module, attr):
        module = getattr(module, attr)
    return module

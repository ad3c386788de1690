"""Wrappers that add a prefix to every name but no parameter of their own
(``torch.compile``, ``DataParallel``): looked through, so that the same architecture gives
the same golden whichever wrapper holds it, live (``modules.unwrap``) or saved (a prefix on
every name a checkpoint holds)."""

from __future__ import annotations

from pytest_paramform.sources.torch_compat import COMPILED_MODEL

WRAPPED = {
    "OptimizedModule": COMPILED_MODEL,  # torch.compile
    "DataParallel": "module",
    "DistributedDataParallel": "module",
}
WRAPPER_PREFIXES = tuple(f"{attr}." for attr in dict.fromkeys(WRAPPED.values()))


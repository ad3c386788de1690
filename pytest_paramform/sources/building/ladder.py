"""Call a model factory without weights, and only with real memory when it must.

First the build runs under :func:`~pytest_paramform.sources.building.empty.empty_weights`:
parameters and big fresh tensors on ``meta``, nothing initialised, nothing downloaded. If
that fails, it runs again with every torch call watched (where meta and real tensors meet,
shapes carry on; see :mod:`pytest_paramform.sources.building.policies`), which costs more.
Some builds read a value while they build (``resize_token_embeddings`` averages the old
embeddings, ``quantize_dynamic`` measures each weight's range, torchvision's SSDlite runs
its backbone once); on ``meta`` there is no value to read. Such a failure is recognised by
where it happened (a torch call on a ``meta`` tensor), not by torch's wording, and the build
runs again with real memory, initialised as usual (uninitialised memory can hold NaNs, which
quantization observers refuse), under a budget: past it, the build stops before allocating,
with a message, rather than let the CI machine swap or be OOM-killed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pytest_paramform.errors import SourceError
from pytest_paramform.sources.building.empty import (
    empty_weights,
    no_downloads,
    watched_empty_weights,
)
from pytest_paramform.sources.building.hub_guard import refusal_behind
from pytest_paramform.sources.building.policies import caused_by_meta

# Tensors a retried build may make, in bytes, counted as they are made (an upper bound of
# what it holds at once).
BUILD_MEMORY_BUDGET = 2 * 1024**3

_META_WORDING = re.compile(r"\bmeta\b", re.IGNORECASE)


def _read_a_value(exc: BaseException) -> bool:
    """Marked by the build mode, or torch's own error that names ``meta`` (raised where the
    mode cannot see it); a model's own error that mentions ``meta-llama`` is not retried."""
    torch_error = isinstance(exc, RuntimeError | NotImplementedError)
    return caused_by_meta(exc) or (torch_error and bool(_META_WORDING.search(str(exc))))


def _size(size: int) -> str:
    return f"{size / 1024**3:.1f} GiB" if size >= 1024**3 else f"{size // 1024**2} MiB"


def call_without_weights(factory: Callable[[], Any], label: str) -> Any:
    """``factory()`` on ``meta``: plainly first (nearly every model), then with every
    torch call watched; built again with bounded real memory if it read a value."""
    try:
        with empty_weights():
            return factory()
    except Exception as exc:  # the model's own code: anything may come out of it
        _raise_refusal(exc)
    try:
        with watched_empty_weights():
            return factory()
    except Exception as exc:
        _raise_refusal(exc)
        if not _read_a_value(exc):
            raise
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return _call_with_memory(factory, label, reason, BUILD_MEMORY_BUDGET)


def _raise_refusal(exc: BaseException) -> None:
    """Our download refusal, when the model's code caught it and raised its own error."""
    refused = refusal_behind(exc)
    if refused is not None:
        raise refused from None


def _call_with_memory(factory: Callable[[], Any], label: str, reason: str, budget: int) -> Any:
    from pytest_paramform.sources.building.budget import (  # subclasses a torch class
        AllocationBudget,
        BudgetExceeded,
    )

    try:
        with no_downloads(), AllocationBudget(budget):
            return factory()
    except Exception as exc:
        _raise_refusal(exc)
        raise
    except BudgetExceeded as exc:
        raise SourceError(
            f"{label} reads weight values while it is built ({reason}), so it must be "
            f"built with real memory, and that build would make more than {_size(exc.budget)} "
            "of tensors (counted as they are made, freed ones included); "
            "build it yourself inside `with pytest_paramform.empty_weights():`, leaving "
            "out the step that reads values, and pass the module"
        ) from None

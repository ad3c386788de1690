"""Comparing two reports and explaining the difference: one home for the feature the CLI
calls ``diff`` and the plugin calls a drift.

``compare(expected, actual, options)`` returns ``Drift`` lines (rows aligned in model order by
``align``, totals and form shares, and tying, trainability, dtype and buffer changes from
``states``); ``render_drift`` turns them into the failure message. ``strictness`` holds the
levels and ``CompareOptions``.

The names load on first use (PEP 562): the option table reads ``strictness.LEVELS`` at every
pytest start, and that must not load the comparison itself.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_paramform.comparison.core import compare, render_drift
    from pytest_paramform.comparison.drift import Drift
    from pytest_paramform.comparison.strictness import LEVELS, CompareOptions

_HOMES = {
    "LEVELS": "strictness",
    "CompareOptions": "strictness",
    "Drift": "drift",
    "compare": "core",
    "render_drift": "core",
}
__all__ = ["LEVELS", "CompareOptions", "Drift", "compare", "render_drift"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)

"""Comparing two reports and explaining the difference: one home for the feature the CLI
calls ``diff`` and the plugin calls a drift.

``compare(expected, actual, options)`` returns ``Drift`` lines (rows aligned in model order by
``align``, totals and form shares, and tying, trainability, dtype and buffer changes from
``states``); ``render_drift`` turns them into the failure message.
"""

from __future__ import annotations

from pytest_paramform.comparison.core import CompareOptions, compare, render_drift
from pytest_paramform.comparison.drift import Drift
from pytest_paramform.options import LEVELS

__all__ = ["LEVELS", "CompareOptions", "Drift", "compare", "render_drift"]

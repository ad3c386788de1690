"""pytest-rerunfailures: a test's paramform outcome is its final attempt's.

A failed attempt that will be run again is reported with the outcome ``rerun``; what that
attempt's checks found is forgotten, so a golden that drifted three times is counted once,
and one that drifted and then passed is counted as passed ("passed on rerun").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # loaded at every pytest start beside pytest-rerunfailures: stay light
    from pytest_paramform.plugin.summary import RunSummary


class RerunWatch:
    """A pytest plugin object, registered when pytest-rerunfailures is active."""

    def __init__(self, summary: Callable[[], RunSummary | None]) -> None:
        self._summary = summary

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        summary = self._summary()
        if summary is None:
            return
        outcome: str = report.outcome  # "rerun" is pytest-rerunfailures' own outcome
        attempt: int = getattr(report, "rerun", 0)  # 0 for the first attempt
        if outcome == "rerun":
            summary.discard(report.nodeid)
        elif report.when == "call" and report.passed and attempt:
            summary.passed_on_rerun(report.nodeid)

"""How a failed check reads in pytest's report: the whole message in the failure section,
one line (what drifted, and where) in the short test summary.

pytest prints a failure's message a second time as its short-summary line, whole under
``-vv`` or on CI (``CI`` set) since pytest 8: a drift of forty lines would be printed twice.
"""

from __future__ import annotations

from typing import Any, NoReturn

import pytest


# pytest's public name for its Failed class is an attribute, which mypy takes for no type.
class ParamFormFailed(pytest.fail.Exception):  # type: ignore[misc,name-defined]
    """A check failed: the message's first line says what and where, the rest explains.

    Named in reports as pytest's own ``Failed`` is (``Failed: paramform: ...``)."""


ParamFormFailed.__module__ = "builtins"
ParamFormFailed.__name__ = ParamFormFailed.__qualname__ = "Failed"


def fail(message: str) -> NoReturn:
    """Fail the test with ``message`` and no traceback (it names the golden and the fix)."""
    __tracebackhide__ = True
    raise ParamFormFailed(message, pytrace=False)


def shorten_summary_line(report: pytest.TestReport, excinfo: Any) -> None:
    """Cut the short-summary (and ``--tb=line``, junit ``message``) text of a failed check
    to its first line; the failure section keeps the whole message."""
    if excinfo is None or not isinstance(excinfo.value, ParamFormFailed):
        return
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and isinstance(crash.message, str):
        crash.message = crash.message.split("\n", 1)[0]

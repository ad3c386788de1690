"""Unused-golden cleanup for ``--paramform-update``, on top of syrupy's bookkeeping.

syrupy deletes unused snapshots only under its own ``--snapshot-update``, which also
rewrites every other snapshot. Here syrupy's finished report is read, the unused paramform
goldens are deleted, and only they are taken out of syrupy's summary and exit status.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import pytest

from pytest_paramform.extensions import is_golden

_FAIL_UNUSED = 1


def _syrupy_report(session: pytest.Session) -> Any:
    syrupy = getattr(session.config, "_syrupy", None)
    return getattr(syrupy, "report", None)


def remove_unused_goldens(session: pytest.Session) -> list[str]:
    """Delete unused paramform goldens (controller or single process only).

    Nothing is deleted when a test failed: a test that fails before its check (a model
    that no longer builds) leaves its golden looking unused, and it is not.
    """
    if os.environ.get("PYTEST_XDIST_WORKER") or session.testsfailed:
        return []
    report = _syrupy_report(session)
    if report is None or report.disable_unused_snapshots:
        return []
    unused = report.unused
    ours = [c.location for c in unused if is_golden(c.location)]
    if not ours:
        return []
    for location in ours:
        path = Path(location)
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # the folder still holds other goldens
            path.parent.rmdir()
    _forget(report, unused, ours)
    if report.num_unused == 0 and session.exitstatus == _FAIL_UNUSED:
        session.exitstatus = pytest.ExitCode.OK
    return ours


def _forget(report: Any, unused: Any, removed: list[str]) -> None:
    """Take the deleted goldens out of syrupy's (cached) list of unused snapshots."""
    kept = type(unused)()
    for collection in unused:
        if collection.location not in removed:
            kept.add(collection)
    report.__dict__["unused"] = kept
    report.__dict__.pop("num_unused", None)

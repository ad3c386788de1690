"""Unused-golden cleanup for update runs, on top of syrupy's bookkeeping.

syrupy deletes unused snapshots only under its own ``--snapshot-update``, which also
rewrites every other snapshot. Here the unused paramform goldens of syrupy's finished
report are deleted, each only when the run proves it unused (``deletion.Verdicts``), with
those a narrowed run left out of syrupy's list; and a run that ran no test takes every
paramform golden out of that list (``forget_unproven``).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_paramform.plugin import syrupy_compat

if TYPE_CHECKING:  # every run imports this module at its end: what is heavy loads on use
    from pytest_paramform.plugin.deletion import Verdicts


def remove_unused_goldens(
    session: pytest.Session, verdicts: Verdicts, *, syrupy_deletes: bool = False
) -> list[str]:
    """Delete the unused paramform goldens this run proves unused; keep the others.

    syrupy's unused list depends on how the run was chosen: a run narrowed by node id,
    ``-k`` or ``--lf`` leaves out goldens that look unused all the same. Those are judged
    here too, so each is deleted or listed as kept. When syrupy deletes (its
    ``--snapshot-update``), its own list has been judged already.
    """
    from pytest_paramform.plugin.extensions import is_golden

    report = syrupy_compat.finished_report(session.config)
    counted = [loc for loc in syrupy_compat.unused_locations(report) if is_golden(loc)]
    idle = [loc for loc in syrupy_compat.idle_locations(report) if is_golden(loc)]
    left_out = [loc for loc in idle if loc not in counted and verdicts.looks_unused(loc)]
    removed = []
    for location in [*([] if syrupy_deletes else counted), *left_out]:
        if verdicts.may_delete(location) and _delete(location, verdicts):
            removed.append(location)
    return removed


def deleted_by_syrupy(session: pytest.Session) -> list[str]:
    """The paramform goldens syrupy's own ``--snapshot-update`` deleted (each passed the
    same proof first), so that the run lists them as it lists its own deletions."""
    from pytest_paramform.plugin.extensions import is_golden

    report = syrupy_compat.finished_report(session.config)
    unused = syrupy_compat.unused_locations(report)
    return [loc for loc in unused if is_golden(loc) and not Path(loc).exists()]


def _delete(location: str, verdicts: Verdicts) -> bool:
    path = Path(location)
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        verdicts.kept[location] = f"it could not be deleted ({exc.strerror})"
        return False
    with contextlib.suppress(OSError):  # the folder still holds other goldens
        path.parent.rmdir()
    return True


def settle_report(session: pytest.Session, verdicts: Verdicts, handled: set[str]) -> None:
    """Take the goldens paramform handled out of syrupy's summary and exit status."""
    _forget(session, syrupy_compat.finished_report(session.config), handled)


def _forget(session: pytest.Session, report: object, handled: set[str]) -> None:
    """Out of syrupy's unused list, and out of its exit status when nothing else failed."""
    syrupy_compat.forget_unused(report, handled)
    unused_only = session.exitstatus == syrupy_compat.FAIL_UNUSED and not session.testsfailed
    if handled and unused_only and syrupy_compat.num_unused(report) == 0:
        session.exitstatus = pytest.ExitCode.OK


def forget_unproven(session: pytest.Session) -> None:
    """A run that ran no test (``--collect-only``, ``--setup-only``, one interrupted before
    its first test) proves no golden unused: paramform's leave syrupy's unused list and its
    exit status; syrupy's own snapshots follow syrupy's rules."""
    report = syrupy_compat.finished_report(session.config)
    if report is None or not _ran_no_test(session.config, report):
        return
    unused = syrupy_compat.unused_locations(report)
    if unused:
        from pytest_paramform.plugin.extensions import is_golden

        _forget(session, report, {location for location in unused if is_golden(location)})


def _ran_no_test(config: pytest.Config, report: object) -> bool:
    options = ("collectonly", "setuponly", "setupplan")
    return any(config.getoption(o, False) for o in options) or not syrupy_compat.ran_a_test(report)

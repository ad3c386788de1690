"""The exit status of a run that stopped early: pytest's ``2`` (interrupted), never ``3``.

syrupy ORs its "unused snapshots" bit (1) into pytest's exit status. A run that stopped
early (Ctrl-C, ``--sw`` at its first failure, ``pytest.exit``) did not run every test, so
the goldens of the tests it never reached look unused, and ``2 | 1`` gives ``3``, which
pytest means as "internal error". When every snapshot syrupy counts as unused is a
paramform golden, the run exits with pytest's own status.
"""

from __future__ import annotations

import pytest

from pytest_paramform.plugin import syrupy_compat
from pytest_paramform.plugin.extensions import is_golden


def settle_interrupted(session: pytest.Session, exitstatus: int) -> None:
    """Undo syrupy's unused bit on an interrupted run whose unused files are all ours."""
    if exitstatus != pytest.ExitCode.INTERRUPTED or session.exitstatus == exitstatus:
        return
    report = syrupy_compat.finished_report(session.config)
    if all(is_golden(location) for location in syrupy_compat.unused_locations(report)):
        session.exitstatus = exitstatus

"""The end of a session, around syrupy's own: decide which unused-looking goldens the run
proves unused, let syrupy delete only those, settle its report, and write the run summary.
An xdist worker sends its records to the controller, which decides and writes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

from pytest_paramform.plugin import state

if TYPE_CHECKING:
    from pytest_paramform.plugin.deletion import Verdicts

SUMMARY_WORKEROUTPUT = "paramform_checks"
GITHUB_SUMMARY = "GITHUB_STEP_SUMMARY"  # the job summary file GitHub Actions appends


def before_syrupy(session: pytest.Session, exitstatus: int) -> Verdicts | None:
    """A worker's checks go to the controller; an update run's verdicts are decided."""
    config = session.config
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None and state.SUMMARY_KEY in config.stash:
        workeroutput[SUMMARY_WORKEROUTPUT] = config.stash[state.SUMMARY_KEY].dump()
    guard = state.guard(config)
    return guard.finish(session, exitstatus) if guard is not None else None


@contextmanager
def syrupy_deleting(config: pytest.Config, verdicts: Verdicts | None) -> Iterator[None]:
    """syrupy's session end, deleting only the goldens the verdicts allow (any at all
    outside an update run: it deletes nothing then)."""
    if verdicts is None:
        yield
        return
    from pytest_paramform.plugin.syrupy_compat import deleting_only

    with deleting_only(config, verdicts.may_delete_any):
        yield


def after_syrupy(session: pytest.Session, verdicts: Verdicts | None, exitstatus: int) -> None:
    """On the controller (or without xdist): settle syrupy's report, write the summary."""
    from pytest_paramform.plugin.cleanup import forget_unproven

    config = session.config
    forget_unproven(session)
    # Read before _settle takes the goldens it handled out of syrupy's report.
    unused = unused_goldens(config) if _summary_wanted(config) else []
    if verdicts is not None:
        _settle(session, verdicts)
    state.remove_claims(config)
    _write_summary(config, unused)
    if exitstatus == pytest.ExitCode.INTERRUPTED:  # 2, not syrupy's 2 | 1
        from pytest_paramform.plugin.exit_codes import settle_interrupted

        settle_interrupted(session, exitstatus)


def unused_goldens(config: pytest.Config) -> list[str]:
    """The paramform goldens syrupy found unused that no check of this run owns."""
    from pytest_paramform.plugin.syrupy_compat import finished_report, unused_locations

    unused = unused_locations(finished_report(config))
    if not unused:  # what follows imports the formats: a run without goldens skips it
        return []
    from pytest_paramform.files import relative
    from pytest_paramform.plugin.extensions import is_golden

    run = config.stash.get(state.SUMMARY_KEY, None)
    owned = run.owned() if run is not None else set()  # a check failed before reading it
    return [
        location
        for location in unused
        if is_golden(location) and relative(location, config.rootpath) not in owned
    ]


def _summary_wanted(config: pytest.Config) -> bool:
    return bool(config.getoption("paramform_summary") or os.environ.get(GITHUB_SUMMARY))


def _write_summary(config: pytest.Config, unused: list[str]) -> None:
    """Append the Markdown summary where it was asked for; a run that checked nothing
    adds nothing to a CI job summary."""
    asked = config.getoption("paramform_summary")
    job_summary = os.environ.get(GITHUB_SUMMARY)
    checked = state.SUMMARY_KEY in config.stash or bool(unused)  # a check ran, or one idles
    if not asked and not (job_summary and checked):
        return
    from pytest_paramform.plugin import summary as summaries

    run = state.run_summary(config)
    run.unused = summaries.unused_rows(unused, config.rootpath)
    text = run.markdown()
    where = config.invocation_params.dir
    for path in summaries.targets(asked, job_summary if checked else None, where):
        problem = summaries.append(path, text)
        if problem is not None:
            run.problems.append(problem)


def _settle(session: pytest.Session, verdicts: Verdicts) -> None:
    from pytest_paramform.plugin.cleanup import (
        deleted_by_syrupy,
        remove_unused_goldens,
        settle_report,
    )

    config = session.config
    syrupy_deletes = bool(config.getoption("update_snapshots", False))
    removed = remove_unused_goldens(session, verdicts, syrupy_deletes=syrupy_deletes)
    settle_report(session, verdicts, set(removed) | set(verdicts.kept))
    # syrupy names its own deletions too; these stay in its report for it to say so
    deleted = removed + (deleted_by_syrupy(session) if syrupy_deletes else [])
    config.stash[state.REMOVED_KEY] = deleted

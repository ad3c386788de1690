"""The object behind the ``paramform_snapshot`` fixture: build, check, explain."""

from __future__ import annotations

import difflib
import os
import shlex
import sys
from pathlib import Path
from typing import Any, Unpack

from syrupy.assertion import SnapshotAssertion

from pytest_paramform.budgets import check_budgets
from pytest_paramform.comparison.core import render_drift
from pytest_paramform.errors import ParamFormError
from pytest_paramform.files import relative
from pytest_paramform.gc_pause import gc_paused
from pytest_paramform.options import CheckOptions, by_name
from pytest_paramform.plugin import syrupy_compat
from pytest_paramform.plugin.claims import claim
from pytest_paramform.plugin.extensions import (
    Check,
    Outcome,
    ParamFormExtension,
    extension_for,
)
from pytest_paramform.plugin.failures import ParamFormFailed, fail
from pytest_paramform.plugin.summary import RunSummary
from pytest_paramform.report import ParamFormReport
from pytest_paramform.settings import Settings

UPDATE_FLAG = "--paramform-update"
SYRUPY_UPDATE_FLAG = "--snapshot-update"
SYRUPY_NOTE = f"or with syrupy's {SYRUPY_UPDATE_FLAG} (which updates syrupy's own snapshots too)"


def to_report(
    source: Any, settings: Settings, name: str | None = None, root: Path | None = None
) -> ParamFormReport:
    """A report as it is, or one built from any source (torch is imported here): a
    module, a factory, a state_dict, a checkpoint path (a relative one read from ``root``,
    the rootdir, wherever pytest runs), or a spec string as the CLI takes
    (``torchvision:NAME``, ``hf:PATH``, ``package.module:callable``), recorded as the
    ``record`` and ``forward`` options say. ``name`` names the model in the report."""
    from pytest_paramform.sources import load

    return load(source, name=name, root=root, **settings.group("record", "forward"))


class ParamFormSnapshot:
    """Checks reports against goldens for one test; syrupy owns the files and their names."""

    def __init__(
        self,
        *,
        snapshot: SnapshotAssertion,
        update: bool,
        settings: Settings,
        rootpath: Path,
        claims: dict[str, str],
        charts: Path | None = None,
        shared_claims: str | None = None,
        summary: RunSummary | None = None,
        overrides: tuple[str, ...] = (),
        every_tensor: bool = False,
    ) -> None:
        self._snapshot = snapshot
        self._update = update or snapshot.update_snapshots
        self._settings = settings
        self._rootpath = rootpath
        self._claims = claims
        self._charts = charts
        self._shared_claims = shared_claims
        self._summary = summary
        self._overrides = overrides
        self._every_tensor = every_tensor  # -vv: one line per tensor, none left out
        self._assertions: dict[str, SnapshotAssertion] = {}
        self._mine: set[str] = set()

    def __call__(
        self, source: Any, *, name: str | None = None, **options: Unpack[CheckOptions]
    ) -> ParamFormReport:
        """Check ``source`` against its golden; fail the test with every difference.

        Returns the report, so a test can assert more about it.
        """
        __tracebackhide__ = True
        values: dict[str, Any] = dict(options)
        unknown = next((key for key in values if key not in by_name()), None)
        if unknown is not None:
            raise TypeError(unexpected_keyword(unknown))
        settings, report = self._report_within_budget(source, values, name)
        assertion = self._assertion(settings.format)
        extension = assertion.extension
        assert isinstance(extension, ParamFormExtension)
        golden = self._claim(assertion, name)
        render = self._update or (
            self._snapshot.update_new_snapshots_only and not (self._rootpath / golden).exists()
        )
        check = Check(settings.compare, render, refresh=self._update)
        extension.check, extension.outcome = check, Outcome()
        if self._charts is not None:
            self._chart(report, golden, self._charts)
        with syrupy_compat.relation_warnings_ignored(), gc_paused():
            matched = assertion(name=name) == report
        failure = None if matched else self._failure(assertion, report, golden)
        if self._summary is not None:
            test = self._snapshot.test_location.nodeid
            self._summary.record(
                test=test,
                golden=golden,
                report=report,
                outcome=extension.outcome,
                update=self._update,
                failure=failure,
            )
        # syrupy keeps every assertion (and so its extension) until the session ends, and
        # pytest a failed test's traceback (and so this frame): neither keeps the reports,
        # which would otherwise stay alive and slow every full garbage collection.
        extension.outcome = Outcome()
        if failure is not None:
            del report
            fail(failure)
        return report

    def _failed_before_check(
        self, fmt: str, name: str | None, model: str | None, message: str
    ) -> None:
        """The run summary names the failure, and the golden this check would have read
        is not reported unused (its test still makes the check; it failed before it)."""
        if self._summary is None:
            return
        assertion = self._assertion(fmt)
        index = name if name else assertion.num_executions
        location = assertion.extension.get_location(
            test_location=assertion.test_location, index=index
        )
        self._summary.record_failure(
            test=self._snapshot.test_location.nodeid,
            golden=relative(location, self._rootpath),
            model=model or "",
            message=message,
        )

    def _chart(self, report: ParamFormReport, golden: str, charts: Path) -> None:
        """One chart per golden, for review as a CI artifact, named like the golden."""
        from pytest_paramform.chart import render_chart

        stem = Path(golden).name.split(".paramform.")[0]
        render_chart(report, charts / Path(golden).parent.name / f"{stem}.png")

    def _assertion(self, fmt: str) -> SnapshotAssertion:
        """One syrupy assertion per format, so that auto indexes count per golden kind."""
        if fmt not in self._assertions:
            self._assertions[fmt] = SnapshotAssertion(
                session=self._snapshot.session,
                extension_class=extension_for(fmt),
                test_location=self._snapshot.test_location,
                update_snapshots=self._update,
                update_new_snapshots_only=self._snapshot.update_new_snapshots_only,
            )
        return self._assertions[fmt]

    def _report_within_budget(
        self, source: Any, values: dict[str, Any], name: str | None
    ) -> tuple[Settings, ParamFormReport]:
        """The check's settings and the report of its source, within its budgets; else the
        test fails, from outside the handler: the failure pytest keeps then holds neither
        the refusal's frames nor the report (and the message says it all)."""
        __tracebackhide__ = True
        settings, report = self._settings, None
        try:
            settings = self._settings.updated(values, source="paramform_snapshot()")
            with gc_paused(settle=True):
                report = to_report(source, settings, name, self._rootpath)
            # Before the golden is touched: an update never records a model over budget.
            check_budgets(report, **settings.group("budget"))
        except ParamFormError as exc:
            message, model = f"paramform: {exc}", report.name if report is not None else name
        else:
            return settings, report
        del report
        self._failed_before_check(settings.format, name, model, message)
        raise ParamFormFailed(message, pytrace=False)

    def _claim(self, assertion: SnapshotAssertion, name: str | None) -> str:
        """The golden's path; two checks that would share one golden are an error."""
        __tracebackhide__ = True
        index = name if name else assertion.num_executions
        location = assertion.extension.get_location(
            test_location=assertion.test_location, index=index
        )
        golden = relative(location, self._rootpath)
        owner = self._snapshot.test_location.nodeid
        other = self._claims.setdefault(location, owner)
        if other == owner and self._shared_claims is not None:
            other = claim(self._shared_claims, location, owner) or owner
        if other != owner or location in self._mine:
            who = "this test twice" if other == owner else f"{other} and {owner}"
            fail(
                f"paramform: {who} map to the same golden {golden}; "
                "give each check its own name=... (or distinct test ids)"
            )
        self._mine.add(location)
        return golden

    def _failure(self, assertion: SnapshotAssertion, report: ParamFormReport, golden: str) -> str:
        extension = assertion.extension
        assert isinstance(extension, ParamFormExtension)
        outcome = extension.outcome
        error = syrupy_compat.last_error(assertion)
        if isinstance(error, ParamFormError):
            return f"paramform: {error.at(golden)}"
        if error is not None:
            return f"paramform: checking {golden} failed: {type(error).__name__}: {error}"
        location = self._snapshot.test_location
        here = location.item.config.invocation_params.dir
        accept = accept_command(
            location.nodeid, self._overrides, rootpath=self._rootpath, here=here
        )
        if outcome.problem is not None:
            return (
                f"paramform: cannot use the golden: {outcome.problem.at(golden)}\n"
                f"fix the file, or write it anew with:\n  {accept}\n{SYRUPY_NOTE}"
            )
        if outcome.expected is None:
            return (
                f"paramform: no golden for {report.name} at {golden}\n"
                f"create it with:\n  {accept}\n{SYRUPY_NOTE}"
            )
        drift = render_drift(
            outcome.drifts,
            model=report.name,
            golden=golden,
            accept=accept,
            fold=not self._every_tensor,
            limit=None if self._every_tensor else 40,
            expected=outcome.expected,
            actual=report,
        )
        return f"{drift}\n{SYRUPY_NOTE}"


def unexpected_keyword(key: str) -> str:
    """What Python says of a keyword a signature lacks; from 3.13 it adds a close name
    (chosen by its own measure: this one agrees on near misses such as ``levl``)."""
    text = f"{ParamFormSnapshot.__call__.__qualname__}() got an unexpected keyword argument"
    close = difflib.get_close_matches(key, ["source", "name", *by_name()], n=1)
    hint = f". Did you mean {close[0]!r}?" if close and sys.version_info >= (3, 13) else ""
    return f"{text} {key!r}{hint}"


def accept_command(
    nodeid: str,
    overrides: tuple[str, ...] = (),
    *,
    rootpath: Path | None = None,
    here: Path | None = None,
) -> str:
    """The update command for one test, quoted for a POSIX shell (ids hold ``[]``, spaces
    and quotes), so the line it stands on can be pasted as it is; with the run's own
    ``-o paramform_...`` settings, so that what it writes is what this run checks. A node
    id is relative to the rootdir; run from another folder (``here``), the path is given
    from there."""
    if rootpath is not None and here is not None and here != rootpath:
        nodeid = _from_folder(nodeid, rootpath, here)
    flags = "".join(f" -o {shlex.quote(override)}" for override in overrides)
    quoted = "'" + nodeid.replace("'", "'\\''") + "'"
    return f"pytest {UPDATE_FLAG}{flags} {quoted}"


def overridden_settings(override_ini: list[str] | None) -> tuple[str, ...]:
    """The ``-o paramform_<option>=value`` settings given on the command line."""
    return tuple(o for o in override_ini or () if o.strip().startswith("paramform_"))


def _from_folder(nodeid: str, rootpath: Path, here: Path) -> str:
    path, sep, rest = nodeid.partition("::")
    try:
        return os.path.relpath(rootpath / path, here) + sep + rest
    except ValueError:  # another drive (Windows): no relative path; an absolute one works
        return str(rootpath / path) + sep + rest

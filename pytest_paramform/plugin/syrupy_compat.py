"""Every assumption paramform makes about syrupy's internals, in one place.

syrupy 7 has no public API for its finished report or its last assertion's error; these
helpers read them. A syrupy upgrade is this file to read, and tests/test_syrupy_compat.py
pins one test to each assumption.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion

# syrupy's exit status bit for "unused snapshots" (syrupy.constants.EXIT_STATUS_FAIL_UNUSED)
FAIL_UNUSED = 1


def finished_report(config: pytest.Config) -> Any:
    """syrupy's report of the run, built in its ``pytest_sessionfinish``; None before."""
    session = getattr(config, "_syrupy", None)
    return getattr(session, "report", None)


def unused_locations(report: Any) -> list[str]:
    """The files syrupy found unused (its cached ``unused`` collections)."""
    if report is None or report.disable_unused_snapshots:
        return []
    return [collection.location for collection in report.unused]


def idle_locations(report: Any) -> list[str]:
    """The files syrupy discovered that no assertion of the run used (its ``discovered``
    and ``used`` collections), whether or not it counted them unused."""
    if report is None:
        return []
    return [c.location for c in report.discovered if report.used.get(c.location) is None]


def forget_unused(report: Any, locations: set[str]) -> None:
    """Take ``locations`` out of syrupy's (cached) unused list, so its summary and exit
    status no longer count them: paramform reported them itself."""
    if report is None or not locations:
        return
    unused = report.unused
    kept = type(unused)()
    for collection in unused:
        if collection.location not in locations:
            kept.add(collection)
    report.__dict__["unused"] = kept
    report.__dict__.pop("num_unused", None)


def ran_a_test(report: Any) -> bool:
    """Whether a selected test reached an outcome other than a skip (syrupy's
    ``selected_items``: node id to an ``ItemStatus`` that stays ``NOT_RUN`` until then)."""
    return any(status.value in ("passed", "failed") for status in report.selected_items.values())


def num_unused(report: Any) -> int:
    return int(report.num_unused) if report is not None else 0


def last_error(assertion: SnapshotAssertion) -> BaseException | None:
    """The exception syrupy caught in the assertion's last execution, if any."""
    execution = assertion.executions[assertion.num_executions - 1]
    error = execution.exception
    return error if isinstance(error, BaseException) else None


@contextmanager
def deleting_only(config: pytest.Config, allowed: Callable[[str], bool]) -> Iterator[None]:
    """While syrupy finishes the run, it deletes an unused file only if ``allowed`` says so.

    syrupy deletes through the extension that discovered a file, and another extension
    (its default Amber one, for instance) may claim a paramform golden as an "unknown
    collection"; filtering what reaches ``SnapshotSession.remove_unused_snapshots`` is
    the one place every deletion passes.
    """
    session = getattr(config, "_syrupy", None)
    if session is None:
        yield
        return
    original = session.remove_unused_snapshots

    def remove(*, unused_snapshot_collections: Any, used_snapshot_collections: Any) -> None:
        kept = type(unused_snapshot_collections)()
        for collection in unused_snapshot_collections:
            if allowed(collection.location):
                kept.add(collection)
        original(
            unused_snapshot_collections=kept, used_snapshot_collections=used_snapshot_collections
        )

    session.remove_unused_snapshots = remove
    try:
        yield
    finally:
        del session.remove_unused_snapshots


@contextmanager
def relation_warnings_ignored() -> Iterator[None]:
    """syrupy warns "Can not relate snapshot name/location" when a test id holds characters
    it strips from file names (``meta-llama/Llama-2-7b``). paramform relates its goldens to
    tests itself (``ParamFormExtension.matches_test_location``), so for its goldens the
    warning says nothing, and under ``-W error`` it would fail a natural test id."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"\s*Can not relate snapshot", module="syrupy")
        yield


def first_golden_stem(item: pytest.Item) -> str:
    """The file stem syrupy gives a test's first single-file snapshot (``test_x[a]``, with
    the characters it strips removed and cut at its length limit)."""
    from syrupy.location import PyTestLocation

    from pytest_paramform.plugin.extensions import ParamFormYamlExtension

    if not isinstance(item, pytest.Function):
        return item.name
    try:
        return ParamFormYamlExtension.get_snapshot_name(test_location=PyTestLocation(item))
    except Exception:  # an item syrupy cannot place: its name still relates its goldens
        return item.name

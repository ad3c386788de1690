"""Every assumption paramform makes about syrupy's internals, one test each.

When syrupy changes, these fail first and point at ``plugin/syrupy_compat.py`` (and the
extension hooks in ``plugin/extensions.py``), the only places that rely on them.
"""

from __future__ import annotations

import inspect

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension
from syrupy.report import SnapshotReport
from syrupy.session import SnapshotSession

from suites import run, write_suite

pytest_plugins = ["pytester"]


def keywords(function: object) -> set[str]:
    return {p.name for p in inspect.signature(function).parameters.values()}  # type: ignore[arg-type]


def test_the_finished_report_sits_on_config_syrupy(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "def pytest_unconfigure(config):\n"
        "    report = config._syrupy.report\n"
        "    print('REPORT', type(report).__name__, report.num_unused)\n"
    )
    write_suite(pytester)
    result = run(pytester, "-s", "--paramform-update")
    result.stdout.fnmatch_lines(["REPORT SnapshotReport 0"])


def test_unused_and_num_unused_are_cached_in_the_reports_dict() -> None:
    # forget_unused() replaces report.__dict__["unused"] and drops "num_unused".
    from functools import cached_property

    assert isinstance(inspect.getattr_static(SnapshotReport, "unused"), cached_property)
    assert isinstance(inspect.getattr_static(SnapshotReport, "num_unused"), cached_property)


def test_every_deletion_goes_through_remove_unused_snapshots() -> None:
    # deleting_only() wraps this method on the session instance.
    method = SnapshotSession.remove_unused_snapshots
    assert {"unused_snapshot_collections", "used_snapshot_collections"} <= keywords(method)
    assert "remove_unused_snapshots(" in inspect.getsource(SnapshotSession.finish)


def test_an_assertions_last_error_is_in_its_executions() -> None:
    assert "executions" in dir(SnapshotAssertion)
    assert "num_executions" in dir(SnapshotAssertion)
    from syrupy.assertion import AssertionResult

    assert "exception" in AssertionResult.__dataclass_fields__


def test_the_extension_hooks_paramform_overrides_exist() -> None:
    base = SingleFileSnapshotExtension
    assert {"test_location", "snapshot_location"} <= keywords(base.matches_test_location)
    assert {"snapshot_location", "snapshot_name", "session_id"} <= keywords(
        base.read_snapshot_data_from_location
    )
    assert {"snapshot_collection", "name_order"} <= keywords(base.write_snapshot_collection)
    assert "dirname" in dir(base)


def test_the_relation_warning_syrupy_gives_still_reads_as_paramform_filters_it() -> None:
    from syrupy.extensions import base

    assert "Can not relate snapshot" in inspect.getsource(base)


def test_the_report_relates_a_goldens_name_apart_from_its_location() -> None:
    # ParamFormExtension.matches_test_location answers for the module's folder only: syrupy
    # must check the name on its own wherever a name matters, and a run given a path must
    # ask the location alone (or a renamed test's golden is never counted unused).
    for method in ("_ran_items_match_name", "_skipped_items_match_name"):
        source = inspect.getsource(getattr(SnapshotReport, method))
        assert "_matches_location(" in source
        assert "matches_snapshot_name(" in source
    assert "_ran_items_match_location(" in inspect.getsource(SnapshotReport.unused.func)
    assert "matches_test_location(" in inspect.getsource(SnapshotReport._matches_location)


def test_selected_items_hold_an_item_status_that_stays_not_run_until_a_phase_reports() -> None:
    # ran_a_test() reads report.selected_items' values for "passed" or "failed".
    from syrupy.session import ItemStatus

    assert "selected_items" in SnapshotReport.__dataclass_fields__
    assert {status.value for status in ItemStatus} == {False, "passed", "failed", "skipped"}
    assert "ItemStatus.NOT_RUN" in inspect.getsource(SnapshotSession.select_items)


def test_the_report_keeps_what_it_discovered_and_what_was_used_by_location() -> None:
    # idle_locations() iterates report.discovered and asks report.used.get(location).
    from syrupy.data import SnapshotCollection, SnapshotCollections

    assert {"discovered", "used"} <= set(SnapshotReport.__dataclass_fields__)
    collections = SnapshotCollections()
    collections.add(SnapshotCollection(location="a.paramform.yaml"))
    assert [c.location for c in collections] == ["a.paramform.yaml"]
    assert collections.get("b.paramform.yaml") is None

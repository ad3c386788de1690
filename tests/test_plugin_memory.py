"""What a run keeps after each check: nothing of the model's report. syrupy keeps every
assertion until the session ends; a suite of a hundred large models must not keep a
hundred reports (and every full garbage collection scan them) meanwhile."""

from __future__ import annotations

import pytest

from suites import run, write_suite

pytest_plugins = ["pytester"]

TESTS = """
import gc

import pytest

from pytest_paramform import ParamFormReport

NAMES = {"paramform-memory-4", "paramform-memory-5"}


@pytest.mark.parametrize("width", [4, 5])
def test_net(paramform_snapshot, width):
    paramform_snapshot(nn.Linear(8, width), name=f"paramform-memory-{width}")


def test_no_report_outlives_its_check():
    gc.collect()
    alive = [o for o in gc.get_objects() if type(o) is ParamFormReport]
    assert [report.name for report in alive if report.name in NAMES] == []
"""


@pytest.mark.parametrize("update", [True, False])
def test_reports_are_released_after_passing_checks(
    pytester: pytest.Pytester, update: bool
) -> None:
    write_suite(pytester, tests=TESTS)
    if not update:
        run(pytester, "--paramform-update").assert_outcomes(passed=3)
    run(pytester, *(["--paramform-update"] if update else [])).assert_outcomes(passed=3)


def test_reports_are_released_after_failing_checks(pytester: pytest.Pytester) -> None:
    write_suite(pytester, tests=TESTS)
    run(pytester, "--paramform-update").assert_outcomes(passed=3)
    write_suite(pytester, tests=TESTS.replace("nn.Linear(8, width)", "nn.Linear(9, width)"))
    run(pytester).assert_outcomes(passed=1, failed=2)


def test_a_report_is_released_after_a_check_that_fails_before_comparing(
    pytester: pytest.Pytester,
) -> None:
    """A budget refusal fails the test before any golden is read; pytest keeps that
    failure's traceback, and the report must not ride along with it."""
    over_budget = TESTS.replace(
        'name=f"paramform-memory-{width}")', 'name=f"paramform-memory-{width}", max_parameters=1)'
    )
    assert over_budget != TESTS
    write_suite(pytester, tests=over_budget)
    run(pytester, "--paramform-update").assert_outcomes(passed=1, failed=2)

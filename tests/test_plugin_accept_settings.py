"""The accept line a failing check prints writes what that check compares against."""

from __future__ import annotations

import shlex

import pytest

from suites import run, write_suite

TEST_WITH_BUFFERS = """
def test_net(paramform_snapshot):
    paramform_snapshot(lambda: nn.Sequential(Net(), nn.BatchNorm1d(2)), name="net")
"""


def printed_accept_line(output: str) -> list[str]:
    lines = output.splitlines()
    return shlex.split(lines[lines.index("accept with:") + 1])


@pytest.mark.parametrize(
    "settings",
    [["-o", "paramform_buffers=true"], ["-o", "paramform_dtype=true", "-o", "paramform_buffers=1"]],
    ids=["buffers", "dtype-and-buffers"],
)
def test_running_the_printed_line_makes_a_check_with_o_settings_pass(
    pytester: pytest.Pytester, settings: list[str]
) -> None:
    write_suite(pytester, tests=TEST_WITH_BUFFERS)
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    result = run(pytester, *settings)
    result.assert_outcomes(failed=1)
    command = printed_accept_line(result.stdout.str())
    assert command[:2] == ["pytest", "--paramform-update"]
    run(pytester, *command[1:]).assert_outcomes(passed=1)
    run(pytester, *settings).assert_outcomes(passed=1)

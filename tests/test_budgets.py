"""Budgets: a model over its budget fails with the budget and the figure, in a check run
and in an update run alike, and an update never records it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_paramform.budgets import BudgetError, check_budgets
from pytest_paramform.cli import main
from pytest_paramform.errors import SettingsError
from pytest_paramform.forward_report import ForwardReport
from pytest_paramform.report import ParamFormReport, ParamRow
from pytest_paramform.settings import Settings

from suites import GOLDEN, run, write_suite

pytest_plugins = ["pytester"]
OVER = "paramform: Net has 194 parameters, over its budget max_parameters=100"


def _report(total: int) -> ParamFormReport:
    return ParamFormReport("resnet50", (ParamRow("w", (total,)),))


def test_the_message_names_the_budget_and_the_figure() -> None:
    with pytest.raises(BudgetError) as caught:
        check_budgets(_report(25_557_032), max_parameters=20_000_000)
    assert str(caught.value) == (
        "resnet50 has 25,557,032 parameters, over its budget max_parameters=20,000,000"
    )
    assert caught.value.budget == "max_parameters"


def test_at_the_budget_and_without_one_it_passes() -> None:
    check_budgets(_report(100), max_parameters=100)
    check_budgets(_report(10**12))


@pytest.mark.parametrize("raw", [20_000_000, 2e7, "20_000_000", "20,000,000", "2e7", " 20000000"])
def test_a_budget_is_written_the_way_people_read_it(raw: object) -> None:
    settings = Settings().updated({"max_parameters": raw}, source="here")
    assert settings.group("budget")["max_parameters"] == 20_000_000


@pytest.mark.parametrize("raw", [-1, 1.5, "lots", True, "nan"])
def test_a_bad_budget_names_the_option(raw: object) -> None:
    with pytest.raises(ValueError, match=r"^here: max_parameters must be a whole number >= 0"):
        Settings().updated({"max_parameters": raw}, source="here")


@pytest.mark.parametrize("how", ["ini", "marker", "call"])
def test_a_check_run_over_budget_fails(pytester: pytest.Pytester, how: str) -> None:
    write_suite(pytester)
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    call = "paramform_snapshot(Net" + (", max_parameters=100)" if how == "call" else ")")
    marker = "@pytest.mark.paramform(max_parameters=100)\n" if how == "marker" else ""
    write_suite(pytester, tests=f"{marker}def test_net(paramform_snapshot):\n    {call}\n")
    if how == "ini":
        pytester.makeini("[pytest]\nparamform_max_parameters = 100\n")
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([OVER])


def test_an_update_run_over_budget_fails_and_writes_no_golden(pytester: pytest.Pytester) -> None:
    write_suite(
        pytester,
        tests="def test_net(paramform_snapshot):\n"
        "    paramform_snapshot(Net, max_parameters=100)\n",
    )
    result = run(pytester, "--paramform-update")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([OVER])
    assert not (pytester.path / GOLDEN).exists()
    result = run(pytester, "--snapshot-update")
    result.assert_outcomes(failed=1)
    assert not (pytester.path / GOLDEN).exists()


def test_an_update_keeps_the_old_golden_of_a_model_that_grew_over_budget(
    pytester: pytest.Pytester,
) -> None:
    tests = "def test_net(paramform_snapshot):\n    paramform_snapshot(Net, max_parameters=200)\n"
    write_suite(pytester, tests=tests)
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    before = (pytester.path / GOLDEN).read_text()
    write_suite(pytester, hidden=5, tests=tests)  # 194 -> 287 parameters
    result = run(pytester, "--paramform-update")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["paramform: Net has 287 parameters, over its budget *"])
    assert (pytester.path / GOLDEN).read_text() == before


def test_the_cli_refuses_to_write_or_pass_a_model_over_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    golden = tmp_path / "resnet18.yaml"
    spec = "torchvision:resnet18"
    assert main(["report", spec, "--output", str(golden), "--max-parameters", "1e6"]) == 1
    assert not golden.exists()
    over = "paramform: resnet18 has 11,689,512 parameters, over its budget max_parameters=1,000,000"
    assert capsys.readouterr().err.strip() == over
    assert main(["report", spec, "--output", str(golden), "--max-parameters", "12e6"]) == 0
    assert main(["check", spec, str(golden), "--max-parameters", "1_000_000"]) == 1
    assert capsys.readouterr().err.strip() == over
    assert main(["check", spec, str(golden), "--max-parameters", "12,000,000"]) == 0


def test_a_flops_budget_names_the_figure_and_needs_a_forward_pass() -> None:
    forward = ForwardReport((), 2, (), 8_178_368_512)
    report = ParamFormReport("resnet50", (ParamRow("w", (4,)),), forward=forward)
    with pytest.raises(BudgetError) as caught:
        check_budgets(report, max_flops=4_000_000_000)
    assert str(caught.value) == (
        "resnet50 computes 8,178,368,512 FLOPs, over its budget max_flops=4,000,000,000"
    )
    check_budgets(report, max_flops=9_000_000_000)
    with pytest.raises(SettingsError, match=r"^max_flops=1,000 needs a forward pass to count"):
        check_budgets(_report(4), max_flops=1000)  # a misuse, not a model over budget


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-flops", "100"], "max_flops=100 needs a forward pass"),
        (["--depth", "3"], "--depth needs --input"),
    ],
)
def test_forward_flags_without_inputs_are_bad_input_not_drift(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    golden = tmp_path / "g.yaml"
    assert main(["report", "toy_models:Scalars", "--output", str(golden)]) == 0
    capsys.readouterr()
    assert main(["check", "toy_models:Scalars", str(golden), *flags]) == 2
    assert capsys.readouterr().err.startswith(f"paramform: error: {message}")


def test_a_check_over_budget_is_a_failure_of_its_test_not_an_unused_golden(
    pytester: pytest.Pytester,
) -> None:
    """It fails before it reads its golden: the golden is still its test's, the run summary
    names the failure, and nothing tells the user to delete the golden."""
    write_suite(pytester)
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    write_suite(pytester, tests="def test_net(paramform_snapshot):\n"
                "    paramform_snapshot(Net, max_parameters=100)\n")
    result = run(pytester, "--paramform-summary", "summary.md")
    result.assert_outcomes(failed=1)
    assert "golden(s) unused" not in result.stdout.str()
    result.stdout.fnmatch_lines([f"  failed  {GOLDEN} (Net, test_arch.py::test_net)"])
    summary = (pytester.path / "summary.md").read_text()
    assert "| failed | `test_arch.py::test_net` |" in summary
    assert "unused" not in summary
    run(pytester, "--paramform-update").assert_outcomes(failed=1)
    assert (pytester.path / GOLDEN).is_file()

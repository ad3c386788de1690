"""Options as users set them: ini file, marker, call keywords; bad values fail early."""

from __future__ import annotations

import pytest

from suites import GOLDEN, MODEL, run, write_suite

pytest_plugins = ["pytester"]


def _accept(pytester: pytest.Pytester) -> None:
    write_suite(pytester)
    run(pytester, "--paramform-update").assert_outcomes(passed=1)


@pytest.mark.parametrize("how", ["ini", "marker", "call"])
def test_markdown_goldens_in_the_seed_layout(pytester: pytest.Pytester, how: str) -> None:
    call = (
        "paramform_snapshot(Net, format='markdown')" if how == "call" else "paramform_snapshot(Net)"
    )
    marker = "@pytest.mark.paramform(format='markdown')\n" if how == "marker" else ""
    write_suite(pytester, tests=f"{marker}def test_net(paramform_snapshot):\n    {call}\n")
    if how == "ini":
        pytester.makeini("[pytest]\nparamform_format = markdown\n")
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    golden = pytester.path / GOLDEN.with_suffix(".md")
    assert golden.read_text().startswith(
        "# Net parameter information\n\n**Number of layers: [ 6 ]**"
    )
    assert not (pytester.path / GOLDEN).exists()
    run(pytester).assert_outcomes(passed=1)
    write_suite(
        pytester, hidden=5, tests=f"{marker}def test_net(paramform_snapshot):\n    {call}\n"
    )
    run(pytester).stdout.fnmatch_lines(
        ["  ~ stem.weight   shape (4, 8) -> (5, 8)   numel 32 -> 40"]
    )


def test_summary_level_passes_inside_the_tolerance_and_fails_outside(
    pytester: pytest.Pytester,
) -> None:
    _accept(pytester)
    pytester.makeini(
        "[pytest]\nparamform_level = summary\n"
        "paramform_tolerance = 5\nparamform_rel_tolerance = 0.10\n"
    )
    # One more output channel: 194 -> 199 parameters (+2.58%), shares move less than 5 points.
    pytester.makepyfile(
        test_arch=MODEL.format(hidden=4, extra_block=False, bias=True).replace(
            "nn.Linear(HIDDEN, 2, bias=BIAS)", "nn.Linear(HIDDEN, 3, bias=BIAS)"
        )
        + "\n\ndef test_net(paramform_snapshot):\n    paramform_snapshot(Net)\n"
    )
    run(pytester).assert_outcomes(passed=1)

    pytester.makeini("[pytest]\nparamform_level = summary\nparamform_tolerance = 5\n")
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["  totals: layers 6 -> 6, parameters 194 -> 199 (+5, +2.58%, tolerance 0%)"]
    )

    write_suite(pytester, hidden=8)
    pytester.makeini("[pytest]\nparamform_level = summary\nparamform_rel_tolerance = 10\n")
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  forms:  * of parameters* (tolerance 0 pp)"])


def test_an_update_refreshes_a_golden_that_passes_only_within_tolerance(
    pytester: pytest.Pytester,
) -> None:
    _accept(pytester)
    pytester.makeini(
        "[pytest]\nparamform_level = summary\n"
        "paramform_tolerance = 5\nparamform_rel_tolerance = 0.10\n"
    )
    pytester.makepyfile(  # 194 -> 199 parameters: inside both tolerances
        test_arch=MODEL.format(hidden=4, extra_block=False, bias=True).replace(
            "nn.Linear(HIDDEN, 2, bias=BIAS)", "nn.Linear(HIDDEN, 3, bias=BIAS)"
        )
        + "\n\ndef test_net(paramform_snapshot):\n    paramform_snapshot(Net)\n"
    )
    golden = pytester.path / GOLDEN
    stale = golden.read_text()
    run(pytester).assert_outcomes(passed=1)
    assert golden.read_text() == stale, "a check run writes nothing"

    result = run(pytester, "--paramform-update")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*1 snapshot updated*"])
    assert "parameters: 199\n" in golden.read_text(), "the model as it is now"
    refreshed = golden.read_text()
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    assert golden.read_text() == refreshed
    run(pytester).assert_outcomes(passed=1)


def test_turning_buffers_on_fails_until_the_golden_records_them(pytester: pytest.Pytester) -> None:
    _accept(pytester)
    pytester.makeini("[pytest]\nparamform_buffers = true\n")
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  buffers: this run records them and the golden does not"])
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    assert "buffers: []" in (pytester.path / GOLDEN).read_text()
    run(pytester).assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        ("paramform_format = json", "*format must be one of yaml, markdown, got 'json'*"),
        ("paramform_tolerance = lots", "*tolerance must be a number, got 'lots'*"),
    ],
)
def test_bad_ini_values_are_usage_errors(pytester: pytest.Pytester, ini: str, message: str) -> None:
    write_suite(pytester)
    pytester.makeini(f"[pytest]\n{ini}\n")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("42", "paramform: cannot take a report of int 42: expected an nn.Module, a factory*"),
        ("lambda: nn.Sequential(nn.LazyLinear(3))", "paramform: *not initialised yet*forward*"),
    ],
)
def test_bad_sources_fail_with_a_clear_message(
    pytester: pytest.Pytester, source: str, message: str
) -> None:
    write_suite(
        pytester, tests=f"def test_net(paramform_snapshot):\n    paramform_snapshot({source})\n"
    )
    result = run(pytester, "--paramform-update")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([message])
    assert not (pytester.path / "__snapshots__").exists()

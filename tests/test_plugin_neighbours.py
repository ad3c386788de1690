"""Beside the pytest plugins and habits real suites have: pytest-rerunfailures, ``-vv`` and
CI's whole short-summary lines, a plugin that is missing or disabled, the exit codes of runs
that stop early, and a run started where SIGINT is ignored."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from suites import GOLDEN, run, write_suite

pytest_plugins = ["pytester"]

UPDATES = ["--paramform-update", "--snapshot-update"]
FOLDER = GOLDEN.parent
PASSING = "".join(
    f"def test_pass{i}(paramform_snapshot):\n    paramform_snapshot(nn.Linear({i + 2}, 2))\n\n"
    for i in range(4)
)
DRIFTING = "def test_net(paramform_snapshot):\n    paramform_snapshot(Net)\n\n" + PASSING
# Drifts on its first attempt only: the module (and this list) lives on across reruns.
FLAKY = (
    "ATTEMPTS = []\n\n"
    "def test_net(paramform_snapshot):\n"
    "    ATTEMPTS.append(1)\n"
    "    paramform_snapshot(Net() if len(ATTEMPTS) > 1 else nn.Linear(8, 2))\n\n" + PASSING
)


def goldens(pytester: pytest.Pytester) -> list[str]:
    return sorted(p.name for p in pytester.path.rglob("*.paramform.*"))


def accepted(pytester: pytest.Pytester, tests: str = DRIFTING) -> list[str]:
    write_suite(pytester, tests=tests)
    run(pytester, "--paramform-update").assert_outcomes(passed=tests.count("def test_"))
    return goldens(pytester)


# --- pytest-rerunfailures -------------------------------------------------------------


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["", "xdist"])
def test_a_golden_that_drifts_on_every_attempt_is_counted_once(
    pytester: pytest.Pytester, xdist: list[str]
) -> None:
    accepted(pytester)
    write_suite(pytester, hidden=5, tests=DRIFTING)
    result = run(pytester, "--reruns", "2", "--paramform-summary", "s.md", *xdist)
    result.assert_outcomes(passed=4, failed=1)
    assert result.parseoutcomes()["rerun"] == 2
    result.stdout.fnmatch_lines(
        ["*- paramform -*", "1 drifted, 4 passed", f"  drifted  {FOLDER}/test_net.paramform.yaml *"]
    )
    assert result.stdout.str().count(f"drifted  {FOLDER}/test_net.paramform.yaml") == 1
    text = (pytester.path / "s.md").read_text(encoding="utf-8")
    assert "### paramform: 1 drifted, 4 passed\n" in text
    assert text.count("| drifted | `test_arch.py::test_net` |") == 1
    assert text.count("<details>") == 1


def test_a_check_that_passes_on_a_rerun_is_never_counted_as_drifted(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    accepted(pytester, FLAKY.replace("if len(ATTEMPTS) > 1 else nn.Linear(8, 2)", ""))
    write_suite(pytester, tests=FLAKY)
    job_summary = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(job_summary))
    result = run(pytester, "--reruns", "1")
    result.assert_outcomes(passed=5)
    assert result.parseoutcomes()["rerun"] == 1
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "*- paramform -*",
            "5 passed (1 test(s) on rerun)",
            "  passed on rerun  test_arch.py::test_net",
        ]
    )
    assert "1 drifted" not in result.stdout.str()
    text = job_summary.read_text(encoding="utf-8")
    assert "### paramform: 5 passed\n" in text
    assert "| drifted |" not in text
    assert "<details>" not in text
    assert "Passed on rerun: `test_arch.py::test_net`" in text


def test_an_update_run_with_reruns_reports_each_golden_once(pytester: pytest.Pytester) -> None:
    accepted(pytester)
    write_suite(pytester, hidden=5, tests=DRIFTING)
    result = run(pytester, "--reruns", "2", "--paramform-update")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["1 updated, 4 passed"])


# --- the short summary line -----------------------------------------------------------


@pytest.mark.parametrize("where", ["-vv", "CI"])
def test_a_drift_is_printed_whole_once_and_named_in_one_summary_line(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    accepted(pytester)
    write_suite(pytester, hidden=5, tests=DRIFTING)
    monkeypatch.setenv("CI", "true") if where == "CI" else monkeypatch.delenv("CI", raising=False)
    result = run(pytester, *(["-vv"] if where == "-vv" else []))
    result.assert_outcomes(passed=4, failed=1)
    out = result.stdout.str()
    drift_line = "  ~ stem.weight   shape (4, 8) -> (5, 8)   numel 32 -> 40"
    assert out.count(drift_line) == 1, out
    result.stdout.fnmatch_lines(
        [
            "*= FAILURES =*",
            f"paramform: Net differs from {GOLDEN}",
            drift_line,
            "*short test summary info*",
            # whole on pytest >= 8.1 under -vv or CI, cut to the width before
            "FAILED test_arch.py::test_net - Failed: paramform: Net differs from __snapsho*",
            "*1 failed, 4 passed*",
        ]
    )


def test_junit_xml_keeps_the_whole_drift_and_a_one_line_message(
    pytester: pytest.Pytester,
) -> None:
    accepted(pytester)
    write_suite(pytester, hidden=5, tests=DRIFTING)
    run(pytester, "--junit-xml", "junit.xml").assert_outcomes(passed=4, failed=1)
    xml = (pytester.path / "junit.xml").read_text(encoding="utf-8")
    assert f'message="Failed: paramform: Net differs from {GOLDEN}"' in xml
    assert "~ stem.weight   shape (4, 8) -&gt; (5, 8)" in xml


# --- a missing or disabled plugin ----------------------------------------------------


def test_without_the_plugin_syrupy_deletes_every_golden(pytester: pytest.Pytester) -> None:
    """Why the README's guard exists: syrupy alone owns no ``*.paramform.yaml``."""
    accepted(pytester, PASSING)
    write_suite(pytester, tests="def test_other(snapshot):\n    assert snapshot == 1\n")
    run(pytester, "-p", "no:paramform", "--snapshot-update")
    assert goldens(pytester) == []


@pytest.mark.parametrize("run_args", [[], ["--snapshot-update"]], ids=["check", "update"])
def test_required_plugins_stops_a_run_without_the_plugin_before_it_deletes(
    pytester: pytest.Pytester, run_args: list[str]
) -> None:
    before = accepted(pytester, PASSING)
    pytester.makeini("[pytest]\nrequired_plugins = pytest-paramform syrupy\n")
    result = run(pytester, "-p", "no:paramform", *run_args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*Missing required plugins: pytest-paramform*"])
    assert goldens(pytester) == before
    run(pytester, *run_args).assert_outcomes(passed=4)  # with the plugin: a normal run
    assert goldens(pytester) == before


def test_dash_p_paramform_loads_the_plugin_when_autoloading_is_off(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = accepted(pytester, PASSING)
    pytester.makeini("[pytest]\naddopts = -p syrupy -p paramform\n")
    run(pytester).assert_outcomes(passed=4)  # loaded twice over: no error
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    run(pytester, "--snapshot-update").assert_outcomes(passed=4)
    assert goldens(pytester) == before


# --- exit codes ------------------------------------------------------------------------

STOPS = "def test_net(paramform_snapshot):\n    assert False, 'broken'\n\n" + PASSING


@pytest.mark.parametrize("update", [*UPDATES, None])
def test_sw_stopping_at_a_failure_exits_2_and_keeps_every_golden(
    pytester: pytest.Pytester, update: str | None
) -> None:
    before = accepted(pytester, DRIFTING)
    write_suite(pytester, tests=STOPS)
    for cache in pytester.path.rglob("__pycache__"):  # as suites.run, with --sw's cache
        shutil.rmtree(cache)
    result = pytester.runpytest("--sw", *([update] if update else []))
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert goldens(pytester) == before


@pytest.mark.parametrize("update", UPDATES)
def test_an_update_run_exits_0_when_all_passed_and_1_when_a_test_failed(
    pytester: pytest.Pytester, update: str
) -> None:
    before = accepted(pytester, DRIFTING)
    write_suite(pytester, hidden=5, tests=DRIFTING)
    assert run(pytester, update).ret == pytest.ExitCode.OK
    write_suite(pytester, tests=STOPS)
    assert run(pytester, update).ret == pytest.ExitCode.TESTS_FAILED
    assert goldens(pytester) == before


# --- interruptions, whatever signal dispositions the run inherits ------------------------


@pytest.fixture
def sigint_ignored() -> Iterator[None]:
    """As in a shell's background job (``cmd &``, ``nohup``): SIGINT starts ignored."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("sigint_ignored")
@pytest.mark.parametrize("update", UPDATES)
@pytest.mark.parametrize(
    "interrupt", ["os.kill(os.getpid(), signal.SIGINT)", "raise KeyboardInterrupt"]
)
def test_an_interrupted_update_keeps_goldens_even_where_sigint_starts_ignored(
    pytester: pytest.Pytester, update: str, interrupt: str
) -> None:
    before = accepted(pytester, PASSING)
    interrupted = PASSING.replace("paramform_snapshot(nn.Linear(3, 2))", interrupt)
    write_suite(pytester, tests="import os, signal\n\n" + interrupted)
    result = run(pytester, update, ctrl_c=True)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert goldens(pytester) == before
    result.stdout.fnmatch_lines(["*the run was interrupted*"])

"""The run summary for reviewers: a Markdown table in the CI job summary or a file, and a
short terminal section naming the goldens that did not pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from suites import GOLDEN, run, write_suite

pytest_plugins = ["pytester"]

BEFORE = (
    "def test_drift(paramform_snapshot):\n    paramform_snapshot(Net)\n\n"
    "def test_pass(paramform_snapshot):\n    paramform_snapshot(nn.Linear(2, 2))\n\n"
)
AFTER = BEFORE + "def test_new(paramform_snapshot):\n    paramform_snapshot(nn.Linear(3, 3))\n"
DRIFT_ROW = "| drifted | `test_arch.py::test_drift` | Net | 6 -> 6 | 194 -> 287 (+93, +47.94%) |"


def _rows(text: str) -> list[str]:
    """The table's body rows (header and separator left out)."""
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    return rows[2:]


def _drifted_and_new(pytester: pytest.Pytester) -> None:
    write_suite(pytester, tests=BEFORE)
    run(pytester, "--paramform-update").assert_outcomes(passed=2)
    write_suite(pytester, hidden=5, tests=AFTER)


def test_summary_file_lists_drifted_and_new_goldens_and_counts_the_passed(
    pytester: pytest.Pytester,
) -> None:
    _drifted_and_new(pytester)
    result = run(pytester, "--paramform-summary", "reports/paramform.md")
    result.assert_outcomes(passed=1, failed=2)
    text = (pytester.path / "reports/paramform.md").read_text(encoding="utf-8")
    assert "### paramform: 1 drifted, 1 new, 1 passed\n" in text
    rows = _rows(text)
    assert len(rows) == 2, text
    assert rows[0].startswith(DRIFT_ROW)
    assert rows[1].startswith("| new | `test_arch.py::test_new` | Linear | 2 | 12 |")
    assert text.count("<details>") == 1
    assert "  ~ stem.weight   shape (4, 8) -> (5, 8)   numel 32 -> 40" in text
    assert "1 golden passed." in text

    result.stdout.fnmatch_lines(
        [
            "*- paramform -*",
            "1 drifted, 1 new, 1 passed",
            f"  drifted  {GOLDEN.parent}/test_drift.paramform.yaml (Net, test_arch.py::test_drift)",
            f"  new      {GOLDEN.parent}/test_new.paramform.yaml (Linear, test_arch.py::test_new)",
        ]
    )


def test_an_update_run_summarises_what_it_wrote(pytester: pytest.Pytester) -> None:
    _drifted_and_new(pytester)
    result = run(pytester, "--paramform-update", "--paramform-summary", "s.md")
    result.assert_outcomes(passed=3)
    text = (pytester.path / "s.md").read_text(encoding="utf-8")
    assert "### paramform: 1 updated, 1 created, 1 passed\n" in text
    assert [row.split(" | ")[0] for row in _rows(text)] == ["| updated", "| created"]
    result.stdout.fnmatch_lines(["1 updated, 1 created, 1 passed"])

    write_suite(pytester, hidden=5, tests=AFTER.replace("def test_pass", "def test_renamed"))
    result = run(pytester, "--paramform-update", "--paramform-summary", "s2.md")
    result.assert_outcomes(passed=3)
    text = (pytester.path / "s2.md").read_text(encoding="utf-8")
    assert "### paramform: 1 created, 1 deleted, 2 passed\n" in text
    assert _rows(text)[1].startswith(f"| deleted | `{GOLDEN.parent}/test_pass.paramform.yaml` |")


def test_github_step_summary_is_appended_to(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    step_summary = tmp_path / "step_summary.md"
    step_summary.write_text("## an earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    write_suite(
        pytester, tests=BEFORE + "def test_gone(paramform_snapshot):\n    paramform_snapshot(Net)\n"
    )
    run(pytester, "--paramform-update").assert_outcomes(passed=3)
    assert "### paramform: 3 created, 0 passed\n" in step_summary.read_text()
    write_suite(pytester, hidden=5, tests=BEFORE)

    result = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    text = step_summary.read_text(encoding="utf-8")
    assert text.startswith("## an earlier step\n"), "appended, never truncated"
    last = text.rsplit("### paramform:", 1)[1]
    assert last.startswith(" 1 drifted, 1 unused, 1 passed\n")
    rows = _rows(last)
    assert rows[0].startswith(DRIFT_ROW)
    assert rows[1].startswith(
        f"| unused | `{GOLDEN.parent}/test_gone.paramform.yaml` | Net | 6 | 194 |"
    )


def test_a_run_without_checks_adds_nothing_to_the_job_summary(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    step_summary = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = run(pytester)
    result.assert_outcomes(passed=1)
    assert not step_summary.exists()
    assert "- paramform -" not in result.stdout.str()


def test_passing_goldens_print_no_terminal_section(pytester: pytest.Pytester) -> None:
    write_suite(pytester, tests=BEFORE)
    run(pytester, "--paramform-update").assert_outcomes(passed=2)
    result = run(pytester, "--paramform-summary", "s.md")
    result.assert_outcomes(passed=2)
    assert "- paramform -" not in result.stdout.str()
    assert (pytester.path / "s.md").read_text() == (
        "\n### paramform: 2 passed\n\n2 goldens passed.\n"
    )


def test_an_unwritable_summary_is_named_and_the_run_goes_on(pytester: pytest.Pytester) -> None:
    _drifted_and_new(pytester)
    (pytester.path / "blocked").write_text("a file, not a folder")
    result = run(pytester, "--paramform-summary", "blocked/s.md")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["paramform: cannot write the summary to *blocked/s.md: *"])


@pytest.mark.slow
def test_under_xdist_the_controller_writes_it_once_and_complete(pytester: pytest.Pytester) -> None:
    tests = "".join(
        f"def test_net{i}(paramform_snapshot):\n    paramform_snapshot(Net)\n\n"
        f"def test_linear{i}(paramform_snapshot):\n    paramform_snapshot(nn.Linear(2, 2))\n\n"
        for i in range(3)
    )
    write_suite(pytester, tests=tests)
    run(pytester, "-n", "2", "--paramform-update").assert_outcomes(passed=6)
    write_suite(pytester, hidden=5, tests=tests)
    result = run(pytester, "-n", "2", "--paramform-summary", "s.md")
    result.assert_outcomes(passed=3, failed=3)
    text = (pytester.path / "s.md").read_text(encoding="utf-8")
    assert text.count("### paramform:") == 1, text
    assert "### paramform: 3 drifted, 3 passed\n" in text
    assert sorted(row.split(" | ")[1] for row in _rows(text)) == [
        f"`test_arch.py::test_net{i}`" for i in range(3)
    ]
    assert text.count("<details>") == 3
    result.stdout.fnmatch_lines(["3 drifted, 3 passed"])

"""The run's paramform summary: what each check found, gathered from pytest-xdist workers,
named in a short terminal section and appended as Markdown to the CI job summary
(``GITHUB_STEP_SUMMARY``, set by GitHub Actions) and to ``--paramform-summary PATH``.

A check that passes is only counted. The files are appended to, never replaced (a job
summary holds every step's output), and only by the process that saw the whole run: the
xdist controller, or pytest itself without xdist.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pytest_paramform.comparison.core import render_drift
from pytest_paramform.comparison.markdown import GoldenRow, code, figures, render_summary
from pytest_paramform.errors import ParamFormError
from pytest_paramform.files import read_text, relative
from pytest_paramform.plugin.extensions import Outcome
from pytest_paramform.report import ParamFormReport

TERMINAL_ROWS = 20  # the terminal section stays short; the Markdown summary lists all


@dataclass
class RunSummary:
    """Every check of the run that did not simply pass, and how many did."""

    rows: list[GoldenRow] = field(default_factory=list)
    passed: int = 0
    unused: list[GoldenRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    reran: list[str] = field(default_factory=list)  # tests whose checks passed on a rerun
    _passes: Counter[str] = field(default_factory=Counter, init=False, repr=False)

    def record(
        self,
        *,
        test: str,
        golden: str,
        report: ParamFormReport,
        outcome: Outcome,
        update: bool,
        failure: str | None,
    ) -> None:
        row = _row(test, golden, report, outcome, update, failure)
        if row is None:
            self.passed += 1
            self._passes[test] += 1
        else:
            self.rows.append(row)

    def record_failure(self, *, test: str, golden: str, model: str, message: str) -> None:
        """A check that failed before it read its golden (a budget, a forward pass, the
        source): a failed row, and the golden still its test's, never "unused"."""
        row = GoldenRow("failed", test, model, "", "", "", message=message, golden=golden)
        self.rows.append(row)

    def owned(self) -> set[str]:
        """The goldens a check of this run reached or meant to reach."""
        return {row.golden for row in self.rows}

    def discard(self, test: str) -> None:
        """Forget what an attempt of ``test`` found: pytest-rerunfailures runs it again,
        and only the final attempt counts."""
        self.rows = [row for row in self.rows if row.test != test]
        self.passed -= self._passes.pop(test, 0)

    def passed_on_rerun(self, test: str) -> None:
        if self._passes[test]:
            self.reran.append(test)

    def dump(self) -> dict[str, Any]:
        """What a worker sends the controller, in the plain types execnet carries."""
        rows = [asdict(row) for row in self.rows]
        return {"rows": rows, "passed": self.passed, "reran": self.reran}

    def merge(self, sent: dict[str, Any]) -> None:
        self.rows.extend(GoldenRow(**row) for row in sent["rows"])
        self.passed += int(sent["passed"])
        self.reran.extend(sent.get("reran", []))

    def ordered(self) -> list[GoldenRow]:
        """The rows by test id: the same order whichever xdist worker ran which test."""
        return sorted(self.rows, key=lambda row: row.test)

    def markdown(self) -> str:
        text = render_summary([*self.ordered(), *self.unused], self.passed)
        return text + "".join(f"Passed on rerun: {code(test)}\n" for test in sorted(self.reran))

    def terminal_lines(self) -> list[str]:
        """The goldens that did not pass, one a line, and the tests that passed only on a
        rerun; nothing when every check passed at once."""
        if not self.rows and not self.reran:
            return self.problems
        rows = self.ordered()
        tally = [f"{n} {status}" for status, n in Counter(r.status for r in rows).items()]
        reran = f" ({len(self.reran)} test(s) on rerun)" if self.reran else ""
        lines = [", ".join([*tally, f"{self.passed} passed{reran}"])]
        width = max((len(row.status) for row in rows), default=0)
        shown = rows[:TERMINAL_ROWS]
        lines += [f"  {r.status:<{width}}  {r.golden} ({_who(r)})" for r in shown]
        if len(rows) > len(shown):
            lines.append(f"  ... and {len(rows) - len(shown)} more")
        lines += [f"  passed on rerun  {test}" for test in sorted(self.reran)]
        return [*lines, *self.problems]


def _who(row: GoldenRow) -> str:
    """The model and the test; a check that failed before its model was built has none."""
    return f"{row.model}, {row.test}" if row.model else row.test


def _row(
    test: str,
    golden: str,
    report: ParamFormReport,
    outcome: Outcome,
    update: bool,
    failure: str | None,
) -> GoldenRow | None:
    """The row of one check, or None when it passed and wrote nothing."""
    expected = outcome.expected
    if failure is not None and update:  # an update that could not write
        status, expected = "failed", None
    elif outcome.problem is not None:
        status, expected = ("rewritten" if update else "broken"), None
    elif expected is None:
        status = "created" if update else "new"
    elif outcome.drifts:
        status = "updated" if update else "drifted"
    elif outcome.refreshed:
        status = "refreshed"
    elif failure is not None:
        status = "failed"
    else:
        return None
    message = failure or ""
    if not message and outcome.drifts:  # an update run: what it accepted
        message = render_drift(
            outcome.drifts,
            model=report.name,
            golden=golden,
            accept=None,
            expected=outcome.expected,
            actual=report,
        )
    if status == "new":
        message = ""  # nothing to unfold: the row says it all
    return GoldenRow(
        status, test, report.name, *figures(expected, report), message=message, golden=golden
    )


def unused_rows(locations: list[str], rootpath: Path) -> list[GoldenRow]:
    """Rows for the goldens no test used: ``deleted`` when the update run removed them."""
    rows = []
    for location in locations:
        path = Path(location)
        golden = relative(location, rootpath)
        if not path.exists():
            rows.append(GoldenRow("deleted", golden, "", "", "", "", golden=golden))
            continue
        expected = _read(path)
        model = expected.name if expected is not None else ""
        rows.append(GoldenRow("unused", golden, model, *figures(expected, None), golden=golden))
    return rows


def _read(path: Path) -> ParamFormReport | None:
    from pytest_paramform import formats

    fmt = formats.for_file(path.name)
    try:
        return None if fmt is None else fmt.parse(read_text(path), path=str(path))
    except (ParamFormError, OSError):
        return None


def targets(option: str | None, job_summary: str | None, invocation_dir: Path) -> list[Path]:
    """Where the summary goes (``--paramform-summary PATH``, the CI job summary), each
    file once even when both name it."""
    found = [Path(invocation_dir, p) for p in (option, job_summary) if p]
    return list({path.resolve(): path for path in found}.values())


def append(path: Path, text: str) -> str | None:
    """Append ``text``; the problem, in words, if the file cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write(f"\n{text}")
    except OSError as exc:
        return f"paramform: cannot write the summary to {path}: {exc.strerror or exc}"
    return None

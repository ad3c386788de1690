"""Drift as Markdown, for people who read it rendered: the job summary the pytest plugin
writes for CI (one table row per golden that did not pass, each message in a
``<details>`` block) and ``paramform diff --format markdown`` for a pull request comment.

Pure: reports and strings in, Markdown out. Table cells are escaped (``|``, newlines,
HTML and emphasis characters; a ``<summary>`` as HTML), and messages sit in code fences
longer than any run of backticks they hold, so no name a model or a test can have breaks
the layout.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pytest_paramform.comparison.core import parameters_change, share_change
from pytest_paramform.report import ParamFormReport

# Backslash escapes (GitHub Flavored Markdown) for what would change a cell's meaning.
_SPECIAL = re.compile(r"([\\`*_\[\]<|~&])")
COLUMNS = ("Layers", "Parameters", "Parameter shares")


def cell(text: str) -> str:
    """``text`` as one table cell: literal, on one line."""
    # Every line break Python knows (U+2028, \x1e, ...), not only those Markdown knows.
    return "<br>".join(_SPECIAL.sub(r"\\\1", text).splitlines())


def code(text: str) -> str:
    """``text`` as a code span in a table cell: literal, monospace, on one line."""
    body = " ".join(text.splitlines()).replace("|", "\\|")
    ticks = "`" * (_longest_backticks(body) + 1)
    pad = " " if body[:1] == "`" or body[-1:] == "`" else ""
    return f"{ticks}{pad}{body}{pad}{ticks}"


def _longest_backticks(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table of cells already made with ``cell`` or ``code``."""
    lines = [_row(headers), "| " + " | ".join("---" for _ in headers) + " |"]
    lines += [_row(row) for row in rows]
    return "\n".join(lines) + "\n"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def details(summary: str, message: str) -> str:
    """``message`` verbatim in a code block that opens when ``summary`` is clicked."""
    fence = "`" * max(3, _longest_backticks(message) + 1)
    return (
        f"<details><summary>{html.escape(' '.join(summary.split()))}</summary>\n\n"
        f"{fence}text\n{message}\n{fence}\n\n</details>\n"
    )


def figures(
    expected: ParamFormReport | None, actual: ParamFormReport | None
) -> tuple[str, str, str]:
    """Layers, parameters and form shares: ``before -> after`` when there are two sides,
    the one side's figures when there is one (a new golden, an unused one)."""
    if expected is not None and actual is not None:
        layers = f"{expected.num_layers:,} -> {actual.num_layers:,}"
        parameters = parameters_change(expected.num_parameters, actual.num_parameters)
        return layers, parameters, share_change(expected, actual)
    side = actual if actual is not None else expected
    if side is None:
        return ("", "", "")
    shares = ", ".join(f"{form} {share:.2f}%" for form, share in side.parameter_shares.items())
    return f"{side.num_layers:,}", f"{side.num_parameters:,}", shares


@dataclass(frozen=True)
class GoldenRow:
    """One golden that did not simply pass, in plain strings (pytest-xdist carries them)."""

    status: str  # drifted, new, broken, unused; in update runs updated, refreshed, created
    test: str  # the test's id, or the golden's path when no test owns it
    model: str
    layers: str
    parameters: str
    shares: str
    message: str = ""  # the full message, shown in a <details> block when there is one
    golden: str = ""  # the golden's path, for the terminal


def render_summary(rows: Sequence[GoldenRow], passed: int) -> str:
    """The run's paramform section for a CI job summary."""
    counts = Counter(row.status for row in rows)
    tally = [f"{n} {status}" for status, n in counts.items()] + [f"{passed} passed"]
    parts = [f"### paramform: {', '.join(tally)}\n"]
    if rows:
        headers = ("Status", "Test", "Model", *COLUMNS)
        parts.append(table(headers, [_cells(row) for row in rows]))
        parts += [details(f"{row.status}: {row.test}", row.message) for row in rows if row.message]
    noun = "golden" if passed == 1 else "goldens"
    parts.append(f"{passed} {noun} passed.\n")
    return "\n".join(parts)


def _cells(row: GoldenRow) -> tuple[str, ...]:
    figures = (row.layers, row.parameters, row.shares)
    return (row.status, code(row.test), cell(row.model), *(cell(text) for text in figures))


def render_diff(
    expected: ParamFormReport, actual: ParamFormReport, *, label: str, message: str
) -> str:
    """``paramform diff --format markdown``: the figures as a table, the whole drift
    message (``render_drift``'s) in the same ``<details>`` block as the job summary's."""
    heading = f"### paramform: {cell(actual.name)} differs from {cell(label)}\n"
    figures_table = table(COLUMNS, [[cell(text) for text in figures(expected, actual)]])
    return "\n".join([heading, figures_table, details("every change", message)])

"""Drift as Markdown (the CI job summary, `paramform diff --format markdown`): pure text."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_paramform.cli import main
from pytest_paramform.comparison import compare, render_drift
from pytest_paramform.comparison.markdown import (
    GoldenRow,
    cell,
    code,
    details,
    figures,
    render_diff,
    render_summary,
    table,
)
from pytest_paramform.report import ParamFormReport, ParamRow

BEFORE = ParamFormReport("Net", (ParamRow("fc.weight", (4, 8)), ParamRow("fc.bias", (4,))))
AFTER = ParamFormReport("Net", (ParamRow("fc.weight", (6, 8)), ParamRow("fc.bias", (6,))))


def _drifted(test: str = "tests/test_arch.py::test_net") -> GoldenRow:
    message = render_drift(compare(BEFORE, AFTER), model="Net", golden="g.yaml", accept=None)
    return GoldenRow("drifted", test, "Net", *figures(BEFORE, AFTER), message=message)


def _table_cells(markdown: str) -> list[list[str]]:
    """The cells of each table row, split on pipes that are not escaped."""
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    return [re.split(r"(?<!\\)\|", row.strip())[1:-1] for row in rows]


def test_figures_before_and_after() -> None:
    assert figures(BEFORE, AFTER) == ("2 -> 2", "36 -> 54 (+18, +50.00%)", "")
    wider = ParamFormReport("Net", (ParamRow("fc.weight", (4, 8)), ParamRow("fc.bias", (8,))))
    assert figures(BEFORE, wider)[2] == "Vector 11.11% -> 20.00%, Matrix 88.89% -> 80.00%"


def test_figures_of_one_side_are_its_own() -> None:
    assert figures(None, AFTER) == ("2", "54", "Vector 11.11%, Matrix 88.89%")
    assert figures(BEFORE, None) == ("2", "36", "Vector 11.11%, Matrix 88.89%")


def test_summary_has_a_row_per_golden_that_did_not_pass_and_counts_the_rest() -> None:
    new = GoldenRow("new", "tests/test_arch.py::test_new", "Net", *figures(None, AFTER))
    text = render_summary([_drifted(), new], passed=3)
    assert text.startswith("### paramform: 1 drifted, 1 new, 3 passed\n")
    cells = _table_cells(text)
    assert [c.strip() for c in cells[0]] == [
        "Status",
        "Test",
        "Model",
        "Layers",
        "Parameters",
        "Parameter shares",
    ]
    assert len(cells) == 4, "header, separator and two rows"
    assert cells[2][0].strip() == "drifted"
    assert cells[2][4].strip() == "36 -> 54 (+18, +50.00%)"
    assert cells[3][:2] == [" new ", " `tests/test_arch.py::test_new` "]
    assert text.count("<details>") == 1, "only a drift has a message to unfold"
    assert "~ fc.weight   shape (4, 8) -> (6, 8)" in text
    assert text.endswith("3 goldens passed.\n")


def test_a_summary_of_passing_goldens_has_no_table() -> None:
    text = render_summary([], passed=1)
    assert text == "### paramform: 1 passed\n\n1 golden passed.\n"


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a|b", r"a\|b"),
        ("two\nlines\r\nthree", "two<br>lines<br>three"),
        ("<script>", r"\<script>"),
        ("*bold* _it_ `code` [link]", r"\*bold\* \_it\_ \`code\` \[link\]"),
        (r"back\slash", r"back\\slash"),
        ("194 -> 398 (+204, +105.15%)", "194 -> 398 (+204, +105.15%)"),
    ],
)
def test_cells_are_escaped_and_readable(raw: str, escaped: str) -> None:
    assert cell(raw) == escaped


@pytest.mark.parametrize(
    ("raw", "span"),
    [
        ("tests/test_a.py::test_x[a|b]", r"`tests/test_a.py::test_x[a\|b]`"),
        ("test_x[`]", "``test_x[`]``"),
        ("`edge`", "`` `edge` ``"),
        ("two\nlines", "`two lines`"),
    ],
)
def test_test_ids_are_code_spans(raw: str, span: str) -> None:
    assert code(raw) == span


@given(st.text())
def test_no_text_breaks_a_table_row(text: str) -> None:
    rendered = table(("A", "B", "C"), [(cell(text), code(text), "x")])
    lines = rendered.splitlines()
    assert len(lines) == 3
    assert len(_table_cells(rendered)[2]) == 3


def test_a_message_holding_backticks_keeps_its_code_block() -> None:
    block = details("drifted: t", "name ``` with ```` fences")
    assert "`````text\nname ``` with ```` fences\n`````" in block
    assert details("a <b> & c", "m").startswith("<details><summary>a &lt;b&gt; &amp; c</summary>")


def test_diff_markdown_reuses_the_details_block() -> None:
    message = render_drift(compare(BEFORE, AFTER), model="Net", golden="a", accept=None)
    text = render_diff(BEFORE, AFTER, label="a", message=message)
    assert text.startswith("### paramform: Net differs from a\n")
    assert details("every change", message) in text
    assert "| 2 -> 2 | 36 -> 54 (+18, +50.00%) |" in text


def test_paramform_diff_format_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "toy_models:Scalars", "toy_models:Scalars", "--format", "markdown"]) == 0
    assert "matches" in capsys.readouterr().out
    argv = ["diff", "torchvision:resnet18", "torchvision:resnet34", "--format", "markdown"]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert out.startswith("### paramform: resnet34 differs from torchvision:resnet18\n")
    assert "| 62 -> 110 | 11,689,512 -> 21,797,672 (+10,108,160, +86.47%) |" in out
    assert "<details><summary>every change</summary>\n\n```text\n" in out
    assert "  + layer2.{2,3}: 2 blocks like layer2.1 (6 tensors, +295,424 parameters each)" in out

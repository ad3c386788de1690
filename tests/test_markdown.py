"""The Markdown golden: the seed's layout, parsed back and verified (no torch needed)."""

from __future__ import annotations

import pytest

from pytest_paramform import GoldenError, ParamFormReport, ParamRow
from pytest_paramform.formats import from_markdown, to_markdown
from pytest_paramform.formats.markdown_tables import escape, split_cells, unescape

from text_edits import replace_once

SEED_LAYER_SHARES = {
    "Vector": 66.46,
    "Matrix": 22.15,
    "Tensor rank 3": 10.76,
    "Tensor rank 4": 0.63,
}
SEED_PARAM_SHARES = {"Vector": 1.00, "Matrix": 97.14, "Tensor rank 3": 1.83, "Tensor rank 4": 0.02}


def test_seed_parses_to_its_own_figures(seed_text: str) -> None:
    report = from_markdown(seed_text)
    assert report.name == "mobilenet_v2"
    assert (report.num_layers, report.num_parameters) == (158, 3_504_872)
    assert {k: round(v, 2) for k, v in report.layer_shares.items()} == SEED_LAYER_SHARES
    assert {k: round(v, 2) for k, v in report.parameter_shares.items()} == SEED_PARAM_SHARES
    assert report.rows[0] == ParamRow("features.0.0.weight", (32, 3, 3, 3))
    assert report.rows[-1] == ParamRow("classifier.1.bias", (1000,))


def test_seed_renders_back_byte_for_byte(seed_text: str, seed_without_chart: str) -> None:
    report = from_markdown(seed_text)
    assert to_markdown(report) == seed_without_chart
    assert to_markdown(report, chart="../figs/mobilenet_v2_pie_chart.png") == seed_text


def test_every_seed_row_is_rendered_as_in_the_seed(seed_text: str) -> None:
    seed_rows = [line for line in seed_text.splitlines() if line.startswith("| features.")]
    seed_rows += [line for line in seed_text.splitlines() if line.startswith("| classifier.")]
    rendered = to_markdown(from_markdown(seed_text)).splitlines()
    assert len(seed_rows) == 158
    assert all(row in rendered for row in seed_rows)


def test_model_without_parameters_renders_zeros_and_parses_back() -> None:
    empty = ParamFormReport("nothing", ())
    text = to_markdown(empty)
    assert "**Number of layers: [ 0 ]**" in text
    assert "**Number of parameters: [ 0 ]**" in text
    assert "| 0.00 | 0.00 | " in text
    assert from_markdown(text) == empty


@pytest.mark.parametrize(
    "name", ["a|b", "back\\slash", "end\\", "tab\there", " lead", "trail ", "new\nline", "層|x"]
)
def test_names_are_escaped_so_they_survive(name: str) -> None:
    assert unescape(escape(name)) == name
    report = ParamFormReport("m", (ParamRow(name, (2,)),))
    assert from_markdown(to_markdown(report)) == report


def test_split_cells_keeps_escaped_pipes_inside_a_cell() -> None:
    assert split_cells(r"| a\|b | (2,) | x\\ |", 1) == [r"a\|b", "(2,)", "x\\\\"]


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("**Number of layers: [ 158 ]**", "**Number of layers: [ 157 ]**", 3, "157 but"),
        ("[ 3.50M ]", "[ 3.60M ]", 5, "3.60M but"),
        ("| 66.46 | 22.15 |", "| 66.00 | 22.15 |", 11, "66.00% but the rows give 66.46%"),
        ("| 1.00 | 97.14 |", "| 1.00 | 97.41 |", 18, "97.41%"),
        ("| (32, 3, 3, 3) | 864 |", "| (32, 3, 3, 3) | 865 |", 27, "865 does not match"),
        ("| 864 | Tensor rank 4 |", "| 864 | Matrix |", 27, "form 'Matrix' does not match"),
        ("| (32, 3, 3, 3) | (32, 3, 3, 3) |", "| (32, 3, 3, 3) | (32, 3, 3) |", 27, "squeezed"),
        ("| features.0.0.weight |", "| features.0|0.weight |", 27, "unescaped '|'"),
        ("| 864 | Tensor rank 4 |", "| 864 | Tensor rank 4 | extra |", 27, "got 6"),
        ("| (32,) | (32,) | 32 |", "| (32,) | (32,) | many |", 28, "whole number"),
        ("| features.0.1.bias |", "| features.0.1.weight |", 29, "appears twice"),
        ("# mobilenet_v2 parameter", "# mobilenet_v2 param", 1, "not a paramform document"),
        ("| Name | Shape |", "| Name | Size |", 25, "expected columns"),
    ],
)
def test_a_hand_edited_golden_is_an_error_naming_file_line_and_problem(
    seed_text: str, old: str, new: str, line: int, message: str
) -> None:
    with pytest.raises(GoldenError, match=r"golden\.md") as info:
        from_markdown(replace_once(seed_text, old, new), path="golden.md")
    assert info.value.path == "golden.md"
    assert info.value.line == line
    assert message in str(info.value)


def test_a_truncated_golden_is_an_error(seed_text: str) -> None:
    truncated = "\n".join(seed_text.splitlines()[:100])
    with pytest.raises(
        GoldenError, match="Number of layers is 158 but the parameter rows add up to 74"
    ):
        from_markdown(truncated)
    with pytest.raises(GoldenError, match="ends before the Proportional of each form table"):
        from_markdown("\n".join(seed_text.splitlines()[:8]))


def test_missing_layer_table_is_an_error(seed_text: str) -> None:
    head = seed_text.split("**Layer information**")[0]
    with pytest.raises(GoldenError, match="ends before Layer information"):
        from_markdown(head)


@pytest.mark.parametrize("text", ["", "   \n\n", "hello world\n", "# README\n\nSome docs.\n"])
def test_other_documents_are_not_goldens(text: str) -> None:
    with pytest.raises(GoldenError, match=r"empty|not a paramform document"):
        from_markdown(text, path="doc.md")


def test_text_after_the_table_is_an_error(seed_text: str) -> None:
    with pytest.raises(GoldenError, match="unexpected text after the tables"):
        from_markdown(seed_text + "\nSome notes\n")


def test_aligned_table_cells_from_a_formatter_still_parse(seed_text: str) -> None:
    padded = seed_text.replace("| features.0.0.weight |", "|   features.0.0.weight    |")
    assert from_markdown(padded) == from_markdown(seed_text)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("| 66.46 | 22.15 |", "| nan | 22.15 |", "expected a percentage"),
        ("| 66.46 | 22.15 |", "| inf | 22.15 |", "expected a percentage"),
        (
            "| Vector | Matrix | Tensor rank 3 |",
            "| Vector | Vector | Tensor rank 3 |",
            "appears twice",
        ),
    ],
)
def test_values_a_float_parser_would_wave_through(
    seed_text: str, old: str, new: str, message: str
) -> None:
    with pytest.raises(GoldenError, match=message):
        from_markdown(replace_once(seed_text, old, new), path="g.md")


def test_an_out_of_range_escape_is_text_not_a_crash(seed_text: str) -> None:
    text = replace_once(seed_text, "| features.0.0.weight |", "| features\\UFFFFFFFF |")
    assert from_markdown(text).rows[0].name == "featuresUFFFFFFFF"


def test_a_shape_cell_of_many_spaces_fails_at_once(seed_text: str) -> None:
    text = replace_once(seed_text, "| (32, 3, 3, 3) | 864 |", "| (" + " " * 20_000 + "x | 864 |")
    with pytest.raises(GoldenError, match="expected a shape"):
        from_markdown(text)

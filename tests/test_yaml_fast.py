"""The fast reader must read exactly what PyYAML reads, or hand the document back."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml
from hypothesis import given
from test_forward_formats import _report, forwards
from test_roundtrip import reports

from pytest_paramform import ParamFormReport
from pytest_paramform.formats import from_yaml, to_yaml
from pytest_paramform.formats.yaml_fast import read_canonical
from pytest_paramform.formats.yaml_format import _canonical_row, _Loader
from pytest_paramform.formats.yaml_tokens import NotCanonical
from pytest_paramform.forward_report import ForwardReport
from pytest_paramform.report import ParamRow

FORWARD = _report()  # resnet50-like: a lone output, named leaves, calls


def production_load(text: str) -> object:
    """What the fallback path (PyYAML's C safe loader, duplicate keys refused) reads."""
    return yaml.load(text, Loader=_Loader)


@given(reports())
def test_canonical_goldens_read_as_pyyaml_reads_them(report: ParamFormReport) -> None:
    text = to_yaml(report)
    data, lines = read_canonical(text)
    assert data == production_load(text)
    assert len(lines.items["params"]) == len(report.rows)


@given(reports())
def test_rows_made_once_per_distinct_shape_are_the_report_rows(report: ParamFormReport) -> None:
    """The golden reader's path: a row's text is checked once per distinct shape and flags."""
    text = to_yaml(report)
    data, lines = read_canonical(text, _canonical_row, ParamRow.trusted_rows)
    assert tuple(data["params"]) == report.rows
    assert lines == read_canonical(text)[1]


def test_a_repeated_row_that_breaks_the_layout_falls_back_in_the_middle_of_a_block() -> None:
    rows = tuple(ParamRow(f"w{i}", (3, 4)) for i in range(5))
    text = to_yaml(ParamFormReport("m", rows))
    broken = text.replace("- {name: w3, shape: [3, 4]", "- {name: w3, shape: [3,4]", 1)
    with pytest.raises(NotCanonical):
        read_canonical(broken, _canonical_row, ParamRow.trusted_rows)
    reserved = text.replace("name: w3,", "name: Yes,")
    with pytest.raises(NotCanonical):
        read_canonical(reserved, _canonical_row, ParamRow.trusted_rows)


@pytest.mark.parametrize(
    "comment",
    ["# a line\u2028source: checkpoint", "# a line\x85source: checkpoint", "# bell \x01", "# cr\r"],
)
def test_comments_that_yaml_reads_otherwise_fall_back(comment: str) -> None:
    from pytest_paramform.report import ParamRow

    text = to_yaml(ParamFormReport("m", (ParamRow("w", (3,)),)))
    text = text.replace("# Regenerate", comment + "\n# Regenerate", 1)
    with pytest.raises(NotCanonical):
        read_canonical(text)


def test_lines_are_those_of_the_document() -> None:
    from pytest_paramform.report import ParamRow

    text = to_yaml(ParamFormReport("m", (ParamRow("a", (2,)), ParamRow("b", (3,)))))
    _, lines = read_canonical(text)
    assert lines.keys["layers"] == 5
    assert lines.items["params"] == [12, 13]
    assert text.splitlines()[11].startswith("- {name: a,")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("numel: 12,", "numel: 012,"),  # YAML 1.1 reads 012 as octal
        ("name: w,", "name: 'w',"),
        ("name: w,", 'name: "w\\x41",'),
        ("layers: 1\n", "layers: 1  # one\n"),
        ("params:\n", "params:\n\n  # indented comment\n"),
        ("model: m\n", "model: m\nmodel: n\n"),
        ("name: w,", "name: yes,"),
        ("form: Matrix}", "form: Matrix }"),
        ("shape: [3, 4]", "shape: [3,4]"),
    ],
)
def test_anything_else_falls_back_to_pyyaml(old: str, new: str) -> None:
    from pytest_paramform.report import ParamRow

    text = to_yaml(ParamFormReport("m", (ParamRow("w", (3, 4)),)))
    assert old in text
    with pytest.raises(NotCanonical):
        read_canonical(text.replace(old, new, 1))


def test_an_octal_looking_count_is_read_as_yaml_reads_it() -> None:
    """YAML 1.1 reads 014 as 12: a reader that took it for 14 would reject this golden."""
    from pytest_paramform.report import ParamRow

    report = ParamFormReport("m", (ParamRow("w", (3, 4)),))
    text = to_yaml(report).replace("numel: 12,", "numel: 014,")
    assert from_yaml(text) == report


@given(reports(), forwards())
def test_forward_sections_read_as_pyyaml_reads_them(
    report: ParamFormReport, forward: ForwardReport
) -> None:
    """A golden with a forward pass stays on the fast path, and reads as PyYAML reads it."""
    text = to_yaml(replace(report, forward=forward))
    data, lines = read_canonical(text)
    assert data == production_load(text)
    assert lines.keys["forward"] == text.splitlines().index("forward:") + 2


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("  depth: 2\n", "  depth: 2\n  depth: 3\n"),
        ("share: 9.78}", "share: 9.780 }"),
        ("[1, 8, 32], ", "[1, 8, 32], 0.1: [3], "),  # a float key
        ('"0.1": [2]}', '"0.1": [2], "0.1": [3]}'),
        ("  modules:\n", "  modules: []\n"),
        ("  inputs:\n", "  inputs:\n    # a comment\n"),
        ("calls: 3, ", "calls: 03, "),
    ],
)
def test_a_forward_section_in_another_layout_falls_back(old: str, new: str) -> None:
    text = to_yaml(FORWARD)
    assert old in text
    with pytest.raises(NotCanonical):
        read_canonical(text.replace(old, new, 1))


def test_a_key_with_nothing_under_it_is_null_as_in_pyyaml() -> None:
    item = '  - {name: "0", shape: [1, 3, 224, 224], dtype: float32}\n'
    text = to_yaml(FORWARD).replace(item, "", 1)
    data, _ = read_canonical(text)
    assert data["forward"]["inputs"] is None
    assert data == production_load(text)

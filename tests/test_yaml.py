"""The YAML golden: exact integers, model order, one line per tensor, safe loading only."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pytest_paramform import GoldenError, ParamFormReport, ParamRow
from pytest_paramform.formats import from_markdown, from_yaml, to_yaml
from pytest_paramform.formats.yaml_values import quote

from text_edits import replace_once


@pytest.fixture(scope="module")
def seed(seed_text: str) -> ParamFormReport:
    return from_markdown(seed_text)


def test_one_line_per_parameter_in_model_order(seed: ParamFormReport) -> None:
    lines = to_yaml(seed).splitlines()
    rows = [line for line in lines if line.startswith("- {name: ")]
    assert len(rows) == 158
    assert rows[0] == (
        "- {name: features.0.0.weight, shape: [32, 3, 3, 3], squeezed: [32, 3, 3, 3],"
        " numel: 864, form: Tensor rank 4}"
    )
    assert [yaml.safe_load(r)[0]["name"] for r in rows] == [r.name for r in seed.rows]


def test_totals_are_exact_integers(seed: ParamFormReport) -> None:
    data = yaml.safe_load(to_yaml(seed))
    assert (data["layers"], data["parameters"]) == (158, 3_504_872)
    assert data["forms"]["Matrix"] == {
        "layers": 35,
        "parameters": 3_404_672,
        "share_of_layers": 22.15,
        "share_of_parameters": 97.14,
    }
    assert list(data["forms"]) == ["Vector", "Matrix", "Tensor rank 3", "Tensor rank 4"]


def test_a_changed_tensor_is_a_one_line_git_diff(seed: ParamFormReport) -> None:
    rows = list(seed.rows)
    rows[40] = ParamRow(rows[40].name, (7, 7))
    changed = to_yaml(ParamFormReport(seed.name, tuple(rows))).splitlines()
    original = to_yaml(seed).splitlines()
    differing = [i for i, (a, b) in enumerate(zip(original, changed, strict=True)) if a != b]
    row_lines = [i for i in differing if original[i].startswith("- ")]
    assert len(row_lines) == 1


def test_round_trip_of_the_seed(seed: ParamFormReport) -> None:
    assert from_yaml(to_yaml(seed)) == seed


@pytest.mark.parametrize(
    "name",
    [
        "yes",
        "null",
        "on",
        "1e3",
        "123",
        "a: b",
        "- x",
        "#x",
        "x #y",
        "'q'",
        '"q"',
        "é",
        "\u2028",
        "\x00",
        "",
    ],
)
def test_names_that_yaml_would_misread_are_quoted(name: str) -> None:
    assert yaml.safe_load(quote(name)) == name
    report = ParamFormReport(name or "m", (ParamRow(name, (3,)),))
    assert from_yaml(to_yaml(report)) == report


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("layers: 158", "layers: 157", 5, "layers total is 157 but"),
        ("parameters: 3504872", "parameters: 3504873", 6, "parameters total is 3504873"),
        ("numel: 864,", "numel: 865,", 14, "865 does not match shape (32, 3, 3, 3)"),
        ("squeezed: [32, 3, 3, 3]", "squeezed: [32, 3, 3]", 14, "squeezed shape (32, 3, 3)"),
        ("form: Tensor rank 4}", "form: Matrix}", 14, "form 'Matrix' does not match"),
        ("form: Tensor rank 4}", "form: Tensor rank 0}", 14, "'Tensor rank 0' is not a form"),
        ("share_of_layers: 66.46", "share_of_layers: 60.00", 9, "Vector share of layers is 60.00%"),
        ("Vector: {layers: 105,", "Vector: {layers: 104,", 9, "Vector layers is 104"),
        ("shape: [32, 3, 3, 3]", "shape: [32, 3, 3, -3]", 14, "whole number >= 0"),
        ("shape: [32, 3, 3, 3]", "shape: [32, 3, 3, true]", 14, "whole number >= 0"),
        ("shape: [32, 3, 3, 3]", "shape: 32", 14, "list of sizes"),
        ("name: features.0.1.bias", "name: features.0.1.weight", 16, "appears twice"),
        (
            "- {name: features.0.0.weight,",
            "- {name: features.0.0.weight, name: x,",
            14,
            "duplicate key",
        ),
        ("model: mobilenet_v2", "model: mobilenet_v2\nmodel: other", 5, "duplicate key 'model'"),
        ("model: mobilenet_v2", "model: [mobilenet_v2]", 4, "expected text"),
        ("numel: 864,", "numel: 864, precision: fp32,", 14, "unknown precision"),
        ("trainable: 3504872", "trainable: 3504000", 7, "trainable total is 3504000"),
        ("numel: 864,", "numel: 864, frozen: yes please,", 14, "expected true or false"),
    ],
)
def test_a_hand_edited_golden_is_an_error_naming_file_line_and_field(
    seed: ParamFormReport, old: str, new: str, line: int, message: str
) -> None:
    text = replace_once(to_yaml(seed), old, new)
    with pytest.raises(GoldenError, match=r"golden\.yaml") as info:
        from_yaml(text, path="golden.yaml")
    assert (info.value.path, info.value.line) == ("golden.yaml", line)
    assert message in str(info.value)


def test_a_truncated_golden_is_an_error(seed: ParamFormReport) -> None:
    truncated = "\n".join(to_yaml(seed).splitlines()[:60])
    with pytest.raises(
        GoldenError, match=r"layers total is 158 but the parameter rows add up to 47"
    ):
        from_yaml(truncated, path="g.yaml")


def test_python_tags_are_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    hostile = f"!!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(GoldenError, match="not valid YAML: could not determine a constructor"):
        from_yaml(hostile, path="evil.yaml")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("# only a comment\n", "empty"),
        ("a: [1, 2\n", "not valid YAML"),
        ("- just\n- a list\n", "not a paramform golden"),
        ("paramform: 2\nmodel: x\n", "not a paramform golden"),
        ("paramform: 1\nmodel: x\n", "missing layers, parameters, trainable, forms, params"),
        ("\x00\x01binary", "not valid YAML"),
    ],
)
def test_other_files_are_not_goldens(text: str, message: str) -> None:
    with pytest.raises(GoldenError, match=message):
        from_yaml(text, path="other.yaml")


def test_model_without_parameters_round_trips() -> None:
    empty = ParamFormReport("nothing", ())
    text = to_yaml(empty)
    assert "params: []" in text
    assert from_yaml(text) == empty

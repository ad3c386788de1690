"""The report's definitions (docs/architecture.md, "What a report is"), checked without torch."""

from __future__ import annotations

import pytest

from pytest_paramform.report import ParamFormReport, ParamRow, form_name, form_rank, short_count


def report(*shapes: tuple[int, ...]) -> ParamFormReport:
    return ParamFormReport("m", tuple(ParamRow(f"p{i}", s) for i, s in enumerate(shapes)))


@pytest.mark.parametrize(
    ("shape", "squeezed", "form", "numel"),
    [
        ((), (), "Scalar", 1),
        ((1,), (), "Scalar", 1),
        ((1, 1, 1), (), "Scalar", 1),
        ((32,), (32,), "Vector", 32),
        ((32, 1, 3, 3), (32, 3, 3), "Tensor rank 3", 288),
        ((16, 32, 1, 1), (16, 32), "Matrix", 512),
        ((0, 3), (0, 3), "Matrix", 0),
        ((2, 3, 1, 4, 5, 6), (2, 3, 4, 5, 6), "Tensor rank 5", 720),
    ],
)
def test_row_derives_squeezed_shape_form_and_numel(
    shape: tuple[int, ...], squeezed: tuple[int, ...], form: str, numel: int
) -> None:
    row = ParamRow("w", shape)
    assert (row.squeezed, row.form, row.numel) == (squeezed, form, numel)


def test_rank_zero_is_called_scalar_never_tensor_rank_0() -> None:
    assert form_name(0) == "Scalar"
    with pytest.raises(ValueError, match="not a form"):
        form_rank("Tensor rank 0")


@pytest.mark.parametrize("bad", ["Tensor rank 2", "Tensor rank 03", "tensor", "Tensor rank ３", ""])  # noqa: RUF001
def test_form_rank_rejects_non_canonical_names(bad: str) -> None:
    with pytest.raises(ValueError, match="not a form"):
        form_rank(bad)


def test_columns_are_vector_matrix_then_scalar_then_by_rank() -> None:
    r = report((2, 2, 2, 2, 2), (3,), (), (2, 2, 2), (4, 4))
    assert r.forms == ("Vector", "Matrix", "Scalar", "Tensor rank 3", "Tensor rank 5")


def test_vector_and_matrix_columns_are_always_present() -> None:
    assert report((2, 2, 2)).forms == ("Vector", "Matrix", "Tensor rank 3")


def test_shares_by_layers_and_by_parameters() -> None:
    r = report((10,), (10, 10), (10, 10), (5, 2, 2))
    assert (r.num_layers, r.num_parameters) == (4, 230)
    assert r.layer_shares == {"Vector": 25.0, "Matrix": 50.0, "Tensor rank 3": 25.0}
    assert r.parameter_shares == pytest.approx(
        {"Vector": 100 * 10 / 230, "Matrix": 100 * 200 / 230, "Tensor rank 3": 100 * 20 / 230}
    )


def test_model_without_parameters_is_all_zeros_not_a_division_error() -> None:
    r = report()
    assert (r.num_layers, r.num_parameters) == (0, 0)
    assert r.layer_shares == {"Vector": 0.0, "Matrix": 0.0}
    assert r.parameter_shares == {"Vector": 0.0, "Matrix": 0.0}


def test_zero_size_tensors_keep_layer_shares_and_zero_parameter_shares() -> None:
    r = report((0, 3), (0,))
    assert r.layer_shares == {"Vector": 50.0, "Matrix": 50.0}
    assert r.parameter_shares == {"Vector": 0.0, "Matrix": 0.0}


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0"),
        (999, "999"),
        (1_200, "1.20K"),
        (3_504_872, "3.50M"),
        (61_100_840, "61.10M"),
        (2_000_000_000, "2.00G"),
        (999_999, "1.00M"),
        (70_553_706_496, "70.55G"),
        (1_500_000_000_000, "1.50T"),
    ],
)
def test_short_count_is_1000_based_with_two_decimals(n: int, text: str) -> None:
    assert short_count(n) == text


def test_reports_with_the_same_rows_are_equal_and_figures_follow_rows() -> None:
    a, b = report((3, 4), (4,)), report((3, 4), (4,))
    assert a == b
    assert a != report((4, 3), (4,))


def test_rows_are_derived_from_their_own_shape_whatever_came_before() -> None:
    from pytest_paramform import ParamRow

    odd = ParamRow("a", (2.0, 3))  # type: ignore[arg-type]
    row = ParamRow("b", (2, 3))
    assert (type(row.numel), row.squeezed) == (int, (2, 3))
    assert ParamRow.trusted("c", (2, 3)) == ParamRow("c", (2, 3))
    assert odd.numel == 6

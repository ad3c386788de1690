"""The comparison a failing check shows: what drifted, in model order, and how it reads."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_paramform.comparison.core import CompareOptions, Drift, compare, render_drift
from pytest_paramform.report import ParamFormReport, ParamRow, Shape

SUMMARY = CompareOptions(level="summary")


def report(*rows: tuple[str, Shape], name: str = "TinyNet") -> ParamFormReport:
    return ParamFormReport(name, tuple(ParamRow(n, s) for n, s in rows))


def tiny(**changes: Shape | None) -> ParamFormReport:
    """A four-tensor net (314 parameters); ``None`` drops a tensor, a shape replaces one."""
    rows: dict[str, Shape | None] = {
        "conv.weight": (8, 3, 3, 3),
        "conv.bias": (8,),
        "fc.weight": (10, 8),
        "fc.bias": (10,),
    }
    rows.update(changes)
    return report(*((n, s) for n, s in rows.items() if s is not None))


def texts(drifts: list[Drift], kind: str | None = None) -> list[str]:
    return [d.text for d in drifts if kind is None or d.kind == kind]


def pairs(r: ParamFormReport) -> list[tuple[str, Shape]]:
    return [(row.name, row.shape) for row in r.rows]


def kinds(drifts: list[Drift]) -> list[str]:
    return [d.kind for d in drifts]


def numbered(count: int, *, prefix: str = "block") -> list[tuple[str, Shape]]:
    return [(f"{prefix}.{i}.weight", (4, 4)) for i in range(count)]


# -- layers level ----------------------------------------------------------------------


def test_identical_reports_have_no_drift() -> None:
    assert compare(tiny(), tiny()) == []


def test_report_name_is_a_label_not_drift() -> None:
    renamed = ParamFormReport("SomethingElse", tiny().rows)
    assert compare(tiny(), renamed) == []


def test_widened_layer_is_one_changed_line_with_both_shapes_and_numels() -> None:
    drifts = compare(tiny(), tiny(**{"fc.weight": (10, 16)}))
    assert texts(drifts, "changed") == ["~ fc.weight   shape (10, 8) -> (10, 16)   numel 80 -> 160"]
    assert [d.name for d in drifts if d.kind == "changed"] == ["fc.weight"]
    assert kinds(drifts) == ["changed", "totals", "forms"]


def test_block_inserted_in_the_middle_shows_only_insertions() -> None:
    before = report(*numbered(50), ("head.weight", (10, 4)))
    inserted = numbered(5, prefix="extra")
    after = report(*numbered(25), *inserted, *numbered(50)[25:], ("head.weight", (10, 4)))
    drifts = compare(before, after)
    rows = [d for d in drifts if d.kind in {"changed", "added", "removed"}]
    assert [d.kind for d in rows] == ["added"] * 5
    assert [d.name for d in rows] == [name for name, _ in inserted]
    assert not any(text.startswith(("~", "-")) for text in texts(drifts))


def test_removed_bias_is_a_removed_line() -> None:
    drifts = compare(tiny(), tiny(**{"fc.bias": None}))
    assert texts(drifts, "removed") == ["- fc.bias   (10,)  Vector"]
    assert texts(drifts, "added") == texts(drifts, "changed") == []


def test_added_parameter_shows_shape_and_form() -> None:
    drifts = compare(tiny(), report(*pairs(tiny()), ("scale", ())))
    assert texts(drifts, "added") == ["+ scale   ()  Scalar"]


def test_form_change_is_named() -> None:
    drifts = compare(tiny(), tiny(**{"fc.weight": (10, 8, 2)}))
    assert texts(drifts, "changed") == [
        "~ fc.weight   shape (10, 8) -> (10, 8, 2)   numel 80 -> 160   form Matrix -> Tensor rank 3"
    ]


def test_size_one_dimensions_change_shape_but_not_form() -> None:
    drifts = compare(tiny(), tiny(**{"fc.weight": (10, 8, 1, 1)}))
    assert texts(drifts, "changed") == [
        "~ fc.weight   shape (10, 8) -> (10, 8, 1, 1)   numel 80 -> 80"
    ]
    assert "forms" not in kinds(drifts)


def test_reordering_the_same_tensors_is_drift() -> None:
    swapped = report(
        ("conv.bias", (8,)),
        ("conv.weight", (8, 3, 3, 3)),
        ("fc.weight", (10, 8)),
        ("fc.bias", (10,)),
    )
    drifts = compare(tiny(), swapped)
    moved = [d for d in drifts if d.kind in {"added", "removed"}]
    assert sorted(d.kind for d in moved) == ["added", "removed"]
    assert all(d.text.endswith("(moved)") for d in moved)
    assert texts(drifts, "totals") == ["totals: layers 4 -> 4, parameters 314 -> 314 (+0, +0.00%)"]


def test_duplicate_names_still_align() -> None:
    before = report(("w", (2,)), ("w", (2,)))
    after = report(("w", (2,)), ("w", (2,)), ("w", (2,)))
    assert kinds(compare(before, after)) == ["added", "totals"]


def test_renamed_tensor_is_removed_then_added() -> None:
    renamed = report(
        ("conv.weight", (8, 3, 3, 3)),
        ("conv.bias", (8,)),
        ("head.weight", (10, 8)),
        ("fc.bias", (10,)),
    )
    drifts = compare(tiny(), renamed)
    assert texts(drifts, "removed") == ["- fc.weight     (10, 8)  Matrix"]
    assert texts(drifts, "added") == ["+ head.weight   (10, 8)  Matrix"]


def test_totals_line_gives_both_totals_and_signed_deltas() -> None:
    # 314 -> 394 parameters: +80, and 80 / 314 = 25.477...%
    drifts = compare(tiny(), tiny(**{"fc.weight": (10, 16)}))
    assert texts(drifts, "totals") == [
        "totals: layers 4 -> 4, parameters 314 -> 394 (+80, +25.48%)"
    ]


def test_totals_line_on_shrink_uses_thousands_separators() -> None:
    # 2,000,000 + 4 -> 1,000,000 + 4: -1,000,000, and -1e6 / 2,000,004 = -49.9999...%
    before = report(("emb.weight", (2000, 1000)), ("emb.bias", (4,)))
    after = report(("emb.weight", (1000, 1000)), ("emb.bias", (4,)))
    assert texts(compare(before, after), "totals") == [
        "totals: layers 2 -> 2, parameters 2,000,004 -> 1,000,004 (-1,000,000, -50.00%)"
    ]


def test_tiny_relative_change_is_not_shown_as_zero() -> None:
    before = report(("emb.weight", (100_000, 1000)), ("emb.bias", (4,)))
    after = report(("emb.weight", (100_000, 1000)), ("emb.bias", (5,)))
    (totals,) = texts(compare(before, after), "totals")
    assert totals.endswith("(+1, +<0.01%)")


def test_forms_line_lists_each_moved_share_of_parameters() -> None:
    # parameters by form: Vector 18, Matrix 80 -> 160, Tensor rank 4 216; total 314 -> 394
    drifts = compare(tiny(), tiny(**{"fc.weight": (10, 16)}))
    assert texts(drifts, "forms") == [
        "forms:  Vector 5.73% -> 4.57%, Matrix 25.48% -> 40.61%,"
        " Tensor rank 4 68.79% -> 54.82% of parameters"
    ]


def test_forms_line_lists_moved_shares_of_layers_too() -> None:
    # layers by form: Vector 2 -> 1 of 4 -> 3; Matrix and Tensor rank 4 stay 1
    drifts = compare(tiny(), tiny(**{"fc.bias": None}))
    (forms,) = texts(drifts, "forms")
    assert forms.endswith(
        "; Vector 50.00% -> 33.33%, Matrix 25.00% -> 33.33%,"
        " Tensor rank 4 25.00% -> 33.33% of layers"
    )


def test_form_absent_on_one_side_counts_as_zero() -> None:
    drifts = compare(tiny(), report(*pairs(tiny()), ("gate", (2, 2, 2))))
    (forms,) = texts(drifts, "forms")
    assert "Tensor rank 3 0.00% -> 20.00%" in forms


def test_share_change_hidden_by_rounding_gets_more_decimals() -> None:
    before = report(("w", (10_000_000,)), ("m", (10, 10)))
    after = report(("w", (10_000_001,)), ("m", (10, 10)))
    (forms,) = texts(compare(before, after), "forms")
    old, new = re.findall(r"Matrix ([\d.]+)% -> ([\d.]+)%", forms)[0]
    assert old != new


def test_empty_reports_compare_without_dividing_by_zero() -> None:
    empty = report()
    assert compare(empty, empty) == []
    assert compare(empty, empty, SUMMARY) == []
    grown = compare(empty, tiny())
    assert texts(grown, "totals") == ["totals: layers 0 -> 4, parameters 0 -> 314 (+314, new)"]
    assert texts(compare(tiny(), empty), "totals") == [
        "totals: layers 4 -> 0, parameters 314 -> 0 (-314, -100.00%)"
    ]


def test_zero_sized_tensors_compare_without_dividing_by_zero() -> None:
    before = report(("w", (0, 4)))
    after = report(("w", (0, 8)))
    assert texts(compare(before, after)) == [
        "~ w   shape (0, 4) -> (0, 8)   numel 0 -> 0",
        "totals: layers 1 -> 1, parameters 0 -> 0 (+0, +0.00%)",
    ]


def test_names_are_padded_to_a_capped_common_column() -> None:
    long = "x" * 100
    before = report(("a", (2,)), ("bb", (2,)), (long, (2,)))
    after = report(("a", (3,)), ("bb", (3,)), (long, (3,)))
    rows = texts(compare(before, after), "changed")
    assert rows[0].index("shape") == rows[1].index("shape") == 2 + 60 + 3
    assert rows[2] == f"~ {long}   shape (2,) -> (3,)   numel 2 -> 3"


def test_seed_widened_layer_reads_as_in_the_design(seed_text: str) -> None:
    mnv2 = seed_report(seed_text)
    widened = tuple(
        ParamRow(r.name, (320, 1280, 1, 1)) if r.name == "features.17.conv.2.weight" else r
        for r in mnv2.rows
    )
    drifts = compare(mnv2, ParamFormReport(mnv2.name, widened))
    assert texts(drifts)[:2] == [
        "~ features.17.conv.2.weight   shape (320, 960, 1, 1) -> (320, 1280, 1, 1)"
        "   numel 307,200 -> 409,600",
        "totals: layers 158 -> 158, parameters 3,504,872 -> 3,607,272 (+102,400, +2.92%)",
    ]
    assert "Matrix 97.14% -> " in texts(drifts, "forms")[0]


def seed_report(seed_text: str) -> ParamFormReport:
    """The seed's 158 MobileNetV2 rows, read from its Markdown table."""
    rows = re.findall(r"^\| ([\w.]+) \| \(([\d, ]*)\) \|", seed_text, re.MULTILINE)
    shapes = [tuple(int(d) for d in dims.split(",") if d.strip()) for _, dims in rows]
    named = [ParamRow(name, shape) for (name, _), shape in zip(rows, shapes, strict=True)]
    assert len(named) == 158
    return ParamFormReport("MobileNetV2", tuple(named))


# -- summary level ---------------------------------------------------------------------

# a: 100 -> 110 (Vector), b: 900 (Matrix); total 1,000 -> 1,010 (+1.00%)
# parameter shares: Vector 10.00% -> 10.89% (+0.89 pp), Matrix 90.00% -> 89.11%
SUMMARY_BEFORE = report(("a", (100,)), ("b", (10, 90)))
SUMMARY_AFTER = report(("a", (110,)), ("b", (10, 90)))


def summary(tolerance: float, rel_tolerance: float) -> list[Drift]:
    options = CompareOptions("summary", tolerance=tolerance, rel_tolerance=rel_tolerance)
    return compare(SUMMARY_BEFORE, SUMMARY_AFTER, options)


def test_summary_within_both_tolerances_passes() -> None:
    assert summary(tolerance=0.9, rel_tolerance=0.01) == []


def test_summary_share_outside_tolerance_fails_with_the_delta() -> None:
    assert summary(tolerance=0.85, rel_tolerance=0.01) == [
        Drift(
            "forms",
            "forms:  Vector 10.00% -> 10.89% (+0.89 pp), Matrix 90.00% -> 89.11% (-0.89 pp)"
            " of parameters (tolerance 0.85 pp)",
        )
    ]


def test_summary_total_outside_relative_tolerance_fails_with_the_delta() -> None:
    assert summary(tolerance=0.9, rel_tolerance=0.0099) == [
        Drift(
            "totals",
            "totals: layers 2 -> 2, parameters 1,000 -> 1,010 (+10, +1.00%, tolerance 0.99%)",
        )
    ]


def test_summary_ignores_names_and_shapes() -> None:
    shuffled = report(("renamed.b", (90, 10)), ("renamed.a", (1, 100)))
    assert compare(SUMMARY_BEFORE, shuffled, SUMMARY) == []


def test_summary_layer_count_is_exact() -> None:
    split = report(("a", (50,)), ("a2", (50,)), ("b", (10, 90)))
    options = CompareOptions("summary", tolerance=100, rel_tolerance=1)
    assert kinds(compare(SUMMARY_BEFORE, split, options)) == ["totals"]


def test_summary_from_empty_is_drift() -> None:
    options = CompareOptions("summary", tolerance=100, rel_tolerance=1)
    assert kinds(compare(report(), report(("a", (3,))), options)) == ["totals"]


# -- options ---------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["Layers", "exact", ""])
def test_options_reject_unknown_level(level: str) -> None:
    with pytest.raises(ValueError, match=rf"^level must be one of layers, summary, got '{level}'$"):
        CompareOptions(level=level)


@pytest.mark.parametrize("field", ["tolerance", "rel_tolerance"])
@pytest.mark.parametrize("value", [-0.1, math.nan, math.inf, "1", True])
def test_options_reject_bad_tolerance(field: str, value: object) -> None:
    unit = {"tolerance": "percentage points", "rel_tolerance": "a fraction, 0.01 = 1%"}[field]
    message = f"{field} must be a finite number >= 0 ({unit}), got {value!r}"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        CompareOptions(level="summary", **{field: value})  # type: ignore[arg-type]


def test_options_accept_zero_and_integers() -> None:
    assert CompareOptions("summary", tolerance=0, rel_tolerance=1).rel_tolerance == 1


# -- the failure message ---------------------------------------------------------------


def test_render_full_message() -> None:
    after = report(
        ("conv.weight", (8, 3, 3, 3)),
        ("norm.weight", (16,)),
        ("fc.weight", (10, 16)),
        ("fc.bias", (10,)),
    )
    message = render_drift(
        compare(tiny(), after),
        model="TinyNet",
        golden="tests/__snapshots__/test_arch/test_tiny.paramform.yaml",
        accept="pytest --paramform-update",
    )
    # 314 -> 402 parameters: +88 = +28.025...%; Vector 18 -> 26, Matrix 80 -> 160
    assert message == "\n".join(
        [
            "paramform: TinyNet differs from"
            " tests/__snapshots__/test_arch/test_tiny.paramform.yaml",
            "  - conv.bias     (8,)  Vector",
            "  + norm.weight   (16,)  Vector",
            "  ~ fc.weight     shape (10, 8) -> (10, 16)   numel 80 -> 160",
            "  totals: layers 4 -> 4, parameters 314 -> 402 (+88, +28.03%)",
            "  forms:  Vector 5.73% -> 6.47%, Matrix 25.48% -> 39.80%,"
            " Tensor rank 4 68.79% -> 53.73% of parameters",
            "accept with:",
            "  pytest --paramform-update",
        ]
    )


def test_render_caps_long_diffs_and_keeps_the_overall_effect() -> None:
    before = report(*numbered(100), ("old.bias", (4,)))
    after = report(*((n, (4, 5)) for n, _ in numbered(100)), ("new.bias", (4,)))
    drifts = compare(before, after)
    message = render_drift(drifts, model="M", golden="g", accept="a", limit=10, fold=False)
    lines = message.splitlines()
    assert sum(line.startswith("  ~ ") for line in lines) == 10
    assert "  ... and 92 more (90 changed, 1 added, 1 removed)" in lines
    assert lines[-4].startswith("  totals: layers 101 -> 101")
    assert lines[-3].startswith("  forms:  ")
    assert lines[-2:] == ["accept with:", "  a"]


def test_render_at_the_limit_has_no_ellipsis() -> None:
    drifts = compare(tiny(), tiny(**{"fc.weight": (10, 16)}))
    assert "..." not in render_drift(drifts, model="M", golden="g", accept="a", limit=1)


def test_render_rejects_negative_limit() -> None:
    with pytest.raises(ValueError, match="limit must be >= 0"):
        render_drift([], model="M", golden="g", accept="a", limit=-1)


# -- scale -----------------------------------------------------------------------------


# Timings live in benchmarks/, not here; these pin the alignment at sizes where a
# quadratic or greedy algorithm would go wrong or take minutes.


def test_a_block_inserted_in_a_large_report_is_found_as_one_block() -> None:
    rows = numbered(100_000)
    after = [*rows[:50_000], *numbered(100, prefix="extra"), *rows[50_000:]]
    after[-1] = (after[-1][0], (4, 8))
    drifts = compare(report(*rows), report(*after))
    assert kinds(drifts).count("added") == 100
    assert kinds(drifts).count("changed") == 1


def test_scattered_insertions_are_each_an_insertion() -> None:
    rows = numbered(20_000)
    after = list(rows)
    for i in reversed(range(0, 20_000, 20)):
        after.insert(i + 1, (f"extra.{i}", (3,)))
    drifts = compare(report(*rows), report(*after))
    assert kinds(drifts).count("added") == 1000
    assert {"changed", "removed"}.isdisjoint(kinds(drifts))


def test_a_thousand_changed_tensors_listed_one_by_one_are_capped() -> None:
    before = report(*numbered(1000))
    after = report(*((n, (4, 5)) for n, _ in numbered(1000)))
    drifts = compare(before, after)
    lines = render_drift(drifts, model="M", golden="g", accept="a", fold=False).splitlines()
    assert sum(line.startswith("  ~ ") for line in lines) == 40
    assert "  ... and 960 more (960 changed, 0 added, 0 removed)" in lines


def test_a_thousand_changed_tensors_fold_into_one_line_by_default() -> None:
    before = report(*numbered(1000))
    after = report(*((n, (4, 5)) for n, _ in numbered(1000)))
    lines = render_drift(compare(before, after), model="M", golden="g", accept="a").splitlines()
    assert lines[1] == (
        "  ~ block.{0..999}.weight   shape (4, 4) -> (4, 5)   numel 16 -> 20"
        "   1,000 tensors, +4,000 parameters"
    )
    assert lines[2].startswith("  totals: ")


# -- properties ------------------------------------------------------------------------

NAMES = st.from_regex(r"[a-z]{1,4}(\.[a-z0-9]{1,3}){0,3}", fullmatch=True)
SHAPES = st.lists(st.integers(min_value=0, max_value=6), max_size=4).map(tuple)
REPORTS = st.lists(st.tuples(NAMES, SHAPES), max_size=30, unique_by=lambda row: row[0]).map(
    lambda rows: report(*rows)
)


@given(REPORTS)
def test_a_report_never_drifts_from_itself(r: ParamFormReport) -> None:
    assert compare(r, r) == []
    assert compare(r, r, SUMMARY) == []


@given(REPORTS.filter(lambda r: r.num_layers > 0), st.data())
def test_a_single_shape_mutation_names_exactly_that_tensor(
    r: ParamFormReport, data: st.DataObject
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=r.num_layers - 1))
    target = r.rows[index]
    shape = data.draw(SHAPES.filter(lambda s: s != target.shape))
    rows = list(r.rows)
    rows[index] = ParamRow(target.name, shape)
    drifts = compare(r, ParamFormReport(r.name, tuple(rows)))
    per_row = [d for d in drifts if d.name is not None]
    assert [(d.kind, d.name) for d in per_row] == [("changed", target.name)]
    assert kinds(drifts)[1] == "totals"


@given(REPORTS, st.data())
def test_deletions_and_insertions_are_reported_exactly(
    r: ParamFormReport, data: st.DataObject
) -> None:
    kept = data.draw(st.lists(st.booleans(), min_size=r.num_layers, max_size=r.num_layers))
    rows = [row for row, keep in zip(r.rows, kept, strict=True) if keep]
    fresh = data.draw(st.lists(SHAPES, max_size=5))
    for number, shape in enumerate(fresh):  # upper case: never one of the NAMES
        rows.insert(data.draw(st.integers(0, len(rows))), ParamRow(f"NEW.{number}", shape))
    drifts = compare(r, ParamFormReport(r.name, tuple(rows)))
    removed = {row.name for row, keep in zip(r.rows, kept, strict=True) if not keep}
    assert {d.name for d in drifts if d.kind == "removed"} == removed
    assert {d.name for d in drifts if d.kind == "added"} == {f"NEW.{n}" for n in range(len(fresh))}
    assert "changed" not in kinds(drifts)

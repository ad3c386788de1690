"""Drifts a shape check misses: ties, trainability, dtype, buffers (no torch needed)."""

from __future__ import annotations

from dataclasses import replace

from pytest_paramform.comparison.core import compare, render_drift
from pytest_paramform.comparison.states import group_names
from pytest_paramform.report import Alias, ParamFormReport, ParamRow

BACKBONE = tuple(ParamRow(f"backbone.layer{i}.weight", (10, 10)) for i in range(3))
HEAD = (ParamRow("head.weight", (2, 10)), ParamRow("head.bias", (2,)))


def lm(*, tied: bool) -> ParamFormReport:
    rows = [ParamRow("wte.weight", (50, 8)), ParamRow("block.weight", (8, 8))]
    if tied:
        return ParamFormReport("lm", tuple(rows), (Alias("lm_head.weight", "wte.weight"),))
    return ParamFormReport("lm", (*rows, ParamRow("lm_head.weight", (50, 8))))


def texts(expected: ParamFormReport, actual: ParamFormReport) -> list[str]:
    return [d.text for d in compare(expected, actual)]


def test_broken_tying_is_one_line_with_the_parameters_it_adds() -> None:
    lines = texts(lm(tied=True), lm(tied=False))
    assert "tying broken: lm_head.weight no longer shares wte.weight (+400 parameters)" in lines
    assert not any(line.startswith("+ lm_head.weight") for line in lines)
    assert "totals: layers 2 -> 3, parameters 464 -> 864 (+400, +86.21%)" in lines


def test_new_tying_is_one_line_with_the_parameters_it_saves() -> None:
    lines = texts(lm(tied=False), lm(tied=True))
    assert "newly tied: lm_head.weight now shares wte.weight (-400 parameters)" in lines
    assert not any(line.startswith("- lm_head.weight") for line in lines)


def test_a_tied_name_that_disappears_is_not_called_untied() -> None:
    gone = ParamFormReport("lm", lm(tied=True).rows)
    assert texts(lm(tied=True), gone)[0] == "tied name removed: lm_head.weight (shared wte.weight)"
    assert texts(gone, lm(tied=True))[0] == "new tied name: lm_head.weight (shares wte.weight)"


def test_same_ties_are_no_drift() -> None:
    assert compare(lm(tied=True), lm(tied=True)) == []


def frozen(rows: tuple[ParamRow, ...], prefix: str) -> tuple[ParamRow, ...]:
    return tuple(replace(r, frozen=r.name.startswith(prefix)) for r in rows)


def test_a_backbone_becoming_trainable_is_grouped_by_prefix() -> None:
    before = ParamFormReport("m", frozen(BACKBONE + HEAD, "backbone."))
    after = ParamFormReport("m", BACKBONE + HEAD)
    lines = texts(before, after)
    assert "now trainable: backbone.* (300 parameters in 3 tensors)" in lines
    assert "totals: layers 5 -> 5, parameters 322 -> 322 (+0, +0.00%), trainable 22 -> 322" in lines


def test_partly_frozen_modules_are_named_tensor_by_tensor() -> None:
    before = ParamFormReport("m", BACKBONE + HEAD)
    after_rows = (replace(BACKBONE[0], frozen=True), *BACKBONE[1:], *HEAD)
    lines = texts(before, ParamFormReport("m", after_rows))
    assert "now frozen: backbone.layer0.weight (100 parameters in 1 tensors)" in lines


def test_casts_are_grouped_by_dtype() -> None:
    rows = tuple(replace(r, dtype="float32") for r in BACKBONE + HEAD)
    cast = tuple(replace(r, dtype="bfloat16") for r in rows)
    assert texts(ParamFormReport("m", rows), ParamFormReport("m", cast))[0] == (
        "dtype float32 -> bfloat16: * (322 parameters in 5 tensors)"
    )


def test_dtypes_recorded_on_one_side_only_are_a_drift_not_a_silent_pass() -> None:
    rows = tuple(replace(r, dtype="float32") for r in HEAD)
    lines = texts(ParamFormReport("m", HEAD), ParamFormReport("m", rows))
    assert lines[0] == "dtypes: this run records them and the golden does not"
    lines = texts(ParamFormReport("m", rows), ParamFormReport("m", HEAD))
    assert lines[0] == "dtypes: the golden records them and this run does not"


def test_buffers_added_removed_and_reshaped() -> None:
    before = ParamFormReport("m", HEAD, buffers=(ParamRow("bn.mean", (4,)), ParamRow("old", (1,))))
    after = ParamFormReport("m", HEAD, buffers=(ParamRow("bn.mean", (8,)), ParamRow("new", (2,))))
    assert texts(before, after)[:3] == [
        "buffer - old   (1,)",
        "buffer ~ bn.mean   (4,) -> (8,)",
        "buffer + new   (2,)",
    ]


def test_buffers_recorded_on_one_side_only_are_a_drift_not_a_silent_pass() -> None:
    with_buffers = ParamFormReport("m", HEAD, buffers=(ParamRow("bn.mean", (4,)),))
    lines = texts(ParamFormReport("m", HEAD), with_buffers)
    assert lines[0] == "buffers: this run records them and the golden does not"
    assert texts(with_buffers, ParamFormReport("m", HEAD))[0] == (
        "buffers: the golden records them and this run does not"
    )


def test_a_checkpoint_is_compared_with_a_model_as_named_tensors() -> None:
    model = ParamFormReport(
        "m", frozen(BACKBONE + HEAD, "backbone."), buffers=(ParamRow("bn.var", (3,)),)
    )
    tensors = sorted(
        [*BACKBONE, *HEAD, ParamRow("bn.var", (3,))], key=lambda r: r.name, reverse=True
    )
    checkpoint = ParamFormReport("ckpt", tuple(tensors), source="checkpoint")
    assert compare(model, checkpoint) == []
    assert compare(checkpoint, model) == []


def test_a_model_golden_without_buffers_explains_the_extra_checkpoint_tensors() -> None:
    checkpoint = ParamFormReport(
        "ckpt", (*HEAD, ParamRow("bn.running_mean", (2,))), source="checkpoint"
    )
    message = render_drift(
        compare(ParamFormReport("m", HEAD), checkpoint), model="ckpt", golden="g", accept=None
    )
    assert "+ bn.running_mean" in message
    assert "record the model's buffers (buffers=True, --buffers)" in message
    assert "accept with" not in message


def test_long_buffer_diffs_are_capped_too() -> None:
    before = ParamFormReport("m", HEAD, buffers=tuple(ParamRow(f"b{i}", (1,)) for i in range(100)))
    after = ParamFormReport("m", HEAD, buffers=tuple(ParamRow(f"b{i}", (2,)) for i in range(100)))
    message = render_drift(compare(before, after), model="m", golden="g", accept=None)
    assert message.count("buffer ~") == 40
    assert "... and 60 more (0 changed, 0 added, 0 removed, 60 buffers)" in message


def test_group_names_finds_the_widest_complete_prefix() -> None:
    universe = ["a.b.w", "a.b.v", "a.c.w", "d.w"]
    assert group_names(["a.b.w", "a.b.v"], universe) == {"a.b.*": ["a.b.w", "a.b.v"]}
    assert group_names(["a.b.w", "a.b.v", "a.c.w"], universe) == {
        "a.*": ["a.b.w", "a.b.v", "a.c.w"]
    }
    assert group_names(universe, universe) == {"*": universe}
    assert group_names(["a.b.w"], universe) == {"a.b.w": ["a.b.w"]}

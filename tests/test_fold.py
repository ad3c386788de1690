"""Folding a drift: repeated blocks as one brace-range line, runs of whole blocks and renames
said once, and nothing lost (every folded line expands back to the drifts it stands for)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from pytest_paramform.comparison.core import compare, render_drift
from pytest_paramform.comparison.drift import ROW_KINDS, Drift
from pytest_paramform.comparison.fold import Line, brace, expand, fold, render_lines
from pytest_paramform.report import Alias, ParamFormReport, ParamRow, Shape

# A Llama-7B decoder layer: 9 tensors, 202,383,360 parameters.
HIDDEN, MLP = 4096, 11008


def llama(layers: int = 32, kv: int = 4096, mlp: int = MLP) -> ParamFormReport:
    rows = [ParamRow("model.embed_tokens.weight", (32000, HIDDEN))]
    for i in range(layers):
        at = f"model.layers.{i}"
        rows += [
            ParamRow(f"{at}.self_attn.q_proj.weight", (HIDDEN, HIDDEN)),
            ParamRow(f"{at}.self_attn.k_proj.weight", (kv, HIDDEN)),
            ParamRow(f"{at}.self_attn.v_proj.weight", (kv, HIDDEN)),
            ParamRow(f"{at}.self_attn.o_proj.weight", (HIDDEN, HIDDEN)),
            ParamRow(f"{at}.mlp.gate_proj.weight", (mlp, HIDDEN)),
            ParamRow(f"{at}.mlp.up_proj.weight", (mlp, HIDDEN)),
            ParamRow(f"{at}.mlp.down_proj.weight", (HIDDEN, mlp)),
            ParamRow(f"{at}.input_layernorm.weight", (HIDDEN,)),
            ParamRow(f"{at}.post_attention_layernorm.weight", (HIDDEN,)),
        ]
    rows += [ParamRow("model.norm.weight", (HIDDEN,)), ParamRow("lm_head.weight", (32000, HIDDEN))]
    return ParamFormReport("llama", tuple(rows))


def drift_message(expected: ParamFormReport, actual: ParamFormReport, model: str = "m") -> str:
    """The folded message, as the fixture and the CLI render it."""
    drifts = compare(expected, actual)
    return render_drift(
        drifts, model=model, golden="g", accept=None, expected=expected, actual=actual
    )


def tensor_lines(expected: ParamFormReport, actual: ParamFormReport) -> list[str]:
    message = drift_message(expected, actual)
    return [line for line in message.splitlines()[1:] if not line.startswith("  totals")]


def test_brace_ranges_say_runs_and_gaps() -> None:
    assert brace([7, 0, 1, 2, 3, 5, 8, 9, 10, 11]) == "{0..3,5,7..11}"
    assert brace([2, 3]) == "{2,3}"
    assert expand("a.{0..3,5,7..11}.w") == [f"a.{i}.w" for i in (0, 1, 2, 3, 5, 7, 8, 9, 10, 11)]
    assert expand("plain.w") == ["plain.w"]


def test_grouped_query_attention_is_two_lines() -> None:
    lines = tensor_lines(llama(), llama(kv=1024))
    assert lines[:2] == [
        "  ~ model.layers.{0..31}.self_attn.k_proj.weight   shape (4096, 4096) -> (1024, 4096)"
        "   numel 16,777,216 -> 4,194,304   32 tensors, -402,653,184 parameters",
        "  ~ model.layers.{0..31}.self_attn.v_proj.weight   shape (4096, 4096) -> (1024, 4096)"
        "   numel 16,777,216 -> 4,194,304   32 tensors, -402,653,184 parameters",
    ]
    assert len(lines) == 3  # and the forms line


def test_added_and_removed_decoder_layers_are_one_line() -> None:
    added = "  + model.layers.{32..39}: 8 blocks like model.layers.31"
    assert tensor_lines(llama(), llama(layers=40))[0] == (
        f"{added} (9 tensors, +202,383,360 parameters each)"
    )
    removed = tensor_lines(llama(layers=40), llama())[0]
    assert removed == added.replace("+", "-") + " (9 tensors, -202,383,360 parameters each)"


def test_an_odd_block_is_never_hidden_in_a_range() -> None:
    wider = llama(layers=40)
    odd = "model.layers.35.mlp.down_proj.weight"
    rows = tuple(ParamRow(r.name, (HIDDEN, 1)) if r.name == odd else r for r in wider.rows)
    lines = tensor_lines(llama(), ParamFormReport("llama", rows))
    assert lines[0].startswith("  + model.layers.{32..34}: 3 blocks like model.layers.31 ")
    assert any(line.startswith(f"  + {odd} ") for line in lines)
    assert lines[-2].startswith("  + model.layers.{36..39}: 4 blocks (9 tensors, ")


def test_an_odd_tensor_is_never_hidden_in_a_range() -> None:
    rows = llama(kv=1024).rows
    odd = "model.layers.7.self_attn.k_proj.weight"
    rows = tuple(ParamRow(r.name, (512, HIDDEN)) if r.name == odd else r for r in rows)
    lines = tensor_lines(llama(), ParamFormReport("llama", rows))
    assert lines[0].startswith("  ~ model.layers.{0..6,8..31}.self_attn.k_proj.weight ")
    assert lines[0].endswith("31 tensors, -390,070,272 parameters")
    (line,) = [line for line in lines if line.startswith(f"  ~ {odd} ")]
    assert "(4096, 4096) -> (512, 4096)" in line


def test_a_number_inside_a_name_part_folds_too() -> None:
    before = ParamFormReport(
        "vit",
        tuple(ParamRow(f"encoder.layers.encoder_layer_{i}.ln.weight", (8,)) for i in range(12)),
    )
    after = ParamFormReport("vit", tuple(ParamRow(r.name, (16,)) for r in before.rows))
    assert tensor_lines(before, after)[0] == (
        "  ~ encoder.layers.encoder_layer_{0..11}.ln.weight   shape (8,) -> (16,)"
        "   numel 8 -> 16   12 tensors, +96 parameters"
    )


def renamed(report: ParamFormReport, old: str, new: str) -> ParamFormReport:
    return ParamFormReport(
        report.name, tuple(ParamRow(r.name.replace(old, new, 1), r.shape) for r in report.rows)
    )


def test_a_renamed_module_list_is_said_once_and_what_else_changed_is_listed() -> None:
    before = llama(layers=4)
    after = renamed(before, "model.layers.", "model.blocks.")
    lines = tensor_lines(before, after)
    assert lines == ["  renamed: model.layers.* -> model.blocks.* (36 tensors, shapes unchanged)"]
    reshaped = ParamFormReport(
        "llama",
        tuple(
            ParamRow(r.name, (HIDDEN, 1)) if r.name == "model.blocks.2.mlp.down_proj.weight" else r
            for r in after.rows
        ),
    )
    lines = tensor_lines(before, reshaped)
    assert lines[0] == "  renamed: model.layers.* -> model.blocks.* (35 tensors, shapes unchanged)"
    assert lines[1].startswith("  - model.layers.2.mlp.down_proj.weight ")
    assert lines[2].startswith("  + model.blocks.2.mlp.down_proj.weight ")


def test_a_wrapped_model_is_a_prefix_said_once() -> None:
    before = llama(layers=2)
    after = ParamFormReport(
        "llama", tuple(ParamRow(f"inner.{r.name}", r.shape) for r in before.rows)
    )
    assert tensor_lines(before, after) == ["  renamed: * -> inner.* (21 tensors, shapes unchanged)"]


def test_the_cap_counts_folded_lines_and_says_how_many_tensors_it_hides() -> None:
    before = llama(layers=4)
    after = ParamFormReport("llama", tuple(ParamRow(r.name, (*r.shape, 2)) for r in before.rows))
    drifts = compare(before, after)
    message = render_drift(drifts, model="m", golden="g", accept=None, limit=3)
    assert "  ... and 9 more lines (30 tensors: 30 changed, 0 added, 0 removed)" in message
    every = render_drift(drifts, model="m", golden="g", accept=None, fold=False, limit=None)
    assert all(f"  {d.text}" in every.splitlines() for d in drifts)
    assert "..." not in every


def test_thousands_separators_on_every_count_in_a_row_line() -> None:
    lines = tensor_lines(llama(layers=1), llama(layers=1, mlp=14336))
    assert "numel 45,088,768 -> 58,720,256" in lines[0]


def test_lines_without_rows_pass_through_as_they_are() -> None:
    foreign = Drift("added", "+ x   (2,)  Vector", "x")
    assert fold([foreign]) == [Line("", "", "+ x   (2,)  Vector", (foreign,))]


# -- lossless: every folded line expands back to exactly its drifts ------------------------

FAMILIES = ("layers", "blocks", "enc.layers", "stage1", "enc.layer_")
PARTS = st.lists(
    st.tuples(st.sampled_from(("w", "b", "ln.w", "attn.q", "conv1.w")), st.sampled_from((2, 3, 4))),
    min_size=1,
    max_size=3,
    unique_by=lambda part: part[0],
)


@st.composite
def models(draw: st.DrawFn) -> list[tuple[str, Shape]]:
    rows: list[tuple[str, Shape]] = [("embed.w", (5, 4))]
    for family in draw(st.lists(st.sampled_from(FAMILIES), max_size=3, unique=True)):
        parts = draw(PARTS)
        sep = "" if family.endswith("_") else "."
        for i in range(draw(st.integers(0, 7))):
            rows += [(f"{family}{sep}{i}.{name}", (width, 4)) for name, width in parts]
    return [*rows, ("head.w", (3, 4))]


@st.composite
def edited(draw: st.DrawFn, rows: list[tuple[str, Shape]]) -> list[tuple[str, Shape]]:
    """Edits users make: reshape some tensors, drop or add runs, rename a prefix."""
    out = list(rows)
    for _ in range(draw(st.integers(1, 4))):
        choice = draw(st.sampled_from(("reshape", "drop", "insert", "rename")))
        if not out:
            break
        at = draw(st.integers(0, len(out) - 1))
        span = draw(st.integers(1, 8))
        if choice == "reshape":
            step = draw(st.integers(1, 3))
            chosen = out[at : at + span : step]
            extra = draw(
                st.lists(st.sampled_from((2, 3)), min_size=len(chosen), max_size=len(chosen))
            )
            out[at : at + span : step] = [
                (n, (*s, k)) for (n, s), k in zip(chosen, extra, strict=True)
            ]
        elif choice == "drop":
            del out[at : at + span]
        elif choice == "insert":
            out = inserted(out, out[at][0], span, draw(st.integers(0, span)))
        else:
            old, new = (
                draw(st.sampled_from(FAMILIES)),
                draw(st.sampled_from(("blk", "inner.layers"))),
            )
            out = [(n.replace(old, new, 1) if n.startswith(old) else n, s) for n, s in out]
    return list(dict(out).items())


def inserted(
    rows: list[tuple[str, Shape]], name: str, count: int, odd: int
) -> list[tuple[str, Shape]]:
    """``count`` new blocks built as the block holding ``name``, after it; the ``odd``-th
    (when there is one) a little wider."""
    number = re.search(r"\d+", name)
    if number is None:
        return rows
    block = name[: number.end()] + "."
    parts = [(n[len(block) - 1 :], s) for n, s in rows if n.startswith(block)]
    new = [
        (f"{name[: number.start()]}{50 + k}{part}", (*s, 5) if k == odd else s)
        for k in range(count)
        for part, s in parts
    ]
    end = max(i for i, (n, _) in enumerate(rows) if n.startswith(block)) + 1
    return [*rows[:end], *new, *rows[end:]]


def as_report(rows: Sequence[tuple[str, Shape]]) -> ParamFormReport:
    return ParamFormReport("m", tuple(ParamRow(n, s) for n, s in dict(rows).items()))


def glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".+".join(re.escape(part) for part in pattern.split("*")) + "$")


def shape_of(drift: Drift) -> Shape:
    row = drift.after if drift.kind == "added" else drift.before
    assert row is not None
    return row.shape


def check_expands_back(line: Line, text: str) -> None:
    """What ``text`` says, read back: names from its brace range, block prefixes or rename
    patterns, must be exactly its members' names, and each member the same change."""
    names = sorted(d.name or "" for d in line.members)
    if text.startswith("renamed: "):
        old, new = text.removeprefix("renamed: ").split(" (")[0].split(" -> ")
        count = int(text.split(" (")[1].split(" ")[0])
        assert len(line.members) == 2 * count
        assert all(glob(old).match(d.name or "") for d in line.members if d.kind == "removed")
        assert all(glob(new).match(d.name or "") for d in line.members if d.kind == "added")
    elif line.name:
        assert sorted(expand(line.name)) == names
        assert len({d.text.split(d.name or "", 1)[1].strip() for d in line.members}) == 1
        assert line.detail.startswith(
            line.members[0].text.split(line.members[0].name or "", 1)[1].strip()
        )
    elif ": " in text and "block" in text:
        prefixes = expand(text[2:].split(": ")[0])
        kind = {"+": "added", "-": "removed"}[text[0]]
        assert {d.kind for d in line.members} == {kind}
        assert all(any(n.startswith(f"{p}.") for p in prefixes) for n in names)
        tensors = int(text.split("(")[1].split(" ")[0])
        assert len(names) == tensors * len(prefixes)
        built = {
            tuple(
                ((d.name or "")[len(p) :], shape_of(d))
                for d in line.members
                if (d.name or "").startswith(f"{p}.")
            )
            for p in prefixes
        }
        assert len(built) == 1, "every block of the run is built alike"
    else:
        assert [d.text for d in line.members] == [text]


@given(models().flatmap(lambda rows: st.tuples(st.just(rows), edited(rows))))
def test_folding_is_lossless(pair: tuple[list[tuple[str, Shape]], list[tuple[str, Shape]]]) -> None:
    before, after = as_report(pair[0]), as_report(pair[1])
    rows = [d for d in compare(before, after) if d.kind in ROW_KINDS]
    lines = fold(rows, before=before.rows, after=after.rows)
    members = [d for line in lines for d in line.members]
    key = [(d.kind, d.name, d.text) for d in rows]
    assert sorted(key) == sorted((d.kind, d.name, d.text) for d in members)
    assert len(members) == len(rows)
    for line, text in zip(lines, render_lines(lines), strict=True):
        check_expands_back(line, text.strip())


def test_frozen_and_cast_groups_repeated_in_every_block_are_one_range() -> None:
    before = llama(layers=32)
    frozen = tuple(
        replace(r, frozen=True) if "q_proj" in r.name or "layers.3." in r.name else r
        for r in before.rows
    )
    lines = tensor_lines(before, ParamFormReport("llama", frozen))
    assert lines[0] == (
        "  now frozen: model.layers.{0..2,4..31}.self_attn.q_proj.weight"
        " (520,093,696 parameters in 31 tensors),"
        " model.layers.3.* (202,383,360 parameters in 9 tensors)"
    )
    typed = ParamFormReport("llama", tuple(replace(r, dtype="float32") for r in before.rows))
    cast = tuple(replace(r, dtype="bfloat16") if "norm" in r.name else r for r in typed.rows)
    lines = tensor_lines(typed, ParamFormReport("llama", cast))
    assert lines[0] == (
        "  dtype float32 -> bfloat16: model.layers.{0..31}.input_layernorm.weight"
        " (131,072 parameters in 32 tensors), model.layers.{0..31}.post_attention_layernorm"
        ".weight (131,072 parameters in 32 tensors), model.norm.weight (4,096 parameters in 1"
        " tensors)"
    )


def test_blocks_removed_from_a_model_golden_fold_against_a_checkpoint_too() -> None:
    """A checkpoint holds buffers as tensors: the blocks are read as compare() reads them."""
    model = llama(layers=6)
    buffers = tuple(ParamRow(f"model.layers.{i}.rotary.inv_freq", (64,)) for i in range(6))
    golden = ParamFormReport("llama", model.rows, buffers=buffers)
    rows = [*llama(layers=4).rows, *buffers[:4]]
    checkpoint = ParamFormReport("ckpt", tuple(rows), source="checkpoint")
    message = drift_message(golden, checkpoint, model="ckpt")
    assert "  - model.layers.{4,5}: 2 blocks like model.layers.3 (10 tensors, " in message


def test_a_tie_broken_in_every_block_is_one_line() -> None:
    """ALBERT-style sharing: every layer's weight is the first layer's, until it is not."""
    rows = (ParamRow("layers.0.w", (128, 128)), ParamRow("head.w", (2, 128)))
    aliases = tuple(Alias(f"layers.{i}.w", "layers.0.w") for i in range(1, 12))
    shared = ParamFormReport("albert", rows, aliases)
    own = tuple(ParamRow(f"layers.{i}.w", (128, 128)) for i in range(12))
    message = render_drift(
        compare(shared, ParamFormReport("albert", (*own, rows[1]))),
        model="m",
        golden="g",
        accept=None,
    )
    assert message.splitlines()[1] == (
        "  tying broken: layers.{1..11}.w no longer shares layers.0.w"
        " (+16,384 parameters each, 11 tensors)"
    )
    assert "tying broken: layers.5.w" in render_drift(
        compare(shared, ParamFormReport("albert", (*own, rows[1]))),
        model="m",
        golden="g",
        accept=None,
        fold=False,
    )


def test_a_name_listed_twice_is_never_folded_into_a_range_of_one() -> None:
    twice = [
        Drift(
            "changed", f"~ a.1.w   {k}", "a.1.w", ParamRow("a.1.w", (2,)), ParamRow("a.1.w", (3,))
        )
        for k in "xy"
    ]
    assert [line.name for line in fold(twice)] == ["a.1.w", "a.1.w"]


def test_a_range_too_scattered_to_read_stays_lines_and_is_capped() -> None:
    before = ParamFormReport("m", tuple(ParamRow(f"b.{i}.w", (4,)) for i in range(400)))
    after = ParamFormReport(
        "m", tuple(ParamRow(r.name, (5 + i % 2,)) for i, r in enumerate(before.rows))
    )
    lines = tensor_lines(before, after)
    assert lines[0].startswith("  ~ b.0.w ")
    assert "  ... and 360 more (360 changed, 0 added, 0 removed)" in lines

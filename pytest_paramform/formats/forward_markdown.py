"""The "Forward pass" section of a Markdown golden: an inputs table and a table of module
outputs, after the tables the seed has. Present only when recorded; it parses back into
the same data."""

from __future__ import annotations

import re

from pytest_paramform.errors import GoldenError
from pytest_paramform.formats.consistency import check_share
from pytest_paramform.formats.markdown_tables import (
    Cursor,
    check_header,
    escape,
    expect_line,
    int_cell,
    named_cells,
    optional_line,
    percent_cell,
    read_table,
    render_table,
    shape_cell,
    unescape,
)
from pytest_paramform.forward_report import (
    MODEL_LABEL,
    ForwardInput,
    ForwardReport,
    ModuleOutput,
    Shape,
)
from pytest_paramform.report import short_count

TITLE = "**Forward pass**"
INPUTS_LINE = "Inputs:"
DEPTH_LINE = "Output of each module, down to depth {}:"
INPUT_HEADER = ("Input", "Shape", "dtype")
MODULE_HEADER = ("Module", "Output", "Calls", "FLOPs", "Share of FLOPs (%)")
FLOPS_LINE = "FLOPs: {} ({}), 2 per multiply-add"
LEAF_SEPARATOR = "<br>"
_DEPTH = re.compile(r"Output of each module, down to depth (\d+):")
_FLOPS = re.compile(r"FLOPs: ([0-9]+) \((.*)\), 2 per multiply-add")
_LEAF = re.compile(r"(?:(?P<name>.+) )?(?P<shape>\([0-9, ]*\))")


def _leaf(name: str, shape: Shape) -> str:
    return f"{escape(name)} {shape!r}" if name else repr(shape)


def _outputs_cell(row: ModuleOutput) -> str:
    return LEAF_SEPARATOR.join(_leaf(name, shape) for name, shape in row.outputs)


def render_forward(forward: ForwardReport) -> list[str]:
    """The section's lines."""
    inputs = ([escape(i.name), repr(i.shape), escape(i.dtype)] for i in forward.inputs)
    modules = (
        [
            escape(row.label),
            _outputs_cell(row),
            str(row.calls),
            str(row.flops),
            f"{forward.share(row):.2f}",
        ]
        for row in forward.modules
    )
    return [
        TITLE,
        "",
        FLOPS_LINE.format(forward.flops, short_count(forward.flops)),
        "",
        INPUTS_LINE,
        "",
        *render_table(list(INPUT_HEADER), inputs, seed_style=False),
        "",
        DEPTH_LINE.format(forward.depth),
        "",
        *render_table(list(MODULE_HEADER), modules, seed_style=False),
        "",
    ]


def parse_forward(cursor: Cursor) -> ForwardReport | None:
    """The section, if it comes next."""
    if not optional_line(cursor, TITLE):
        return None
    flops_no, line = cursor.take("the forward pass's FLOPs")
    flops = _FLOPS.fullmatch(line)
    if flops is None or flops.group(2) != short_count(int(flops.group(1))):
        expected = FLOPS_LINE.format("N", short_count(int(flops.group(1))) if flops else "N")
        raise GoldenError(f"expected {expected!r}, got {line[:80]!r}", line=flops_no)
    expect_line(cursor, INPUTS_LINE, "Forward pass")
    header_no, header, body = read_table(cursor, "Forward pass inputs")
    check_header(header, INPUT_HEADER, (), header_no)
    inputs = tuple(_input(named_cells(cells, header, n), n) for n, cells in body)
    lineno, line = cursor.take("the forward pass's depth")
    depth = _DEPTH.fullmatch(line)
    if depth is None:
        raise GoldenError(f"expected {DEPTH_LINE.format('N')!r}, got {line[:80]!r}", line=lineno)
    header_no, header, body = read_table(cursor, "Forward pass modules")
    check_header(header, MODULE_HEADER, (), header_no)
    read = [(_module(named_cells(cells, header, n), n), n) for n, cells in body]
    modules = tuple(row for (row, _), _ in read)
    forward = ForwardReport(inputs, int(depth.group(1)), modules, int(flops.group(1)))
    for (row, share), lineno in read:
        check_share(forward, row, share, lineno)
    return forward


def _input(cells: dict[str, str], lineno: int) -> ForwardInput:
    shape = shape_cell(cells["Shape"], lineno, "Shape")
    return ForwardInput(unescape(cells["Input"]), shape, unescape(cells["dtype"]))


def _module(cells: dict[str, str], lineno: int) -> tuple[ModuleOutput, float]:
    label = unescape(cells["Module"])
    name = "" if label == MODEL_LABEL else label
    leaves = cells["Output"].split(LEAF_SEPARATOR) if cells["Output"] else []
    outputs = tuple(_output(leaf, lineno) for leaf in leaves)
    calls = int_cell(cells["Calls"], lineno, "Calls")
    flops = int_cell(cells["FLOPs"], lineno, "FLOPs")
    share = percent_cell(cells["Share of FLOPs (%)"], lineno, "Share of FLOPs (%)")
    return ModuleOutput(name, outputs, calls, flops), share


def _output(cell: str, lineno: int) -> tuple[str, Shape]:
    match = _LEAF.fullmatch(cell)
    if match is None:
        raise GoldenError(
            f"expected an output such as (1, 1000) or logits (1, 1000), got {cell[:80]!r}",
            line=lineno,
            field="Output",
        )
    name = unescape(match["name"] or "")
    return name, shape_cell(match["shape"], lineno, "Output")

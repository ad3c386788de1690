"""The weights' bytes in a Markdown golden: a ``Weight memory`` line after the parameter
counts and a table by dtype. Present only when every parameter row records its dtype;
checked against the rows on load (a golden without it still loads)."""

from __future__ import annotations

import re

from pytest_paramform.errors import GoldenError
from pytest_paramform.formats.consistency import check_weights
from pytest_paramform.formats.markdown_tables import (
    Cursor,
    check_header,
    escape,
    int_cell,
    named_cells,
    read_table,
    render_table,
    unescape,
)
from pytest_paramform.report import ParamFormReport, short_bytes
from pytest_paramform.weight_memory import DtypeWeights, WeightMemory

TOTAL_LINE = "**Weight memory: [ {} ]**"
HEADER = ("dtype", "Parameters", "Bytes")
UNKNOWN = "unknown"
FIELD = "Weight memory"
_TOTAL = re.compile(r"\*\*Weight memory: \[ (.*) \]\*\*")

# What a golden states: its total's text and line, and each dtype's figures and line.
Stated = tuple[str, int, list[tuple[DtypeWeights, int]]]


def render_weights(weights: WeightMemory | None) -> list[str]:
    """The total, short and 1000-based, then the exact figures by dtype."""
    if weights is None:
        return []
    rows = (
        [escape(entry.dtype), str(entry.parameters), _size(entry.bytes)]
        for entry in weights.dtypes
    )
    return [
        TOTAL_LINE.format(_short(weights.bytes)),
        "",
        *render_table(list(HEADER), rows, seed_style=False),
        "",
    ]


def _size(value: int | None) -> str:
    return UNKNOWN if value is None else str(value)


def _short(value: int | None) -> str:
    return UNKNOWN if value is None else short_bytes(value)


def parse_weights(cursor: Cursor) -> Stated | None:
    """The section's figures as stated, if it comes next."""
    nxt = cursor.peek()
    match = _TOTAL.fullmatch(nxt[1]) if nxt else None
    if match is None or nxt is None:
        return None
    cursor.pos += 1
    header_no, header, body = read_table(cursor, FIELD)
    check_header(header, HEADER, (), header_no)
    entries = [(_entry(named_cells(cells, header, n), n), n) for n, cells in body]
    return match.group(1), nxt[0], entries


def _entry(cells: dict[str, str], lineno: int) -> DtypeWeights:
    size = cells["Bytes"]
    return DtypeWeights(
        unescape(cells["dtype"]),
        int_cell(cells["Parameters"], lineno, "Parameters"),
        None if size == UNKNOWN else int_cell(size, lineno, "Bytes"),
    )


def check_stated(report: ParamFormReport, stated: Stated) -> None:
    """The stated figures must be what the rows give; the total to the short figure shown."""
    total, lineno, entries = stated
    lines: dict[str, int | None] = {entry.dtype: n for entry, n in entries}
    lines[""] = lineno
    weights = WeightMemory(tuple(entry for entry, _ in entries))
    check_weights(report, weights, weights.bytes, lines=lines, field=FIELD)
    if total != _short(weights.bytes):
        raise GoldenError(
            f"the weight memory is {total} but the table adds up to {_short(weights.bytes)}",
            line=lineno,
            field=FIELD,
        )

"""The Markdown golden: the seed report's layout, readable in a pull request, parsed back.

Its tables, their cells and their escaping are ``markdown_tables``'s; the weight memory
and forward-pass sections are ``weights_markdown``'s and ``forward_markdown``'s.
"""

from __future__ import annotations

import re

from pytest_paramform.errors import GoldenError, in_file
from pytest_paramform.formats.consistency import (
    check_aliases,
    check_row,
    check_shares,
    check_source,
    check_total,
    check_unique_names,
)
from pytest_paramform.formats.forward_markdown import parse_forward, render_forward
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
from pytest_paramform.formats.weights_markdown import check_stated, parse_weights, render_weights
from pytest_paramform.report import Alias, ParamFormReport, ParamRow, Source, short_count

TITLE_SUFFIX = " parameter information"
LAYERS_LINE = "**Number of layers: [ {} ]**"
PARAMETERS_LINE = "**Number of parameters: [ {} ]**"
LAYER_SHARES = "**Proportional of each form** (%)"
PARAMETER_SHARES = "**Proportional of parameters by form** (%)"
LAYER_TABLE = "**Layer information**"
CHART_LINE = '<img src="{}" alt="pie_chart" width="500"/>'
ROW_HEADER = ("Name", "Shape", "Squeezed shape", "Number of parameters", "Form")
FROZEN_COLUMN, FROZEN_MARK, DTYPE_COLUMN = "Frozen", "frozen", "dtype"
TRAINABLE_LINE = "**Number of trainable parameters: [ {} ]**"
SOURCE_LINE = "**Source: {}**"
ALIAS_TABLE, ALIAS_HEADER = "**Tied weights**", ("Name", "Same tensor as")
BUFFER_TABLE = "**Buffers**"
BUFFER_HEADER = ("Name", "Shape", "Number of elements")

_COUNT = re.compile(r"\*\*Number of (layers|parameters|trainable parameters): \[ (.*) \]\*\*")


def _shape(shape: tuple[int, ...]) -> str:
    return repr(tuple(shape))


def _extra_columns(report: ParamFormReport, rows: tuple[ParamRow, ...]) -> tuple[str, ...]:
    """Frozen and dtype columns appear only when the report has something to put there."""
    frozen = (FROZEN_COLUMN,) if any(r.frozen for r in rows) else ()
    return frozen + ((DTYPE_COLUMN,) if report.has_dtype else ())


def _extra_cells(row: ParamRow, columns: tuple[str, ...]) -> list[str]:
    cells = {
        FROZEN_COLUMN: FROZEN_MARK if row.frozen else "",
        DTYPE_COLUMN: escape(row.dtype or ""),
    }
    return [cells[c] for c in columns]


def _layer_table(report: ParamFormReport) -> list[str]:
    extra = _extra_columns(report, report.rows)
    rows = (
        [
            escape(r.name),
            _shape(r.shape),
            _shape(r.squeezed),
            str(r.numel),
            r.form,
            *_extra_cells(r, extra),
        ]
        for r in report.rows
    )
    return [LAYER_TABLE, "", "", *render_table([*ROW_HEADER, *extra], rows, seed_style=False), ""]


def _alias_table(report: ParamFormReport) -> list[str]:
    if not report.aliases:
        return []
    rows = ([escape(a.name), escape(a.target)] for a in report.aliases)
    return [ALIAS_TABLE, "", "", *render_table(list(ALIAS_HEADER), rows, seed_style=False), ""]


def _buffer_table(report: ParamFormReport) -> list[str]:
    if report.buffers is None:
        return []
    extra = (DTYPE_COLUMN,) if report.has_dtype else ()
    rows = (
        [escape(b.name), _shape(b.shape), str(b.numel), *_extra_cells(b, extra)]
        for b in report.buffers
    )
    table = render_table([*BUFFER_HEADER, *extra], rows, seed_style=False)
    return [BUFFER_TABLE, "", "", *table, ""]


def _shares_table(forms: list[str], shares: dict[str, float]) -> list[str]:
    return render_table(forms, iter([[f"{v:.2f}" for v in shares.values()]]), seed_style=True)


def render_markdown(report: ParamFormReport, chart: str | None = None) -> str:
    """The seed document for ``report``; ``chart`` adds the pie-chart image link.

    Sections the seed lacks (source, trainable total, frozen and dtype columns, tied
    weights, buffers) appear only when the report holds them.
    """
    forms = list(report.forms)
    lines = [f"# {escape(report.name)}{TITLE_SUFFIX}", ""]
    if report.source != "model":
        lines += [SOURCE_LINE.format(report.source), ""]
    lines += [
        LAYERS_LINE.format(report.num_layers),
        "",
        PARAMETERS_LINE.format(short_count(report.num_parameters)),
        "",
    ]
    if report.has_frozen:
        lines += [TRAINABLE_LINE.format(short_count(report.num_trainable)), ""]
    if report.weights is not None:
        lines += render_weights(report.weights)
    lines += [
        LAYER_SHARES,
        "",
        *_shares_table(forms, report.layer_shares),
        "",
        PARAMETER_SHARES,
        "",
        "",
        *_shares_table(forms, report.parameter_shares),
        "",
    ]
    if chart is not None:
        lines += [CHART_LINE.format(chart), ""]
    lines += [*_layer_table(report), *_alias_table(report), *_buffer_table(report)]
    if report.forward is not None:
        lines += render_forward(report.forward)
    return "\n".join(lines) + "\n"


def _shares(cursor: Cursor, title: str, what: str) -> tuple[int, dict[str, float]]:
    expect_line(cursor, title, what)
    lineno, header, body = read_table(cursor, what)
    if len(body) != 1:
        raise GoldenError(
            f"the {what} table must have exactly one row of values", line=lineno, field=what
        )
    values_no, values = body[0]
    if len(set(header)) != len(header):
        raise GoldenError(f"a form column appears twice in {header}", line=lineno, field=what)
    if len(values) != len(header):
        raise GoldenError(
            f"{len(values)} values for {len(header)} columns", line=values_no, field=what
        )
    shares = {h: percent_cell(v, values_no, what) for h, v in zip(header, values, strict=True)}
    return values_no, shares


def _frozen_cell(cell: str, lineno: int) -> bool:
    if cell not in ("", FROZEN_MARK):
        raise GoldenError(
            f"expected {FROZEN_MARK!r} or an empty cell, got {cell!r}", line=lineno, field="Frozen"
        )
    return cell == FROZEN_MARK


def _tensor(cells: dict[str, str], lineno: int) -> ParamRow:
    return ParamRow(
        name=unescape(cells["Name"]),
        shape=shape_cell(cells["Shape"], lineno, "Shape"),
        frozen=_frozen_cell(cells.get(FROZEN_COLUMN, ""), lineno),
        dtype=unescape(cells.get(DTYPE_COLUMN, "")) or None,
    )


def _row(cells: list[str], header: list[str], lineno: int) -> ParamRow:
    named = named_cells(cells, header, lineno)
    squeezed, numel, form = named["Squeezed shape"], named["Number of parameters"], named["Form"]
    row = _tensor(named, lineno)
    check_row(
        row,
        line=lineno,
        squeezed=shape_cell(squeezed, lineno, "Squeezed shape"),
        numel=int_cell(numel, lineno, "Number of parameters"),
        form=form,
    )
    return row


def _buffer(cells: list[str], header: list[str], lineno: int) -> ParamRow:
    named = named_cells(cells, header, lineno)
    row = _tensor(named, lineno)
    numel = int_cell(named["Number of elements"], lineno, "Number of elements")
    check_row(row, line=lineno, squeezed=None, numel=numel, form=None)
    return row


def _count(cursor: Cursor, which: str) -> tuple[int, str]:
    lineno, line = cursor.take(f"the number of {which}")
    match = _COUNT.fullmatch(line)
    if match is None or match.group(1) != which:
        raise GoldenError(
            f"expected {'**Number of ' + which + ': [ ... ]**'!r}, got {line!r}",
            line=lineno,
            field=f"Number of {which}",
        )
    return lineno, match.group(2)


def _skip_chart(cursor: Cursor) -> None:
    while (nxt := cursor.peek()) is not None and nxt[1].startswith("<img "):
        cursor.pos += 1


def parse_markdown(text: str, path: str | None = None) -> ParamFormReport:
    """Parse and verify a Markdown golden; every problem is a GoldenError naming ``path``."""
    with in_file(path):
        return _parse(text)


def _title(cursor: Cursor) -> str:
    lineno, title = cursor.take("the title")
    if not (title.startswith("# ") and title.endswith(TITLE_SUFFIX)):
        raise GoldenError(
            f"not a paramform document: expected '# <model>{TITLE_SUFFIX}', got {title[:80]!r}",
            line=lineno,
        )
    return unescape(title[2 : -len(TITLE_SUFFIX)])


def _source(cursor: Cursor) -> Source:
    nxt = cursor.peek()
    match = re.fullmatch(r"\*\*Source: (.*)\*\*", nxt[1]) if nxt else None
    if match is None:
        return "model"
    cursor.pos += 1
    assert nxt is not None
    return check_source(match.group(1), line=nxt[0], field="Source")


def _trainable(cursor: Cursor) -> tuple[int, str] | None:
    nxt = cursor.peek()
    if nxt is None or not nxt[1].startswith("**Number of trainable"):
        return None
    return _count(cursor, "trainable parameters")


def _layer_rows(cursor: Cursor) -> list[ParamRow]:
    expect_line(cursor, LAYER_TABLE, "Layer information")
    header_no, header, body = read_table(cursor, "Layer information")
    check_header(header, ROW_HEADER, (FROZEN_COLUMN, DTYPE_COLUMN), header_no)
    rows = [_row(cells, header, lineno) for lineno, cells in body]
    check_unique_names(rows, [lineno for lineno, _ in body])
    return rows


def _aliases(cursor: Cursor, rows: list[ParamRow]) -> list[Alias]:
    if not optional_line(cursor, ALIAS_TABLE):
        return []
    header_no, header, body = read_table(cursor, "Tied weights")
    check_header(header, ALIAS_HEADER, (), header_no)
    aliases = []
    for lineno, cells in body:
        named = named_cells(cells, header, lineno)
        aliases.append(Alias(unescape(named["Name"]), unescape(named["Same tensor as"])))
    check_aliases(rows, aliases, [lineno for lineno, _ in body])
    return aliases


def _buffers(cursor: Cursor) -> list[ParamRow] | None:
    if not optional_line(cursor, BUFFER_TABLE):
        return None
    header_no, header, body = read_table(cursor, "Buffers")
    check_header(header, BUFFER_HEADER, (DTYPE_COLUMN,), header_no)
    buffers = [_buffer(cells, header, lineno) for lineno, cells in body]
    check_unique_names(buffers, [lineno for lineno, _ in body])
    return buffers


def _check_count(stored: str, lineno: int, actual: int, what: str) -> None:
    if stored not in (short_count(actual), str(actual)):
        raise GoldenError(
            f"{what} is {stored} but the parameter rows add up to {short_count(actual)} ({actual})",
            line=lineno,
            field=what,
        )


def _parse(text: str) -> ParamFormReport:
    cursor = Cursor(text.splitlines())
    if cursor.peek() is None:
        raise GoldenError("the file is empty, not a paramform golden")
    name = _title(cursor)
    source = _source(cursor)
    layers_no, layers = _count(cursor, "layers")
    params_no, params = _count(cursor, "parameters")
    trainable = _trainable(cursor)
    weights = parse_weights(cursor)
    layer_no, layer_shares = _shares(cursor, LAYER_SHARES, "Proportional of each form")
    param_no, parameter_shares = _shares(
        cursor, PARAMETER_SHARES, "Proportional of parameters by form"
    )
    _skip_chart(cursor)
    rows = _layer_rows(cursor)
    aliases = _aliases(cursor, rows)
    buffers = _buffers(cursor)
    forward = parse_forward(cursor)
    if (extra := cursor.peek()) is not None:
        raise GoldenError(f"unexpected text after the tables: {extra[1][:80]!r}", line=extra[0])
    report = ParamFormReport(
        name=name,
        rows=tuple(rows),
        aliases=tuple(aliases),
        buffers=None if buffers is None else tuple(buffers),
        source=source,
        forward=forward,
    )
    check_total(
        int_cell(layers, layers_no, "Number of layers"),
        report.num_layers,
        what="Number of layers",
        line=layers_no,
        field="Number of layers",
    )
    _check_count(params, params_no, report.num_parameters, "Number of parameters")
    if trainable is not None or report.has_frozen:
        where, stored = trainable or (params_no, "(missing)")
        _check_count(stored, where, report.num_trainable, "Number of trainable parameters")
    check_shares(
        report, layer_shares, by="layers", line=layer_no, field="Proportional of each form"
    )
    check_shares(
        report,
        parameter_shares,
        by="parameters",
        line=param_no,
        field="Proportional of parameters by form",
    )
    if weights is not None:
        check_stated(report, weights)
    return report

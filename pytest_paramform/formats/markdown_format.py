"""The Markdown golden: the seed report's layout, readable in a pull request, parsed back.

Cells are escaped so any parameter name survives a round trip: ``\\`` and ``|`` get a
backslash, control characters and whitespace at the ends of a name become ``\\uXXXX``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

from pytest_paramform.errors import GoldenError, in_file
from pytest_paramform.formats.consistency import (
    check_aliases,
    check_row,
    check_shares,
    check_source,
    check_total,
    check_unique_names,
)
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

_UNESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_PIPE_OR_ESCAPE = re.compile(r"\\.|\|", re.DOTALL)
_COUNT = re.compile(r"\*\*Number of (layers|parameters|trainable parameters): \[ (.*) \]\*\*")


def _escape_char(ch: str, at_edge: bool) -> str:
    if ch in "\\|":
        return "\\" + ch
    code = ord(ch)
    if (
        code < 0x20
        or 0x7F <= code <= 0x9F
        or code in (0x2028, 0x2029)
        or (at_edge and ch.isspace())
    ):
        return f"\\u{code:04x}"  # every such character lies below U+10000
    return ch


def escape(text: str) -> str:
    last = len(text) - 1
    return "".join(_escape_char(ch, i in (0, last)) for i, ch in enumerate(text))


def unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        token = match.group(1)
        if len(token) > 1:
            return chr(int(token[1:], 16))
        return token

    return _UNESCAPE.sub(one, text)


def _shape(shape: tuple[int, ...]) -> str:
    return repr(tuple(shape))


def _table(header: list[str], rows: Iterator[list[str]], *, seed_style: bool) -> list[str]:
    """Pipe table lines; the proportion tables keep the seed's trailing spaces exactly."""
    if seed_style:
        return [
            "| " + " | ".join(header) + " | ",
            "|  " + " | ".join("---" for _ in header) + " |",
            *("| " + " | ".join(row) + " | " for row in rows),
        ]
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


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
    return [LAYER_TABLE, "", "", *_table([*ROW_HEADER, *extra], rows, seed_style=False), ""]


def _alias_table(report: ParamFormReport) -> list[str]:
    if not report.aliases:
        return []
    rows = ([escape(a.name), escape(a.target)] for a in report.aliases)
    return [ALIAS_TABLE, "", "", *_table(list(ALIAS_HEADER), rows, seed_style=False), ""]


def _buffer_table(report: ParamFormReport) -> list[str]:
    if report.buffers is None:
        return []
    extra = (DTYPE_COLUMN,) if report.has_dtype else ()
    rows = (
        [escape(b.name), _shape(b.shape), str(b.numel), *_extra_cells(b, extra)]
        for b in report.buffers
    )
    return [BUFFER_TABLE, "", "", *_table([*BUFFER_HEADER, *extra], rows, seed_style=False), ""]


def _shares_table(forms: list[str], shares: dict[str, float]) -> list[str]:
    return _table(forms, iter([[f"{v:.2f}" for v in shares.values()]]), seed_style=True)


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
        from pytest_paramform.formats.weights_markdown import render_weights

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
        from pytest_paramform.formats.forward_markdown import render_forward

        lines += render_forward(report.forward)
    return "\n".join(lines) + "\n"


@dataclass
class _Lines:
    """A cursor over the document's lines that skips blanks and knows line numbers."""

    lines: list[str]
    pos: int = 0

    def peek(self) -> tuple[int, str] | None:
        while self.pos < len(self.lines) and not self.lines[self.pos].strip():
            self.pos += 1
        if self.pos == len(self.lines):
            return None
        return self.pos + 1, self.lines[self.pos].strip()

    def take(self, what: str) -> tuple[int, str]:
        found = self.peek()
        if found is None:
            raise GoldenError(f"the document ends before {what} (a truncated golden?)")
        self.pos += 1
        return found


def split_cells(line: str, lineno: int) -> list[str]:
    """Cells of a pipe-table row, split at pipes that are not escaped."""
    cuts = [m.start() for m in _PIPE_OR_ESCAPE.finditer(line) if m.group() == "|"]
    if len(cuts) < 2 or line[: cuts[0]].strip() or line[cuts[-1] + 1 :].strip():
        raise GoldenError(
            f"expected a table row starting and ending with '|', got {line[:80]!r}", line=lineno
        )
    return [line[a + 1 : b].strip() for a, b in pairwise(cuts)]


def _expect(cursor: _Lines, expected: str, what: str) -> int:
    lineno, line = cursor.take(what)
    if line != expected:
        raise GoldenError(f"expected {expected!r}, got {line!r}", line=lineno, field=what)
    return lineno


def _read_table(cursor: _Lines, what: str) -> tuple[int, list[str], list[tuple[int, list[str]]]]:
    """Header, and the body rows with their line numbers, of the next table."""
    lineno, header = cursor.take(f"the {what} table")
    if not header.startswith("|"):
        raise GoldenError(f"expected the {what} table, got {header!r}", line=lineno, field=what)
    sep_no, separator = cursor.take(f"the {what} table")
    if not re.fullmatch(r"\|(\s*:?-{3,}:?\s*\|)+", separator):
        raise GoldenError(f"expected a table separator row, got {separator!r}", line=sep_no)
    body: list[tuple[int, list[str]]] = []
    while (nxt := cursor.peek()) is not None and nxt[1].startswith("|"):
        cursor.pos += 1
        body.append((nxt[0], split_cells(nxt[1], nxt[0])))
    return lineno, split_cells(header, lineno), body


def _percent(cell: str, lineno: int, what: str) -> float:
    try:
        value = float(cell)
        if not math.isfinite(value):
            raise ValueError
        return value
    except ValueError:
        raise GoldenError(f"expected a percentage, got {cell!r}", line=lineno, field=what) from None


def _shares(cursor: _Lines, title: str, what: str) -> tuple[int, dict[str, float]]:
    _expect(cursor, title, what)
    lineno, header, body = _read_table(cursor, what)
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
    return values_no, {h: _percent(v, values_no, what) for h, v in zip(header, values, strict=True)}


def _int_cell(cell: str, lineno: int, field: str) -> int:
    if not cell.isascii() or not cell.isdigit():
        raise GoldenError(f"expected a whole number, got {cell!r}", line=lineno, field=field)
    return int(cell)


def _shape_cell(cell: str, lineno: int, field: str) -> tuple[int, ...]:
    """``(32, 3)``, ``(32,)`` or ``()``, read without a backtracking pattern: a hand-made
    cell of a few thousand spaces must not take minutes."""
    bracketed = len(cell) >= 2 and cell[0] == "(" and cell[-1] == ")"
    inner = cell[1:-1].strip() if bracketed else None
    if inner == "":
        return ()
    parts = [p.strip() for p in inner.removesuffix(",").split(",")] if inner else None
    if parts is None or not all(p.isascii() and p.isdigit() for p in parts):
        raise GoldenError(
            f"expected a shape such as (32, 3), got {cell[:80]!r}", line=lineno, field=field
        )
    return tuple(int(p) for p in parts)


def _cells(cells: list[str], header: list[str], lineno: int) -> dict[str, str]:
    if len(cells) != len(header):
        raise GoldenError(
            f"expected {len(header)} cells ({', '.join(header)}), got {len(cells)}"
            " (an unescaped '|' in a name?)",
            line=lineno,
        )
    return dict(zip(header, cells, strict=True))


def _frozen_cell(cell: str, lineno: int) -> bool:
    if cell not in ("", FROZEN_MARK):
        raise GoldenError(
            f"expected {FROZEN_MARK!r} or an empty cell, got {cell!r}", line=lineno, field="Frozen"
        )
    return cell == FROZEN_MARK


def _tensor(cells: dict[str, str], lineno: int) -> ParamRow:
    return ParamRow(
        name=unescape(cells["Name"]),
        shape=_shape_cell(cells["Shape"], lineno, "Shape"),
        frozen=_frozen_cell(cells.get(FROZEN_COLUMN, ""), lineno),
        dtype=unescape(cells.get(DTYPE_COLUMN, "")) or None,
    )


def _row(cells: list[str], header: list[str], lineno: int) -> ParamRow:
    named = _cells(cells, header, lineno)
    squeezed, numel, form = named["Squeezed shape"], named["Number of parameters"], named["Form"]
    row = _tensor(named, lineno)
    check_row(
        row,
        line=lineno,
        squeezed=_shape_cell(squeezed, lineno, "Squeezed shape"),
        numel=_int_cell(numel, lineno, "Number of parameters"),
        form=form,
    )
    return row


def _buffer(cells: list[str], header: list[str], lineno: int) -> ParamRow:
    named = _cells(cells, header, lineno)
    row = _tensor(named, lineno)
    numel = _int_cell(named["Number of elements"], lineno, "Number of elements")
    check_row(row, line=lineno, squeezed=None, numel=numel, form=None)
    return row


def _count(cursor: _Lines, which: str) -> tuple[int, str]:
    lineno, line = cursor.take(f"the number of {which}")
    match = _COUNT.fullmatch(line)
    if match is None or match.group(1) != which:
        raise GoldenError(
            f"expected {'**Number of ' + which + ': [ ... ]**'!r}, got {line!r}",
            line=lineno,
            field=f"Number of {which}",
        )
    return lineno, match.group(2)


def _skip_chart(cursor: _Lines) -> None:
    while (nxt := cursor.peek()) is not None and nxt[1].startswith("<img "):
        cursor.pos += 1


def parse_markdown(text: str, path: str | None = None) -> ParamFormReport:
    """Parse and verify a Markdown golden; every problem is a GoldenError naming ``path``."""
    with in_file(path):
        return _parse(text)


def _title(cursor: _Lines) -> str:
    lineno, title = cursor.take("the title")
    if not (title.startswith("# ") and title.endswith(TITLE_SUFFIX)):
        raise GoldenError(
            f"not a paramform document: expected '# <model>{TITLE_SUFFIX}', got {title[:80]!r}",
            line=lineno,
        )
    return unescape(title[2 : -len(TITLE_SUFFIX)])


def _header(header: list[str], base: tuple[str, ...], extra: tuple[str, ...], lineno: int) -> None:
    """The table's columns: the fixed ones, then any of ``extra`` in that order."""
    rest = header[len(base) :]
    if tuple(header[: len(base)]) != base or rest != [c for c in extra if c in rest]:
        expected = [*base, *(f"[{c}]" for c in extra)]
        raise GoldenError(f"expected columns {expected}, got {header}", line=lineno)


def _optional(cursor: _Lines, line: str) -> bool:
    """Take ``line`` if it comes next: it starts a section the seed does not have."""
    nxt = cursor.peek()
    if nxt is not None and nxt[1] == line:
        cursor.pos += 1
        return True
    return False


def _source(cursor: _Lines) -> Source:
    nxt = cursor.peek()
    match = re.fullmatch(r"\*\*Source: (.*)\*\*", nxt[1]) if nxt else None
    if match is None:
        return "model"
    cursor.pos += 1
    assert nxt is not None
    return check_source(match.group(1), line=nxt[0], field="Source")


def _trainable(cursor: _Lines) -> tuple[int, str] | None:
    nxt = cursor.peek()
    if nxt is None or not nxt[1].startswith("**Number of trainable"):
        return None
    return _count(cursor, "trainable parameters")


def _layer_rows(cursor: _Lines) -> list[ParamRow]:
    _expect(cursor, LAYER_TABLE, "Layer information")
    header_no, header, body = _read_table(cursor, "Layer information")
    _header(header, ROW_HEADER, (FROZEN_COLUMN, DTYPE_COLUMN), header_no)
    rows = [_row(cells, header, lineno) for lineno, cells in body]
    check_unique_names(rows, [lineno for lineno, _ in body])
    return rows


def _aliases(cursor: _Lines, rows: list[ParamRow]) -> list[Alias]:
    if not _optional(cursor, ALIAS_TABLE):
        return []
    header_no, header, body = _read_table(cursor, "Tied weights")
    _header(header, ALIAS_HEADER, (), header_no)
    aliases = []
    for lineno, cells in body:
        named = _cells(cells, header, lineno)
        aliases.append(Alias(unescape(named["Name"]), unescape(named["Same tensor as"])))
    check_aliases(rows, aliases, [lineno for lineno, _ in body])
    return aliases


def _buffers(cursor: _Lines) -> list[ParamRow] | None:
    if not _optional(cursor, BUFFER_TABLE):
        return None
    header_no, header, body = _read_table(cursor, "Buffers")
    _header(header, BUFFER_HEADER, (DTYPE_COLUMN,), header_no)
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
    cursor = _Lines(text.splitlines())
    if cursor.peek() is None:
        raise GoldenError("the file is empty, not a paramform golden")
    name = _title(cursor)
    source = _source(cursor)
    layers_no, layers = _count(cursor, "layers")
    params_no, params = _count(cursor, "parameters")
    trainable = _trainable(cursor)
    from pytest_paramform.formats.weights_markdown import check_stated, parse_weights

    weights = parse_weights(cursor)
    layer_no, layer_shares = _shares(cursor, LAYER_SHARES, "Proportional of each form")
    param_no, parameter_shares = _shares(
        cursor, PARAMETER_SHARES, "Proportional of parameters by form"
    )
    _skip_chart(cursor)
    rows = _layer_rows(cursor)
    aliases = _aliases(cursor, rows)
    buffers = _buffers(cursor)
    from pytest_paramform.formats.forward_markdown import parse_forward

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
        _int_cell(layers, layers_no, "Number of layers"),
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

"""The Markdown golden: the seed report's layout, readable in a pull request, parsed back.

Cells are escaped so any parameter name survives a round trip: ``\\`` and ``|`` get a
backslash, control characters and whitespace at the ends of a name become ``\\uXXXX``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

from pytest_paramform.consistency import (
    check_row,
    check_shares,
    check_total,
    check_unique_names,
)
from pytest_paramform.errors import GoldenError, in_file
from pytest_paramform.report import ParamFormReport, ParamRow, short_count

TITLE_SUFFIX = " parameter information"
LAYERS_LINE = "**Number of layers: [ {} ]**"
PARAMETERS_LINE = "**Number of parameters: [ {} ]**"
LAYER_SHARES = "**Proportional of each form** (%)"
PARAMETER_SHARES = "**Proportional of parameters by form** (%)"
LAYER_TABLE = "**Layer information**"
CHART_LINE = '<img src="{}" alt="pie_chart" width="500"/>'
ROW_HEADER = ("Name", "Shape", "Squeezed shape", "Number of parameters", "Form")

_UNESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", re.DOTALL)
_PIPE_OR_ESCAPE = re.compile(r"\\.|\|", re.DOTALL)
_SHAPE = re.compile(r"\(\s*((?:\d+\s*,\s*)*\d*)\s*,?\s*\)")
_COUNT = re.compile(r"\*\*Number of (layers|parameters): \[ (.*) \]\*\*")


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
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
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


def render_markdown(report: ParamFormReport, chart: str | None = None) -> str:
    """The seed document for ``report``; ``chart`` adds the pie-chart image link."""
    forms = list(report.forms)
    lines = [
        f"# {escape(report.name)}{TITLE_SUFFIX}",
        "",
        LAYERS_LINE.format(report.num_layers),
        "",
        PARAMETERS_LINE.format(short_count(report.num_parameters)),
        "",
        LAYER_SHARES,
        "",
        *_table(forms, iter([[f"{v:.2f}" for v in report.layer_shares.values()]]), seed_style=True),
        "",
        PARAMETER_SHARES,
        "",
        "",
        *_table(
            forms, iter([[f"{v:.2f}" for v in report.parameter_shares.values()]]), seed_style=True
        ),
        "",
    ]
    if chart is not None:
        lines += [CHART_LINE.format(chart), ""]
    rows = (
        [escape(r.name), _shape(r.shape), _shape(r.squeezed), str(r.numel), r.form]
        for r in report.rows
    )
    lines += [LAYER_TABLE, "", "", *_table(list(ROW_HEADER), rows, seed_style=False), ""]
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
        return float(cell)
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
    match = _SHAPE.fullmatch(cell)
    if match is None or not cell.isascii():
        raise GoldenError(
            f"expected a shape such as (32, 3), got {cell!r}", line=lineno, field=field
        )
    return tuple(int(d) for d in re.findall(r"\d+", match.group(1)))


def _row(cells: list[str], lineno: int) -> ParamRow:
    if len(cells) != len(ROW_HEADER):
        raise GoldenError(
            f"expected {len(ROW_HEADER)} cells ({', '.join(ROW_HEADER)}), got {len(cells)}"
            " (an unescaped '|' in a name?)",
            line=lineno,
        )
    name, shape, squeezed, numel, form = cells
    row = ParamRow(name=unescape(name), shape=_shape_cell(shape, lineno, "Shape"))
    check_row(
        row,
        line=lineno,
        squeezed=_shape_cell(squeezed, lineno, "Squeezed shape"),
        numel=_int_cell(numel, lineno, "Number of parameters"),
        form=form,
    )
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


def _parse(text: str) -> ParamFormReport:
    cursor = _Lines(text.splitlines())
    if cursor.peek() is None:
        raise GoldenError("the file is empty, not a paramform golden")
    name = _title(cursor)
    layers_no, layers = _count(cursor, "layers")
    params_no, params = _count(cursor, "parameters")
    layer_no, layer_shares = _shares(cursor, LAYER_SHARES, "Proportional of each form")
    param_no, parameter_shares = _shares(
        cursor, PARAMETER_SHARES, "Proportional of parameters by form"
    )
    _skip_chart(cursor)
    _expect(cursor, LAYER_TABLE, "Layer information")
    header_no, header, body = _read_table(cursor, "Layer information")
    if tuple(header) != ROW_HEADER:
        raise GoldenError(f"expected columns {list(ROW_HEADER)}, got {header}", line=header_no)
    if (extra := cursor.peek()) is not None:
        raise GoldenError(
            f"unexpected text after the layer table: {extra[1][:80]!r}", line=extra[0]
        )
    rows = [_row(cells, lineno) for lineno, cells in body]
    check_unique_names(rows, [lineno for lineno, _ in body])
    report = ParamFormReport(name=name, rows=tuple(rows))
    check_total(
        _int_cell(layers, layers_no, "Number of layers"),
        report.num_layers,
        what="Number of layers",
        line=layers_no,
        field="Number of layers",
    )
    if params not in (short_count(report.num_parameters), str(report.num_parameters)):
        raise GoldenError(
            f"Number of parameters is {params} but the parameter rows add up to"
            f" {short_count(report.num_parameters)} ({report.num_parameters})",
            line=params_no,
            field="Number of parameters",
        )
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
    return report

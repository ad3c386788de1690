"""Pipe tables in a Markdown golden, shared by its sections: escaping a cell, writing a
table, a cursor over the document's lines, and reading a table and its cells back. Every
problem is a GoldenError naming the line (and the column, where there is one).

Cells are escaped so any parameter name survives a round trip: ``\\`` and ``|`` get a
backslash, control characters and whitespace at the ends of a name become ``\\uXXXX``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

from pytest_paramform.errors import GoldenError

_UNESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_PIPE_OR_ESCAPE = re.compile(r"\\.|\|", re.DOTALL)


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


def render_table(header: list[str], rows: Iterator[list[str]], *, seed_style: bool) -> list[str]:
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


@dataclass
class Cursor:
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


def expect_line(cursor: Cursor, expected: str, what: str) -> int:
    lineno, line = cursor.take(what)
    if line != expected:
        raise GoldenError(f"expected {expected!r}, got {line!r}", line=lineno, field=what)
    return lineno


def read_table(cursor: Cursor, what: str) -> tuple[int, list[str], list[tuple[int, list[str]]]]:
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


def percent_cell(cell: str, lineno: int, what: str) -> float:
    try:
        value = float(cell)
        if not math.isfinite(value):
            raise ValueError
        return value
    except ValueError:
        raise GoldenError(f"expected a percentage, got {cell!r}", line=lineno, field=what) from None


def int_cell(cell: str, lineno: int, field: str) -> int:
    if not cell.isascii() or not cell.isdigit():
        raise GoldenError(f"expected a whole number, got {cell!r}", line=lineno, field=field)
    return int(cell)


def shape_cell(cell: str, lineno: int, field: str) -> tuple[int, ...]:
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


def named_cells(cells: list[str], header: list[str], lineno: int) -> dict[str, str]:
    if len(cells) != len(header):
        raise GoldenError(
            f"expected {len(header)} cells ({', '.join(header)}), got {len(cells)}"
            " (an unescaped '|' in a name?)",
            line=lineno,
        )
    return dict(zip(header, cells, strict=True))


def check_header(
    header: list[str], base: tuple[str, ...], extra: tuple[str, ...], lineno: int
) -> None:
    """The table's columns: the fixed ones, then any of ``extra`` in that order."""
    rest = header[len(base) :]
    if tuple(header[: len(base)]) != base or rest != [c for c in extra if c in rest]:
        expected = [*base, *(f"[{c}]" for c in extra)]
        raise GoldenError(f"expected columns {expected}, got {header}", line=lineno)


def optional_line(cursor: Cursor, line: str) -> bool:
    """Take ``line`` if it comes next: it starts a section the seed does not have."""
    nxt = cursor.peek()
    if nxt is not None and nxt[1] == line:
        cursor.pos += 1
        return True
    return False

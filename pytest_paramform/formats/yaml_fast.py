"""A fast reader for YAML goldens in the exact layout paramform writes.

PyYAML (even its C loader) spends about 45 µs a line building nodes for what is, in our
own layout, one flow mapping per line; a model zoo's goldens are tens of thousands of
lines. Lines in the canonical layout are read with regular expressions into the very data
PyYAML would build; any other line, a hand-edited one included, sends the whole document
to PyYAML's safe loader. The reader accepts nothing that YAML would read differently:
plain names are restricted to the characters we write plain, integers have no leading
zeros (YAML 1.1 reads 012 as octal), any escape but \\", \\\\ and \\uXXXX falls back, and so
does any character, even in a comment, that YAML reads as a line break or refuses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from itertools import islice, takewhile
from operator import methodcaller
from typing import Any

from pytest_paramform.formats.forward_yaml_fast import ForwardReader
from pytest_paramform.formats.yaml_tokens import (
    INT,
    LIST,
    RESERVED,
    SCALAR,
    SHARE,
    Lines,
    NotCanonical,
    ints,
    parsed_ints,
    scalar,
)

_FORM = r"(?:Scalar|Vector|Matrix|Tensor rank [1-9][0-9]*)"

_COUNTS = "paramform|layers|parameters|trainable|weight_bytes"
_TOP = re.compile(rf"({_COUNTS}): ({INT}|null)|(model|source): ({SCALAR})")
_SECTION = re.compile(r"(forms|dtypes|params|aliases|buffers|forward):( \[\])?")
_MAPPINGS = ("forms", "dtypes")  # sections that are mappings, one entry a line
_FORM_LINE = re.compile(
    rf"  ({_FORM}): \{{layers: ({INT}), parameters: ({INT}), "
    rf"share_of_layers: ({SHARE}), share_of_parameters: ({SHARE})\}}"
)
_EXTRAS = rf"(, frozen: true)?(, dtype: ({SCALAR}))?"
_ROW = re.compile(
    rf"- \{{name: ({SCALAR}), shape: ({LIST}), squeezed: ({LIST}), numel: ({INT}), "
    rf"form: ({_FORM}){_EXTRAS}\}}"
)
# A parameter row split in two: its name, and the rest, which a large model repeats (a few
# distinct shapes): each distinct rest is matched against _ROW_REST once.
_ROW_SPLIT = re.compile(rf"^- \{{name: ({SCALAR}), (.*)$", re.MULTILINE)
_ROW_REST = re.compile(
    rf"shape: ({LIST}), squeezed: ({LIST}), numel: ({INT}), form: ({_FORM}){_EXTRAS}\}}"
)
_BUFFER = re.compile(rf"- \{{name: ({SCALAR}), shape: ({LIST}), numel: ({INT}){_EXTRAS}\}}")
_ALIAS = re.compile(rf"- \{{name: ({SCALAR}), target: ({SCALAR})\}}")
_DTYPE_LINE = re.compile(rf"  ({SCALAR}): \{{parameters: ({INT}), bytes: ({INT}|null)\}}")
_ITEM_LINE = methodcaller("startswith", "- ")
# Anywhere in the text, comments included: characters YAML reads as line breaks (\x85,
# \u2028, \u2029) or refuses, a carriage return, and escapes of lone surrogates (which
# libyaml refuses). Any of these sends the document to PyYAML.
_ELSEWHERE = re.compile(
    r"[\r\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]"
    r"|\\u[dD][89abAB]"
)


def _extras(item: dict[str, Any], frozen: str | None, dtype: str | None) -> dict[str, Any]:
    if frozen:
        item["frozen"] = True
    if dtype is not None:
        item["dtype"] = scalar(dtype)
    return item


def _row(match: re.Match[str]) -> dict[str, Any]:
    name, shape, squeezed, numel, form, frozen, _, dtype = match.groups()
    item = {
        "name": scalar(name),
        "shape": ints(shape),
        "squeezed": ints(squeezed),
        "numel": int(numel),
        "form": form,
    }
    return _extras(item, frozen, dtype)


def _built_row(match: re.Match[str], build_row: RowBuilder, lineno: int) -> Any:
    name, shape, squeezed, numel, form, frozen, _, dtype = match.groups()
    dtype_text = None if dtype is None else scalar(dtype)
    return build_row(
        scalar(name),
        parsed_ints(shape),
        parsed_ints(squeezed),
        int(numel),
        form,
        frozen is not None,
        dtype_text,
        lineno,
    )


def _buffer(match: re.Match[str]) -> dict[str, Any]:
    name, shape, numel, frozen, _, dtype = match.groups()
    item = {"name": scalar(name), "shape": ints(shape), "numel": int(numel)}
    return _extras(item, frozen, dtype)


def _alias(match: re.Match[str]) -> dict[str, Any]:
    return {"name": scalar(match[1]), "target": scalar(match[2])}


_ITEMS = {"params": (_ROW, _row), "aliases": (_ALIAS, _alias), "buffers": (_BUFFER, _buffer)}


def _form(data: dict[str, Any], lines: Lines, match: re.Match[str], lineno: int) -> None:
    form, layers, parameters, by_layers, by_parameters = match.groups()
    if form in data["forms"]:
        raise NotCanonical
    data["forms"][form] = {
        "layers": int(layers),
        "parameters": int(parameters),
        "share_of_layers": float(by_layers),
        "share_of_parameters": float(by_parameters),
    }
    lines.forms[form] = lineno


def _dtype_entry(data: dict[str, Any], lines: Lines, match: re.Match[str], lineno: int) -> None:
    dtype, parameters, size = scalar(match[1]), int(match[2]), _number(match[3])
    if dtype in data["dtypes"]:
        raise NotCanonical
    data["dtypes"][dtype] = {"parameters": parameters, "bytes": size}
    lines.dtypes[dtype] = lineno


def _number(token: str) -> int | None:
    return None if token == "null" else int(token)


def _open(data: dict[str, Any], lines: Lines, key: str, value: Any, lineno: int) -> None:
    if key in data:
        raise NotCanonical
    data[key] = value
    lines.keys[key] = lineno
    lines.top = lines.top or lineno


# What a caller makes of one parameter row instead of PyYAML's mapping: (name, shape,
# squeezed, numel, form, frozen, dtype, line) -> its own object.
RowBuilder = Callable[[str, tuple[int, ...], tuple[int, ...], int, str, bool, str | None, int], Any]
# The objects for rows whose derived columns were checked by RowBuilder: (names, keys,
# key -> (shape, frozen, dtype)) -> one object per name, nothing left to check.
RowsMaker = Callable[
    [Iterable[str], Iterable[str], Callable[[str], tuple[tuple[int, ...], bool, str | None]]],
    list[Any],
]


def _names(tokens: tuple[str, ...]) -> list[str] | tuple[str, ...]:
    if '"' in "".join(tokens):  # some are quoted: unescape one by one
        return list(map(scalar, tokens))
    if not RESERVED.isdisjoint(map(str.lower, tokens)):
        raise NotCanonical
    return tokens


def _param_block(
    block: list[str], first: int, build_row: RowBuilder, make_rows: RowsMaker
) -> list[Any]:
    """The rows of consecutive parameter lines (``first`` is the first one's line number).

    Each line is one regex step here, its name taken as it is; the rest of the line (shape,
    squeezed, numel, form, flags) is parsed and checked by ``build_row`` once per distinct
    text, at the first line holding it, so a 90,000-tensor golden does Python work per
    distinct shape rather than per line.
    """
    found = _ROW_SPLIT.findall("\n".join(block))
    if len(found) != len(block):
        raise NotCanonical
    tokens, rests = zip(*found, strict=True)
    names = _names(tokens)
    at = dict(zip(reversed(rests), range(len(rests) - 1, -1, -1), strict=True))
    fields: dict[str, tuple[tuple[int, ...], bool, str | None]] = {}
    for rest, index in at.items():
        if (match := _ROW_REST.fullmatch(rest)) is None:
            raise NotCanonical
        shape, squeezed, numel, form, frozen, _, dtype = match.groups()
        dims, flag, kind = parsed_ints(shape), frozen is not None, _dtype(dtype)
        line = first + index
        build_row(names[index], dims, parsed_ints(squeezed), int(numel), form, flag, kind, line)
        fields[rest] = (dims, flag, kind)
    return make_rows(names, rests, fields.__getitem__)


def _dtype(token: str | None) -> str | None:
    return None if token is None else scalar(token)


def _plain(text: str) -> bool:
    """Printable ASCII lines without escapes: nothing ``_ELSEWHERE`` could find, decided by
    three C-speed passes instead of a regex over every character of a large golden."""
    return text.isascii() and "\\u" not in text and text.replace("\n", "").isprintable()


def read_canonical(
    text: str, build_row: RowBuilder | None = None, make_rows: RowsMaker | None = None
) -> tuple[dict[str, Any], Lines]:
    """The data PyYAML would load from ``text``; NotCanonical for any other layout.

    With ``build_row``, each parameter row becomes what it returns rather than a mapping:
    the golden reader builds its rows in the same pass (a 90,000-tensor golden otherwise
    spends a third of its time on mappings it throws away). With ``make_rows`` too, a block
    of parameter lines is made at once, ``build_row`` checking one line per distinct text.
    """
    if not _plain(text) and _ELSEWHERE.search(text):
        raise NotCanonical
    data: dict[str, Any] = {}
    lines = Lines()
    section: str | None = None
    forward: ForwardReader | None = None  # once the forward section opens
    every = text.split("\n")
    position = 0
    while position < len(every):
        line = every[position]
        position += 1
        lineno = position
        if not line or line.startswith("#"):
            continue
        if section == "params" and make_rows is not None and line.startswith("- "):
            assert build_row is not None
            block = list(takewhile(_ITEM_LINE, islice(every, lineno - 1, None)))
            data[section].extend(_param_block(block, lineno, build_row, make_rows))
            lines.items[section].extend(range(lineno, lineno + len(block)))
            position = lineno - 1 + len(block)
            continue
        if section is not None and section in _ITEMS and line.startswith("- "):
            pattern, build = _ITEMS[section]
            if (match := pattern.fullmatch(line)) is None:
                raise NotCanonical
            if build_row is not None and section == "params":
                data[section].append(_built_row(match, build_row, lineno))
            else:
                data[section].append(build(match))
            lines.items[section].append(lineno)
        elif section in _MAPPINGS and line.startswith("  "):
            read, pattern = (
                (_form, _FORM_LINE) if section == "forms" else (_dtype_entry, _DTYPE_LINE)
            )
            if (match := pattern.fullmatch(line)) is None:
                raise NotCanonical
            read(data, lines, match, lineno)
        elif section == "forward" and line.startswith("  "):
            assert forward is not None
            forward.take(line)
        elif match := _TOP.fullmatch(line):
            section = None
            key, value = (
                (match[1], _number(match[2])) if match[1] else (match[3], scalar(match[4]))
            )
            _open(data, lines, key, value, lineno)
        elif match := _SECTION.fullmatch(line):
            section = None if match[2] else match[1]
            empty: Any = [] if match[2] or section not in _MAPPINGS else {}
            if section == "forward":
                forward = ForwardReader()
                empty = forward.data
            _open(data, lines, match[1], empty, lineno + 1)
            lines.items[match[1]] = []
        else:
            raise NotCanonical
    if not data:
        raise NotCanonical
    return _nulls(data, text), lines


def _nulls(data: dict[str, Any], text: str) -> dict[str, Any]:
    """A section key with nothing under it and no ``[]`` is null in YAML, not empty."""
    for key in (*_MAPPINGS, *_ITEMS, "forward"):
        if key in data and not data[key] and f"\n{key}: []" not in f"\n{text}":
            data[key] = None
    return data

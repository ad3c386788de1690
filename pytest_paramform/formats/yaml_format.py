"""The YAML golden: exact integers, model order, one line per parameter tensor.

Rendering is done by hand (not ``yaml.dump``) so the layout is fixed: one flow mapping per
parameter keeps an architecture change to one changed line per tensor in a git diff.
Parsing uses PyYAML's safe loaders only, so nothing in a golden can execute.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, TypeVar

import yaml

from pytest_paramform.errors import GoldenError, in_file
from pytest_paramform.formats.consistency import (
    check_aliases,
    check_row,
    check_shares,
    check_source,
    check_total,
    check_unique_names,
)
from pytest_paramform.formats.yaml_fast import (
    PLAIN,
    RESERVED,
    UNSAFE,
    Lines,
    NotCanonical,
    read_canonical,
)
from pytest_paramform.forward_report import ForwardReport
from pytest_paramform.report import Alias, ParamFormReport, ParamRow, form_of

T = TypeVar("T")
FORMAT_VERSION = 1
HEADER = (
    "# pytest-paramform golden: the parameter tensors of a model, in model order.\n"
    "# Regenerate with `pytest --paramform-update`; derived figures are checked on load.\n"
)
_TOP_KEYS = ("paramform", "model", "layers", "parameters", "trainable", "forms", "params")
_TOP_OPTIONAL = ("source", "weight_bytes", "dtypes", "aliases", "buffers", "forward")
_FORM_KEYS = ("layers", "parameters", "share_of_layers", "share_of_parameters")
_ROW_KEYS = ("name", "shape", "squeezed", "numel", "form")
_ROW_OPTIONAL = ("frozen", "dtype")
_BUFFER_KEYS = ("name", "shape", "numel")
_ALIAS_KEYS = ("name", "target")
_PLAIN = re.compile(PLAIN)
_ESCAPED = re.compile(f"[{UNSAFE}]")
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def quote(text: str) -> str:
    """A YAML scalar for ``text``: plain when unambiguous, else double-quoted and escaped."""
    if _PLAIN.fullmatch(text) and text.lower() not in RESERVED:
        return text
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif _ESCAPED.match(ch):
            out.append(f"\\u{ord(ch):04x}")  # every such character lies below U+10000
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _ints(values: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, values)) + "]"


def _extras(row: ParamRow) -> str:
    frozen = ", frozen: true" if row.frozen else ""
    dtype = f", dtype: {quote(row.dtype)}" if row.dtype is not None else ""
    return frozen + dtype


def _row_line(row: ParamRow) -> str:
    return (
        f"- {{name: {quote(row.name)}, shape: {_ints(row.shape)}, "
        f"squeezed: {_ints(row.squeezed)}, numel: {row.numel}, form: {row.form}{_extras(row)}}}"
    )


def _buffer_line(row: ParamRow) -> str:
    shape = _ints(row.shape)
    return f"- {{name: {quote(row.name)}, shape: {shape}, numel: {row.numel}{_extras(row)}}}"


def _alias_line(alias: Alias) -> str:
    return f"- {{name: {quote(alias.name)}, target: {quote(alias.target)}}}"


def _section(key: str, lines: list[str]) -> list[str]:
    return [f"{key}:", *lines] if lines else [f"{key}: []"]


def render_yaml(report: ParamFormReport) -> str:
    lines = [
        HEADER.rstrip("\n"),
        f"paramform: {FORMAT_VERSION}",
        f"model: {quote(report.name)}",
        *([f"source: {report.source}"] if report.source != "model" else []),
        f"layers: {report.num_layers}",
        f"parameters: {report.num_parameters}",
        f"trainable: {report.num_trainable}",
    ]
    if report.weights is not None:
        from pytest_paramform.formats.weights_yaml import render_weights

        lines += render_weights(report.weights)
    lines.append("forms:")
    layer_shares, parameter_shares = report.layer_shares, report.parameter_shares
    for form in report.forms:
        lines.append(
            f"  {form}: {{layers: {report.layers_of(form)}, "
            f"parameters: {report.parameters_of(form)}, "
            f"share_of_layers: {layer_shares[form]:.2f}, "
            f"share_of_parameters: {parameter_shares[form]:.2f}}}"
        )
    lines += _section("params", [_row_line(row) for row in report.rows])
    if report.aliases:
        lines += _section("aliases", [_alias_line(alias) for alias in report.aliases])
    if report.buffers is not None:
        lines += _section("buffers", [_buffer_line(row) for row in report.buffers])
    if report.forward is not None:
        from pytest_paramform.formats.forward_yaml import render_forward

        lines += render_forward(report.forward)
    return "\n".join(lines) + "\n"


class _Loader(_BaseLoader):  # type: ignore[misc]
    """Safe loader that refuses duplicate keys instead of keeping the last one silently."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, list | dict):
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value", key_node.start_mark
                )
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def _load(text: str) -> tuple[Any, yaml.Node | None]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise GoldenError(f"not valid YAML: {problem}", line=line) from None
    finally:
        loader.dispose()
    return data, node


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _lines_of(node: yaml.Node | None) -> Lines:
    """Line numbers from PyYAML's nodes, for documents the fast reader did not take."""
    lines = Lines(top=_line(node) if node is not None else None)
    if not isinstance(node, yaml.MappingNode):
        return lines
    for key_node, value in node.value:
        key = str(key_node.value)
        lines.keys[key] = _line(value)
        if isinstance(value, yaml.SequenceNode):
            lines.items[key] = [_line(item) for item in value.value]
        entries = {"forms": lines.forms, "dtypes": lines.dtypes}.get(key)
        if entries is not None and isinstance(value, yaml.MappingNode):
            entries.update((str(k.value), _line(v)) for k, v in value.value)
    return lines


def _read(text: str) -> tuple[Any, Lines, bool]:
    """The data, its line numbers, and whether the canonical reader (not PyYAML) read it;
    the canonical reader hands back the parameter rows already built and checked."""
    try:
        return (*read_canonical(text, _canonical_row, ParamRow.trusted_rows), True)
    except NotCanonical:
        data, node = _load(text)
        return data, _lines_of(node), False


def _expect_keys(
    mapping: Any,
    keys: tuple[str, ...],
    *,
    what: str,
    line: int | None,
    optional: tuple[str, ...] = (),
) -> dict[str, Any]:
    if not isinstance(mapping, dict):
        raise GoldenError(f"{what} must be a mapping, got {type(mapping).__name__}", line=line)
    missing = [k for k in keys if k not in mapping]
    unknown = [k for k in mapping if k not in keys and k not in optional]
    if missing or unknown:
        detail = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"unknown {', '.join(map(str, unknown))}" if unknown else "",
            )
            if part
        )
        raise GoldenError(f"{what}: {detail} (expected {', '.join(keys)})", line=line)
    return mapping


def _int(value: Any, *, field: str, line: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise GoldenError(f"expected a whole number >= 0, got {value!r}", line=line, field=field)
    return value


def _float(value: Any, *, field: str, line: int | None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise GoldenError(f"expected a percentage, got {value!r}", line=line, field=field)
    return float(value)


def _dims(value: Any, *, field: str, line: int | None) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise GoldenError(f"expected a list of sizes, got {value!r}", line=line, field=field)
    if all(type(v) is int and v >= 0 for v in value):
        return tuple(value)
    return tuple(_int(v, field=field, line=line) for v in value)


def _str(value: Any, *, field: str, line: int | None) -> str:
    if not isinstance(value, str):
        raise GoldenError(f"expected text, got {value!r}", line=line, field=field)
    return value


def _bool(value: Any, *, field: str, line: int | None) -> bool:
    if not isinstance(value, bool):
        raise GoldenError(f"expected true or false, got {value!r}", line=line, field=field)
    return value


def _tensor(fields: dict[str, Any], line: int | None) -> ParamRow:
    dtype = fields.get("dtype")
    return ParamRow(
        name=_str(fields["name"], field="name", line=line),
        shape=_dims(fields["shape"], field="shape", line=line),
        frozen=_bool(fields.get("frozen", False), field="frozen", line=line),
        dtype=None if dtype is None else _str(dtype, field="dtype", line=line),
    )


def _parse_buffer(item: Any, line: int | None) -> ParamRow:
    fields = _expect_keys(item, _BUFFER_KEYS, what="buffer", line=line, optional=("dtype",))
    row = _tensor(fields, line)
    numel = _int(fields["numel"], field="numel", line=line)
    check_row(row, line=line, squeezed=None, numel=numel, form=None)
    return row


def _parse_alias(item: Any, line: int | None) -> Alias:
    fields = _expect_keys(item, _ALIAS_KEYS, what="alias", line=line)
    return Alias(
        name=_str(fields["name"], field="name", line=line),
        target=_str(fields["target"], field="target", line=line),
    )


def _parse_row(item: Any, line: int | None) -> ParamRow:
    fields = _expect_keys(item, _ROW_KEYS, what="parameter row", line=line, optional=_ROW_OPTIONAL)
    row = _tensor(fields, line)
    check_row(
        row,
        line=line,
        squeezed=_dims(fields["squeezed"], field="squeezed", line=line),
        numel=_int(fields["numel"], field="numel", line=line),
        form=_str(fields["form"], field="form", line=line),
    )
    return row


def _canonical_row(
    name: str,
    shape: tuple[int, ...],
    squeezed: tuple[int, ...],
    numel: int,
    form: str,
    frozen: bool,
    dtype: str | None,
    line: int,
) -> ParamRow:
    """A row the canonical reader matched: its pattern already fixed every field's type
    and the key set, so only the derived columns are left to check against the shape."""
    row = ParamRow.trusted(name, shape, frozen, dtype)
    if squeezed != row.squeezed or numel != row.numel or form != form_of(shape):
        check_row(row, line=line, squeezed=squeezed, numel=numel, form=form)
    return row


def _row_or_parse(item: Any, line: int | None) -> ParamRow:
    return item if isinstance(item, ParamRow) else _parse_row(item, line)


def _parse_list(
    data: Any, where: Lines, key: str, parse: Callable[[Any, int | None], T]
) -> tuple[list[T], list[int | None]]:
    """Parse each item of a list section, with the line it stands on."""
    if not isinstance(data, list):
        raise GoldenError(f"{key} must be a list", line=where.keys.get(key), field=key)
    lines: list[int | None] = list(where.items.get(key, []))
    if len(lines) != len(data):
        lines = [None] * len(data)
    return [parse(item, line) for item, line in zip(data, lines, strict=True)], lines


def _parse_tensors(
    top: dict[str, Any], where: Lines, key: str, parse: Callable[[Any, int | None], ParamRow]
) -> list[ParamRow]:
    items = top[key]
    if isinstance(items, list) and set(map(type, items)) <= {ParamRow}:  # built by the reader
        lines: list[int | None] = list(where.items.get(key, []))
        rows = items if len(lines) == len(items) else _parse_list(items, where, key, parse)[0]
    else:
        rows, lines = _parse_list(items, where, key, parse)
    check_unique_names(rows, lines)
    return rows


def _check_forms(report: ParamFormReport, data: Any, lines: Lines) -> None:
    line = lines.keys.get("forms")
    if not isinstance(data, dict):
        raise GoldenError("forms must be a mapping of form to figures", line=line, field="forms")
    layer_shares: dict[str, float] = {}
    parameter_shares: dict[str, float] = {}
    for form, figures in data.items():
        where = lines.forms.get(str(form))
        fields = _expect_keys(figures, _FORM_KEYS, what=f"form {form!r}", line=where)
        if str(form) in report.forms:
            check_total(
                _int(fields["layers"], field="layers", line=where),
                report.layers_of(str(form)),
                what=f"{form} layers",
                line=where,
                field="forms",
            )
            check_total(
                _int(fields["parameters"], field="parameters", line=where),
                report.parameters_of(str(form)),
                what=f"{form} parameters",
                line=where,
                field="forms",
            )
        share = _float(fields["share_of_layers"], field="share_of_layers", line=where)
        layer_shares[str(form)] = share
        share = _float(fields["share_of_parameters"], field="share_of_parameters", line=where)
        parameter_shares[str(form)] = share
    check_shares(report, layer_shares, by="layers", line=line, field="forms")
    check_shares(report, parameter_shares, by="parameters", line=line, field="forms")


def _forward(top: dict[str, Any], where: Lines) -> ForwardReport | None:
    if "forward" not in top:
        return None
    from pytest_paramform.formats.forward_yaml import parse_forward

    return parse_forward(top["forward"], where.keys.get("forward"))


def parse_yaml(text: str, path: str | None = None) -> ParamFormReport:
    """Parse and verify a YAML golden; every problem is a GoldenError naming ``path``."""
    with in_file(path):
        return _parse(text)


def _parse(text: str) -> ParamFormReport:
    data, where, canonical = _read(text)
    if data is None:
        raise GoldenError("the file is empty, not a paramform golden")
    version = data.get("paramform") if isinstance(data, dict) else None
    if type(version) is not int or version != FORMAT_VERSION:
        raise GoldenError(
            "not a paramform golden (expected a mapping that starts with"
            f" 'paramform: {FORMAT_VERSION}')",
            line=where.top,
        )
    top = _expect_keys(data, _TOP_KEYS, what="golden", line=where.top, optional=_TOP_OPTIONAL)
    rows = _parse_tensors(top, where, "params", _row_or_parse if canonical else _parse_row)
    aliases: list[Alias] = []
    if "aliases" in top:
        aliases, lines = _parse_list(top["aliases"], where, "aliases", _parse_alias)
        check_aliases(rows, aliases, lines)
    report = ParamFormReport(
        name=_str(top["model"], field="model", line=where.keys.get("model")),
        rows=tuple(rows),
        aliases=tuple(aliases),
        buffers=tuple(_parse_tensors(top, where, "buffers", _parse_buffer))
        if "buffers" in top
        else None,
        source=check_source(
            top.get("source", "model"), line=where.keys.get("source"), field="source"
        ),
        forward=_forward(top, where),
    )
    totals = {
        "layers": report.num_layers,
        "parameters": report.num_parameters,
        "trainable": report.num_trainable,
    }
    for key, actual in totals.items():
        line = where.keys.get(key)
        stored = _int(top[key], field=key, line=line)
        check_total(stored, actual, what=f"{key} total", line=line, field=key)
    _check_forms(report, top["forms"], where)
    from pytest_paramform.formats.weights_yaml import check_weights_section

    check_weights_section(report, top, where)
    return report

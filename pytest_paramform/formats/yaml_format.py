"""The YAML golden: exact integers, model order, one line per parameter tensor.

Rendering is done by hand (not ``yaml.dump``) so the layout is fixed: one flow mapping per
parameter keeps an architecture change to one changed line per tensor in a git diff.
Parsing uses PyYAML's safe loaders only, so nothing in a golden can execute.
"""

from __future__ import annotations

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
from pytest_paramform.formats.forward_yaml import parse_forward, render_forward
from pytest_paramform.formats.weights_yaml import check_weights_section, render_weights
from pytest_paramform.formats.yaml_fast import read_canonical
from pytest_paramform.formats.yaml_tokens import Lines, NotCanonical
from pytest_paramform.formats.yaml_values import (
    expect_keys,
    flow_ints,
    quote,
    read_bool,
    read_dims,
    read_float,
    read_int,
    read_str,
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
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _extras(row: ParamRow) -> str:
    frozen = ", frozen: true" if row.frozen else ""
    dtype = f", dtype: {quote(row.dtype)}" if row.dtype is not None else ""
    return frozen + dtype


def _row_line(row: ParamRow) -> str:
    return (
        f"- {{name: {quote(row.name)}, shape: {flow_ints(row.shape)}, "
        f"squeezed: {flow_ints(row.squeezed)}, numel: {row.numel}, form: {row.form}{_extras(row)}}}"
    )


def _buffer_line(row: ParamRow) -> str:
    shape = flow_ints(row.shape)
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


def _tensor(fields: dict[str, Any], line: int | None) -> ParamRow:
    dtype = fields.get("dtype")
    return ParamRow(
        name=read_str(fields["name"], field="name", line=line),
        shape=read_dims(fields["shape"], field="shape", line=line),
        frozen=read_bool(fields.get("frozen", False), field="frozen", line=line),
        dtype=None if dtype is None else read_str(dtype, field="dtype", line=line),
    )


def _parse_buffer(item: Any, line: int | None) -> ParamRow:
    fields = expect_keys(item, _BUFFER_KEYS, what="buffer", line=line, optional=("dtype",))
    row = _tensor(fields, line)
    numel = read_int(fields["numel"], field="numel", line=line)
    check_row(row, line=line, squeezed=None, numel=numel, form=None)
    return row


def _parse_alias(item: Any, line: int | None) -> Alias:
    fields = expect_keys(item, _ALIAS_KEYS, what="alias", line=line)
    return Alias(
        name=read_str(fields["name"], field="name", line=line),
        target=read_str(fields["target"], field="target", line=line),
    )


def _parse_row(item: Any, line: int | None) -> ParamRow:
    fields = expect_keys(item, _ROW_KEYS, what="parameter row", line=line, optional=_ROW_OPTIONAL)
    row = _tensor(fields, line)
    check_row(
        row,
        line=line,
        squeezed=read_dims(fields["squeezed"], field="squeezed", line=line),
        numel=read_int(fields["numel"], field="numel", line=line),
        form=read_str(fields["form"], field="form", line=line),
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
        fields = expect_keys(figures, _FORM_KEYS, what=f"form {form!r}", line=where)
        if str(form) in report.forms:
            check_total(
                read_int(fields["layers"], field="layers", line=where),
                report.layers_of(str(form)),
                what=f"{form} layers",
                line=where,
                field="forms",
            )
            check_total(
                read_int(fields["parameters"], field="parameters", line=where),
                report.parameters_of(str(form)),
                what=f"{form} parameters",
                line=where,
                field="forms",
            )
        share = read_float(fields["share_of_layers"], field="share_of_layers", line=where)
        layer_shares[str(form)] = share
        share = read_float(fields["share_of_parameters"], field="share_of_parameters", line=where)
        parameter_shares[str(form)] = share
    check_shares(report, layer_shares, by="layers", line=line, field="forms")
    check_shares(report, parameter_shares, by="parameters", line=line, field="forms")


def _forward(top: dict[str, Any], where: Lines) -> ForwardReport | None:
    if "forward" not in top:
        return None
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
    top = expect_keys(data, _TOP_KEYS, what="golden", line=where.top, optional=_TOP_OPTIONAL)
    rows = _parse_tensors(top, where, "params", _row_or_parse if canonical else _parse_row)
    aliases: list[Alias] = []
    if "aliases" in top:
        aliases, lines = _parse_list(top["aliases"], where, "aliases", _parse_alias)
        check_aliases(rows, aliases, lines)
    report = ParamFormReport(
        name=read_str(top["model"], field="model", line=where.keys.get("model")),
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
        stored = read_int(top[key], field=key, line=line)
        check_total(stored, actual, what=f"{key} total", line=line, field=key)
    _check_forms(report, top["forms"], where)
    check_weights_section(report, top, where)
    return report

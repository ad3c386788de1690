"""The ``forward:`` section of a YAML golden: the inputs, then one line per module, so a
changed output shape is one changed line in a git diff. Present only when recorded."""

from __future__ import annotations

from typing import Any

from pytest_paramform.errors import GoldenError
from pytest_paramform.formats.yaml_format import _dims, _expect_keys, _int, _str, quote
from pytest_paramform.forward_report import ForwardInput, ForwardReport, ModuleOutput, Shape

KEY = "forward"
_KEYS = ("depth", "inputs", "modules")
_INPUT_KEYS = ("name", "shape", "dtype")
_MODULE_KEYS = ("name",)
_MODULE_OPTIONAL = ("output", "outputs", "calls")


def _ints(values: Shape) -> str:
    return "[" + ", ".join(map(str, values)) + "]"


def _input_line(spec: ForwardInput) -> str:
    return (
        f"  - {{name: {quote(spec.name)}, shape: {_ints(spec.shape)}, dtype: {quote(spec.dtype)}}}"
    )


def _outputs(row: ModuleOutput) -> str:
    if len(row.outputs) == 1 and row.outputs[0][0] == "":
        return f"output: {_ints(row.outputs[0][1])}"
    inner = ", ".join(f"{quote(leaf)}: {_ints(shape)}" for leaf, shape in row.outputs)
    return f"outputs: {{{inner}}}"


def _module_line(row: ModuleOutput) -> str:
    calls = f", calls: {row.calls}" if row.calls != 1 else ""
    return f"  - {{name: {quote(row.name)}, {_outputs(row)}{calls}}}"


def render_forward(forward: ForwardReport) -> list[str]:
    """The section's lines, ``forward:`` first."""
    inputs = [_input_line(spec) for spec in forward.inputs]
    lines = [f"{KEY}:", f"  depth: {forward.depth}", "  inputs:" if inputs else "  inputs: []"]
    lines += [*inputs, "  modules:", *(_module_line(row) for row in forward.modules)]
    return lines


def parse_forward(data: Any, line: int | None) -> ForwardReport:
    """The section as data; every problem names the section's line and the field."""
    top = _expect_keys(data, _KEYS, what=KEY, line=line)
    for key in ("inputs", "modules"):
        if not isinstance(top[key], list):
            raise GoldenError(f"{KEY}: {key} must be a list", line=line, field=key)
    inputs = tuple(_input(item, line) for item in top["inputs"])
    modules = tuple(_module(item, line) for item in top["modules"])
    names = [row.name for row in modules]
    if len(set(names)) != len(names):
        raise GoldenError(f"{KEY}: a module is listed twice", line=line, field="modules")
    return ForwardReport(inputs, _int(top["depth"], field="depth", line=line), modules)


def _input(item: Any, line: int | None) -> ForwardInput:
    fields = _expect_keys(item, _INPUT_KEYS, what=f"{KEY} input", line=line)
    return ForwardInput(
        _str(fields["name"], field="name", line=line),
        _dims(fields["shape"], field="shape", line=line),
        _str(fields["dtype"], field="dtype", line=line),
    )


def _module(item: Any, line: int | None) -> ModuleOutput:
    fields = _expect_keys(
        item, _MODULE_KEYS, what=f"{KEY} module", line=line, optional=_MODULE_OPTIONAL
    )
    name = _str(fields["name"], field="name", line=line)
    if ("output" in fields) == ("outputs" in fields):
        raise GoldenError(
            f"{KEY} module {name!r}: expected output (one tensor) or outputs (named tensors)",
            line=line,
        )
    if "output" in fields:
        outputs: tuple[tuple[str, Shape], ...] = (
            ("", _dims(fields["output"], field="output", line=line)),
        )
    else:
        named = fields["outputs"]
        if not isinstance(named, dict):
            raise GoldenError(f"{KEY} module {name!r}: outputs must be a mapping", line=line)
        outputs = tuple(
            (str(leaf), _dims(shape, field="outputs", line=line)) for leaf, shape in named.items()
        )
    calls = _int(fields.get("calls", 1), field="calls", line=line)
    return ModuleOutput(name, outputs, calls)

"""The ``forward:`` section of a YAML golden: the inputs, then one line per module, so a
changed output shape is one changed line in a git diff. Present only when recorded."""

from __future__ import annotations

from typing import Any

from pytest_paramform.errors import GoldenError
from pytest_paramform.formats.consistency import check_share
from pytest_paramform.formats.yaml_values import (
    expect_keys,
    flow_ints,
    quote,
    read_dims,
    read_float,
    read_int,
    read_str,
)
from pytest_paramform.forward_report import ForwardInput, ForwardReport, ModuleOutput, Shape

KEY = "forward"
_KEYS = ("depth", "flops", "inputs", "modules")
_INPUT_KEYS = ("name", "shape", "dtype")
_MODULE_KEYS = ("name", "flops", "share")
_MODULE_OPTIONAL = ("output", "outputs", "calls")


def _input_line(spec: ForwardInput) -> str:
    shape = flow_ints(spec.shape)
    return f"  - {{name: {quote(spec.name)}, shape: {shape}, dtype: {quote(spec.dtype)}}}"


def _outputs(row: ModuleOutput) -> str:
    if len(row.outputs) == 1 and row.outputs[0][0] == "":
        return f"output: {flow_ints(row.outputs[0][1])}"
    inner = ", ".join(f"{quote(leaf)}: {flow_ints(shape)}" for leaf, shape in row.outputs)
    return f"outputs: {{{inner}}}"


def _module_line(row: ModuleOutput, share: float) -> str:
    calls = f", calls: {row.calls}" if row.calls != 1 else ""
    flops = f", flops: {row.flops}, share: {share:.2f}"
    return f"  - {{name: {quote(row.name)}, {_outputs(row)}{calls}{flops}}}"


def render_forward(forward: ForwardReport) -> list[str]:
    """The section's lines, ``forward:`` first; ``flops`` is the exact total."""
    inputs = [_input_line(spec) for spec in forward.inputs]
    lines = [f"{KEY}:", f"  depth: {forward.depth}", f"  flops: {forward.flops}"]
    lines += ["  inputs:" if inputs else "  inputs: []", *inputs, "  modules:"]
    lines += [_module_line(row, forward.share(row)) for row in forward.modules]
    return lines


def parse_forward(data: Any, line: int | None) -> ForwardReport:
    """The section as data; every problem names the section's line and the field."""
    top = expect_keys(data, _KEYS, what=KEY, line=line)
    for key in ("inputs", "modules"):
        if not isinstance(top[key], list):
            raise GoldenError(f"{KEY}: {key} must be a list", line=line, field=key)
    inputs = tuple(_input(item, line) for item in top["inputs"])
    read = [_module(item, line) for item in top["modules"]]
    modules = tuple(row for row, _ in read)
    names = [row.name for row in modules]
    if len(set(names)) != len(names):
        raise GoldenError(f"{KEY}: a module is listed twice", line=line, field="modules")
    depth = read_int(top["depth"], field="depth", line=line)
    flops = read_int(top["flops"], field="flops", line=line)
    forward = ForwardReport(inputs, depth, modules, flops)
    for row, share in read:
        check_share(forward, row, share, line)
    return forward


def _input(item: Any, line: int | None) -> ForwardInput:
    fields = expect_keys(item, _INPUT_KEYS, what=f"{KEY} input", line=line)
    return ForwardInput(
        read_str(fields["name"], field="name", line=line),
        read_dims(fields["shape"], field="shape", line=line),
        read_str(fields["dtype"], field="dtype", line=line),
    )


def _module(item: Any, line: int | None) -> tuple[ModuleOutput, float]:
    fields = expect_keys(
        item, _MODULE_KEYS, what=f"{KEY} module", line=line, optional=_MODULE_OPTIONAL
    )
    name = read_str(fields["name"], field="name", line=line)
    if ("output" in fields) == ("outputs" in fields):
        raise GoldenError(
            f"{KEY} module {name!r}: expected output (one tensor) or outputs (named tensors)",
            line=line,
        )
    if "output" in fields:
        outputs: tuple[tuple[str, Shape], ...] = (
            ("", read_dims(fields["output"], field="output", line=line)),
        )
    else:
        named = fields["outputs"]
        if not isinstance(named, dict):
            raise GoldenError(f"{KEY} module {name!r}: outputs must be a mapping", line=line)
        outputs = tuple(
            (str(leaf), read_dims(shape, field="outputs", line=line))
            for leaf, shape in named.items()
        )
    calls = read_int(fields.get("calls", 1), field="calls", line=line)
    flops = read_int(fields["flops"], field="flops", line=line)
    share = read_float(fields["share"], field="share", line=line)
    return ModuleOutput(name, outputs, calls, flops), share

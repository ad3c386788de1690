"""Drift in what the model computes: each line names the module and the change
(``~ layer4 output (1, 2048, 7, 7) -> (1, 2048, 14, 14)``).

Recording a forward pass is opt-in, so turning it on or off fails once, until updated,
like buffers and dtypes. At the ``summary`` level only the model's own output is held.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_paramform.comparison.drift import Drift
from pytest_paramform.forward_report import ForwardInput, ForwardReport, ModuleOutput, Shape
from pytest_paramform.report import ParamFormReport

if TYPE_CHECKING:
    from pytest_paramform.comparison.core import CompareOptions

WHAT = "forward pass"


def forward_drifts(
    expected: ParamFormReport, actual: ParamFormReport, options: CompareOptions | None = None
) -> list[Drift]:
    """Every difference between the two forward passes that matters at ``options.level``
    (None: exact, the ``layers`` level)."""
    old, new = expected.forward, actual.forward
    if old is None or new is None:
        return _recording(old, new)
    drifts = _setup(old, new)
    old_rows, new_rows = old.modules, new.modules
    if options is not None and options.level == "summary":
        old_rows, new_rows = old_rows[:1], new_rows[:1]  # the model itself
    return drifts + _module_drifts(old_rows, new_rows)


def _recording(old: ForwardReport | None, new: ForwardReport | None) -> list[Drift]:
    if old is new:
        return []
    side = (
        "this run records it and the golden does not"
        if old is None
        else "the golden records it and this run does not (pass the same inputs=...)"
    )
    return [Drift("recording", f"{WHAT}: {side}")]


def _setup(old: ForwardReport, new: ForwardReport) -> list[Drift]:
    drifts = []
    if old.inputs != new.inputs:
        text = f"forward inputs {_inputs(old.inputs)} -> {_inputs(new.inputs)}"
        drifts.append(Drift("state", text))
    if old.depth != new.depth:
        drifts.append(Drift("state", f"forward depth {old.depth} -> {new.depth}"))
    return drifts


def _inputs(inputs: tuple[ForwardInput, ...]) -> str:
    return ", ".join(f"{i.name} {_shape(i.shape)} {i.dtype}" for i in inputs) or "none"


def _module_drifts(old: tuple[ModuleOutput, ...], new: tuple[ModuleOutput, ...]) -> list[Drift]:
    """Changed, added and removed modules, in the new model's order, removed ones last."""
    before = {row.name: row for row in old}
    after = {row.name for row in new}
    drifts: list[Drift] = []
    for row in new:
        was = before.get(row.name)
        drifts += _added(row) if was is None else _changed(was, row)
    for row in old:
        if row.name not in after:
            drifts.append(Drift("state", f"- {row.label} {_outputs(row)}", row.name))
    return drifts


def _added(row: ModuleOutput) -> list[Drift]:
    return [Drift("state", f"+ {row.label} {_outputs(row)}", row.name)]


def _changed(old: ModuleOutput, new: ModuleOutput) -> list[Drift]:
    drifts = []
    if old.outputs != new.outputs:
        drifts.append(Drift("state", f"~ {new.label} {_output_change(old, new)}", new.name))
    if old.calls != new.calls:
        drifts.append(Drift("state", f"~ {new.label} calls {old.calls} -> {new.calls}", new.name))
    return drifts


def _output_change(old: ModuleOutput, new: ModuleOutput) -> str:
    """``output (1, 512, 7, 7) -> (1, 512, 14, 14)``, or per named leaf that moved."""
    if [leaf for leaf, _ in old.outputs] != [leaf for leaf, _ in new.outputs]:
        return f"{_outputs(old)} -> {_outputs(new)}"
    moved = [
        (leaf, a, b) for (leaf, a), (_, b) in zip(old.outputs, new.outputs, strict=True) if a != b
    ]
    return ", ".join(
        f"output{f' {leaf}' if leaf else ''} {_shape(a)} -> {_shape(b)}" for leaf, a, b in moved
    )


def _outputs(row: ModuleOutput) -> str:
    if not row.outputs:
        return "no tensor output"
    return "output " + ", ".join(
        f"{leaf} {_shape(shape)}" if leaf else _shape(shape) for leaf, shape in row.outputs
    )


def _shape(shape: Shape) -> str:
    return repr(tuple(shape))

"""Drift in what the model computes: each line names the module and the change
(``~ layer4 output (1, 2048, 7, 7) -> (1, 2048, 14, 14)``). A module's line is
``SIGN NAME DETAIL`` (kind ``module``), so the same change in repeated blocks folds into
one line, as tensor lines do.

Recording a forward pass is opt-in, so turning it on or off fails once, until updated,
like buffers and dtypes. At the ``summary`` level only the model's own output and the
total FLOPs (within ``rel_tolerance``) are held.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_paramform.comparison.drift import Drift
from pytest_paramform.forward_report import ForwardInput, ForwardReport, ModuleOutput, Shape
from pytest_paramform.report import ParamFormReport, short_count

if TYPE_CHECKING:
    from pytest_paramform.comparison.strictness import CompareOptions

WHAT = "forward pass"


def forward_drifts(
    expected: ParamFormReport, actual: ParamFormReport, options: CompareOptions | None = None
) -> list[Drift]:
    """Every difference between the two forward passes that matters at ``options.level``
    (None: exact, the ``layers`` level): there, the model's own output and the total FLOPs
    within ``rel_tolerance``."""
    old, new = expected.forward, actual.forward
    if old is None or new is None:
        return _recording(old, new)
    drifts = _setup(old, new)
    if options is not None and options.level == "summary":
        drifts += _module_drifts(old.modules[:1], new.modules[:1], flops=False)
        return drifts + _flops_drift(old.flops, new.flops, options.rel_tolerance)
    return drifts + _module_drifts(old.modules, new.modules) + _flops_drift(old.flops, new.flops)


def _flops_drift(before: int, after: int, tolerance: float | None = None) -> list[Drift]:
    """``FLOPs 8.18G -> 9.05G (+10.6%)``, when the total moved (beyond ``tolerance``)."""
    allowed = 0.0 if tolerance is None else tolerance * before * (1 + 1e-9)
    if abs(after - before) <= allowed and (tolerance is not None or after == before):
        return []
    limit = "" if tolerance is None else f", tolerance {tolerance * 100:g}%"
    return [Drift("state", f"FLOPs {flops_change(before, after)}{limit})")]


def flops_change(before: int, after: int) -> str:
    """``8.18G -> 9.05G (+10.6%`` (the caller closes the parenthesis)."""
    if before == 0:
        relative = "new" if after else "+0.0%"
    else:
        relative = f"{100.0 * (after - before) / before:+.1f}%"
    return f"{short_count(before)} -> {short_count(after)} ({relative}"


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


def _module_drifts(
    old: tuple[ModuleOutput, ...], new: tuple[ModuleOutput, ...], *, flops: bool = True
) -> list[Drift]:
    """Changed, added and removed modules, in the new model's order, removed ones last."""
    before = {row.name: row for row in old}
    after = {row.name for row in new}
    drifts: list[Drift] = []
    for row in new:
        was = before.get(row.name)
        # The model's own FLOPs are the total, which has its own line.
        drifts += _added(row) if was is None else _changed(was, row, flops=flops and row.name != "")
    for row in old:
        if row.name not in after:
            drifts.append(Drift("module", f"- {row.label} {_outputs(row)}", row.name))
    return drifts


def _added(row: ModuleOutput) -> list[Drift]:
    return [Drift("module", f"+ {row.label} {_outputs(row)}", row.name)]


def _changed(old: ModuleOutput, new: ModuleOutput, *, flops: bool) -> list[Drift]:
    """One line for a module that changed: output shapes, calls, FLOPs, as they moved."""
    parts = []
    if old.outputs != new.outputs:
        parts.append(_output_change(old, new))
    if old.calls != new.calls:
        parts.append(f"calls {old.calls} -> {new.calls}")
    if flops and old.flops != new.flops:
        parts.append(f"FLOPs {flops_change(old.flops, new.flops)})")
    return [Drift("module", f"~ {new.label} {'   '.join(parts)}", new.name)] if parts else []


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

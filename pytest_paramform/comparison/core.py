"""Semantic comparison of two reports, and the failure message that lists every change.

Parsed reports are compared rather than golden text, so formatting never matters and a
user sees every changed tensor at once instead of the first differing line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from pytest_paramform.comparison.align import Step, align
from pytest_paramform.comparison.drift import ROW_KINDS, Drift
from pytest_paramform.comparison.fold import fold as fold_drifts
from pytest_paramform.comparison.fold import fold_texts, render_lines
from pytest_paramform.comparison.forward import forward_drifts
from pytest_paramform.comparison.states import state_drifts
from pytest_paramform.comparison.strictness import CompareOptions
from pytest_paramform.comparison.tensor_sets import checkpoint_views
from pytest_paramform.report import (
    ALWAYS_SHOWN_RANKS,
    ParamFormReport,
    ParamRow,
    bytes_change,
    form_name,
    rows_equal,
)

CAPPED_KINDS = (*ROW_KINDS, "buffer")

NAME_COLUMN_CAP = 60
_GAP = "   "
# Slack for float noise when a share delta equals its tolerance (97.23 - 97.14 != 0.09).
_SLACK = 1e-9
_MAX_DECIMALS = 8


def compare(
    expected: ParamFormReport,
    actual: ParamFormReport,
    options: CompareOptions = CompareOptions(),
) -> list[Drift]:
    """Every difference that matters at ``options.level``; an empty list means no drift.

    The report names are labels and never drift. A checkpoint has no model order: against
    a model or another checkpoint it is a set of named tensors.
    """
    if options.level == "summary":
        summary = _summary_drifts(expected, actual, options)
        return summary + forward_drifts(expected, actual, options)
    notes = []
    saved = expected.source == actual.source == "checkpoint"
    if expected.source != actual.source:
        notes = _buffer_note(expected, actual)
        expected, actual = tensor_views(expected, actual)
    same_rows = rows_equal(expected.rows, actual.rows)  # the common case, decided in one pass
    if saved and not (same_rows and expected.aliases == actual.aliases):
        expected, actual = checkpoint_views(expected, actual)
        same_rows = rows_equal(expected.rows, actual.rows)
    extra = state_drifts(expected, actual, same_rows=same_rows) + forward_drifts(expected, actual)
    tied = {d.name for d in extra if d.kind == "tying"}
    rows = [
        d
        for d in ([] if same_rows else _row_drifts(expected.rows, actual.rows))
        if d.kind == "changed" or d.name not in tied
    ]
    if not rows and not extra:
        return []
    return [
        *rows,
        *extra,
        _totals_drift(expected, actual, None),
        *_forms_drifts(expected, actual, None),
        *notes,
    ]


def _buffer_note(expected: ParamFormReport, actual: ParamFormReport) -> list[Drift]:
    model = expected if expected.source == "model" else actual
    if model.buffers is not None:
        return []
    text = (
        "note: a checkpoint holds buffers (BatchNorm statistics and the like) as well as "
        "parameters; record the model's buffers (buffers=True, --buffers) to compare them"
    )
    return [Drift("note", text)]


def tensor_views(
    expected: ParamFormReport, actual: ParamFormReport
) -> tuple[ParamFormReport, ParamFormReport]:
    """A model and a checkpoint as what a checkpoint holds: named tensors, by name.

    A state_dict interleaves buffers with parameters and carries no ``requires_grad``;
    safetensors keeps one name of each tied group, not always the first. So each tied
    name is read as its group's first name, and ties themselves are not compared.
    """
    model = expected if expected.source == "model" else actual
    first = {alias.name: alias.target for alias in model.aliases}
    return _tensor_view(expected, first), _tensor_view(actual, first)


def _tensor_view(report: ParamFormReport, first: dict[str, str]) -> ParamFormReport:
    tensors: dict[str, ParamRow] = {}
    for row in (*report.rows, *(report.buffers or ())):
        name = first.get(row.name, row.name)
        tensors.setdefault(name, replace(row, name=name, frozen=False))
    rows = tuple(sorted(tensors.values(), key=lambda row: row.name))
    return ParamFormReport(report.name, rows, (), None, "checkpoint")


# -- per-parameter rows ----------------------------------------------------------------


def _row_drifts(old: Sequence[ParamRow], new: Sequence[ParamRow]) -> list[Drift]:
    steps = list(align(old, new))
    if not steps:
        return []
    width = min(NAME_COLUMN_CAP, max(len(row.name) for _, row, _ in steps))
    removed = {row.name for kind, row, _ in steps if kind == "removed"}
    moved = {row.name for kind, row, _ in steps if kind == "added" and row.name in removed}
    return [_step_drift(step, width, moved) for step in steps]


def _step_drift(step: Step, width: int, moved: set[str]) -> Drift:
    kind, row, new = step
    label = f"{row.name:<{width}}"
    if new is not None:
        text = f"~ {label}{_GAP}{_reshape_detail(row, new)}"
    else:
        sign = "+" if kind == "added" else "-"
        text = f"{sign} {label}{_GAP}{row.shape}  {row.form}"
        text += f"{_GAP}(moved)" if row.name in moved else ""
    before, after = (None, row) if kind == "added" else (row, new)
    return Drift(kind, text, row.name, before, after)


def _reshape_detail(old: ParamRow, new: ParamRow) -> str:
    detail = f"shape {old.shape} -> {new.shape}{_GAP}numel {old.numel:,} -> {new.numel:,}"
    if old.form != new.form:
        detail += f"{_GAP}form {old.form} -> {new.form}"
    return detail


# -- totals and form proportions -------------------------------------------------------


def _summary_drifts(
    expected: ParamFormReport, actual: ParamFormReport, options: CompareOptions
) -> list[Drift]:
    drifts = _forms_drifts(expected, actual, options)
    if _totals_outside(expected, actual, options):
        drifts.insert(0, _totals_drift(expected, actual, options))
    return drifts


def _totals_outside(
    expected: ParamFormReport, actual: ParamFormReport, options: CompareOptions
) -> bool:
    """Layer counts must match; the parameter total may move by ``rel_tolerance``."""
    allowed = options.rel_tolerance * expected.num_parameters * (1 + _SLACK)
    delta = abs(actual.num_parameters - expected.num_parameters)
    return expected.num_layers != actual.num_layers or delta > allowed


def _totals_drift(
    expected: ParamFormReport, actual: ParamFormReport, options: CompareOptions | None
) -> Drift:
    before, after = expected.num_parameters, actual.num_parameters
    effect = [f"{after - before:+,}", _relative(before, after)]
    if options is not None:
        effect.append(f"tolerance {options.rel_tolerance * 100:g}%")
    text = (
        f"totals: layers {expected.num_layers:,} -> {actual.num_layers:,}, "
        f"parameters {before:,} -> {after:,} ({', '.join(effect)})"
    )
    frozen = expected.has_frozen or actual.has_frozen
    if options is None and frozen and expected.num_trainable != actual.num_trainable:
        text += f", trainable {expected.num_trainable:,} -> {actual.num_trainable:,}"
    return Drift("totals", text + _weights_change(expected, actual))


def _weights_change(expected: ParamFormReport, actual: ParamFormReport) -> str:
    """``, weights 13.50 GB -> 16.70 GB (+3.20 GB)`` when both sides know their bytes."""
    before, after = (r.weights.bytes if r.weights else None for r in (expected, actual))
    if before is None or after is None:
        return ""
    return f", weights {bytes_change(before, after)}"


def _relative(before: int, after: int) -> str:
    if before == 0:
        return "new" if after else "+0.00%"
    change = 100.0 * (after - before) / before
    if after != before and abs(change) < 0.005:
        return f"{'+' if after > before else '-'}<0.01%"
    return f"{change:+.2f}%"


def _forms_drifts(
    expected: ParamFormReport, actual: ParamFormReport, options: CompareOptions | None
) -> list[Drift]:
    """At most one line, naming each form whose share of parameters or layers moved."""
    tolerance = None if options is None else options.tolerance
    forms = _all_forms(expected, actual)
    groups = [
        _share_group(what, forms, before, after, tolerance)
        for what, before, after in (
            ("parameters", expected.parameter_shares, actual.parameter_shares),
            ("layers", expected.layer_shares, actual.layer_shares),
        )
    ]
    moved = "; ".join(group for group in groups if group)
    if not moved:
        return []
    if tolerance is not None:
        moved += f" (tolerance {tolerance:g} pp)"
    return [Drift("forms", f"forms:  {moved}")]


def _share_group(
    what: str,
    forms: list[str],
    before: dict[str, float],
    after: dict[str, float],
    tolerance: float | None,
) -> str:
    """One clause such as ``Vector 1.00% -> 0.97%, Matrix ... of parameters``."""
    entries = _share_entries(forms, before, after, tolerance)
    return f"{', '.join(entries)} of {what}" if entries else ""


def _share_entries(
    forms: list[str], before: dict[str, float], after: dict[str, float], tolerance: float | None
) -> list[str]:
    pairs = [(form, before.get(form, 0.0), after.get(form, 0.0)) for form in forms]
    return [
        _share_entry(form, old, new, tolerance)
        for form, old, new in pairs
        if _share_moved(old, new, tolerance)
    ]


def share_change(expected: ParamFormReport, actual: ParamFormReport) -> str:
    """How each form's share of the parameters moved: ``Matrix 97.14% -> 97.23%``
    (empty when none did), as the ``forms:`` line of a drift words it."""
    forms = _all_forms(expected, actual)
    shares = (expected.parameter_shares, actual.parameter_shares)
    return ", ".join(_share_entries(forms, *shares, None))


def parameters_change(before: int, after: int) -> str:
    """``3,504,872 -> 3,607,272 (+102,400, +2.92%)``."""
    return f"{before:,} -> {after:,} ({after - before:+,}, {_relative(before, after)})"


def _all_forms(expected: ParamFormReport, actual: ParamFormReport) -> list[str]:
    """Forms of either side in the reports' column order: Vector, Matrix, then by rank."""
    others = (set(expected.ranks) | set(actual.ranks)) - set(ALWAYS_SHOWN_RANKS)
    return [form_name(rank) for rank in (*ALWAYS_SHOWN_RANKS, *sorted(others))]


def _share_moved(before: float, after: float, tolerance: float | None) -> bool:
    """Exact at layer level: equal counts give bit-identical shares, so ``!=`` is safe."""
    if tolerance is None:
        return before != after
    return abs(after - before) > tolerance + _SLACK


def _share_entry(form: str, before: float, after: float, tolerance: float | None) -> str:
    places = _decimals(before, after)
    entry = f"{form} {_percent(before, places)} -> {_percent(after, places)}"
    if tolerance is not None:
        delta = after - before
        entry += f" ({delta:+.3g} pp)" if places is None else f" ({delta:+.{places}f} pp)"
    return entry


def _decimals(before: float, after: float) -> int | None:
    """Two, or as many more as it takes not to print "66.46% -> 66.46%" (``None``: all)."""
    for places in range(2, _MAX_DECIMALS + 1):
        if f"{before:.{places}f}" != f"{after:.{places}f}":
            return places
    return None


def _percent(value: float, places: int | None) -> str:
    return f"{value!r}%" if places is None else f"{value:.{places}f}%"


# -- the failure message ---------------------------------------------------------------


def render_drift(
    drifts: list[Drift],
    *,
    model: str,
    golden: str,
    accept: str | None,
    limit: int | None = 40,
    fold: bool = True,
    expected: ParamFormReport | None = None,
    actual: ParamFormReport | None = None,
) -> str:
    """The whole failure message: the tensor lines (folded unless ``fold`` is false, at
    most ``limit`` of them; None: all), then the overall effect, then ``accept``, the
    command that accepts the change, alone on its line so that the line pastes into a
    shell as it is. ``expected`` and ``actual``, the compared reports, let folding name a
    run of added or removed blocks after an unchanged neighbour."""
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0 tensor lines, got {limit!r}")
    rows = [d for d in drifts if d.kind in CAPPED_KINDS]
    overall = [d for d in drifts if d.kind not in CAPPED_KINDS]
    lines = [f"paramform: {model} differs from {golden}"]
    if fold:
        lines += _folded(rows, limit, expected, actual)
    else:
        lines += [f"  {d.text}" for d in rows[:limit]]
        if limit is not None and len(rows) > limit:
            lines.append(f"  {_hidden_summary(rows[limit:])}")
    lines += [f"  {text}" for text in (fold_texts(overall) if fold else [d.text for d in overall])]
    if accept is not None:
        lines += ["accept with:", f"  {accept}"]
    return "\n".join(lines)


def _folded(
    rows: list[Drift],
    limit: int | None,
    expected: ParamFormReport | None,
    actual: ParamFormReport | None,
) -> list[str]:
    """Tensor lines folded (``fold.py``), then capped: the cap counts lines, not tensors."""
    before: Sequence[ParamRow] = ()
    after: Sequence[ParamRow] = ()
    if expected is not None and actual is not None:
        if expected.source != actual.source:  # as compare() saw them: by name, buffers too
            expected, actual = tensor_views(expected, actual)
        before, after = expected.rows, actual.rows
    folded = fold_drifts(rows, before=before, after=after)
    texts = [f"  {text}" for text in render_lines(folded[:limit])]
    if limit is not None and len(folded) > limit:
        hidden = [d for line in folded[limit:] for d in line.members]
        texts.append(f"  {_hidden_summary(hidden, lines=len(folded) - limit)}")
    return texts


def _hidden_summary(hidden: Sequence[Drift], lines: int | None = None) -> str:
    counts = Counter(d.kind for d in hidden)
    detail = ", ".join(f"{counts[kind]:,} {kind}" for kind in ROW_KINDS)
    if counts["buffer"]:
        detail += f", {counts['buffer']:,} buffers"
    if lines is None or lines == len(hidden):
        return f"... and {len(hidden):,} more ({detail})"
    return f"... and {lines:,} more lines ({len(hidden):,} tensors: {detail})"

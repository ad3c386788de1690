"""Drifts beyond shapes: tying, trainability, dtype and buffers.

These are the regressions that pass a shape check: a tie that silently breaks, a backbone
that should be frozen becoming trainable, a cast, a lost running statistic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pytest_paramform.comparison.drift import Drift
from pytest_paramform.comparison.fold import fold_names
from pytest_paramform.report import ParamFormReport, ParamRow

MAX_GROUPS = 8


def _aliases(report: ParamFormReport) -> dict[str, str]:
    return {alias.name: alias.target for alias in report.aliases}


def _numel(report: ParamFormReport, name: str) -> int | None:
    for row in report.rows:
        if row.name == name:
            return row.numel
    return None


def tying_drifts(expected: ParamFormReport, actual: ParamFormReport) -> list[Drift]:
    """Ties broken, made or moved; the rows they concern are named here, not as +/-."""
    before, after = _aliases(expected), _aliases(actual)
    drifts = []
    for name, target in before.items():
        if name not in after:
            count = _numel(actual, name)
            text = (
                f"tied name removed: {name} (shared {target})"
                if count is None
                else f"tying broken: {name} no longer shares {target} (+{count:,} parameters)"
            )
            drifts.append(Drift("tying", text, name))
        elif after[name] != target:
            text = f"tying changed: {name} shares {after[name]} instead of {target}"
            drifts.append(Drift("tying", text, name))
    for name, target in after.items():
        if name not in before:
            count = _numel(expected, name)
            text = (
                f"new tied name: {name} (shares {target})"
                if count is None
                else f"newly tied: {name} now shares {target} (-{count:,} parameters)"
            )
            drifts.append(Drift("tying", text, name))
    return drifts


def group_names(changed: list[str], universe: Iterable[str]) -> dict[str, list[str]]:
    """Changed names grouped under the widest prefix whose every tensor changed.

    ``backbone.*`` stands for all of backbone's tensors; ``*`` for the whole model.
    """
    hit = set(changed)
    under: Counter[str] = Counter()
    changed_under: Counter[str] = Counter()
    names = list(universe)
    for name in names:
        for prefix in _prefixes(name):
            under[prefix] += 1
            changed_under[prefix] += name in hit
    if names and len(hit) == len(names):
        return {"*": list(changed)}
    groups: dict[str, list[str]] = {}
    for name in changed:
        label = next((f"{p}.*" for p in _prefixes(name) if under[p] == changed_under[p]), name)
        groups.setdefault(label, []).append(name)
    return {
        (members[0] if len(members) == 1 else label): members for label, members in groups.items()
    }


def _prefixes(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:k]) for k in range(1, len(parts))]


def _grouped_line(title: str, changed: list[ParamRow], universe: Iterable[str]) -> Drift:
    """One line per kind of change; groups repeated in every block are one brace range
    (``model.layers.{0..31}.self_attn.q_proj.weight``) before the cap counts them."""
    numel = {row.name: row.numel for row in changed}
    groups = group_names([row.name for row in changed], universe)
    labels = list(groups)
    folded = [
        (label, [name for p in positions for name in groups[labels[p]]])
        for label, positions in fold_names(labels)
    ]
    parts = [
        f"{label} ({sum(numel[n] for n in names):,} parameters in {len(names)} tensors)"
        for label, names in folded
    ]
    if len(parts) > MAX_GROUPS:
        parts = [*parts[:MAX_GROUPS], f"... and {len(parts) - MAX_GROUPS} more groups"]
    return Drift("state", f"{title}: {', '.join(parts)}")


def _common(expected: ParamFormReport, actual: ParamFormReport) -> list[tuple[ParamRow, ParamRow]]:
    """Pairs of rows with the same name, in the actual model's order."""
    before = {row.name: row for row in expected.rows}
    return [(before[row.name], row) for row in actual.rows if row.name in before]


def trainability_drifts(expected: ParamFormReport, actual: ParamFormReport) -> list[Drift]:
    pairs = _common(expected, actual)
    universe = [row.name for row in actual.rows]
    drifts = []
    for title, became_frozen in (("now trainable", False), ("now frozen", True)):
        changed = [
            new for old, new in pairs if old.frozen != new.frozen and new.frozen == became_frozen
        ]
        if changed:
            drifts.append(_grouped_line(title, changed, universe))
    return drifts


def dtype_drifts(expected: ParamFormReport, actual: ParamFormReport) -> list[Drift]:
    """Casts, grouped by old and new dtype; only where both sides recorded dtypes."""
    casts: dict[tuple[str, str], list[ParamRow]] = {}
    for old, new in _common(expected, actual):
        if old.dtype is not None and new.dtype is not None and old.dtype != new.dtype:
            casts.setdefault((old.dtype, new.dtype), []).append(new)
    universe = [row.name for row in actual.rows]
    return [
        _grouped_line(f"dtype {before} -> {after}", rows, universe)
        for (before, after), rows in casts.items()
    ]


def buffer_drifts(expected: ParamFormReport, actual: ParamFormReport) -> list[Drift]:
    """Buffers added, removed or reshaped; compared only when both sides recorded them."""
    if expected.buffers is None or actual.buffers is None:
        return []
    before = {b.name: b for b in expected.buffers}
    after = {b.name: b for b in actual.buffers}
    drifts = [
        Drift("buffer", f"buffer - {name}   {row.shape}", name)
        for name, row in before.items()
        if name not in after
    ]
    for name, row in after.items():
        if name not in before:
            drifts.append(Drift("buffer", f"buffer + {name}   {row.shape}", name))
        elif before[name].shape != row.shape or before[name].dtype != row.dtype:
            old = before[name]
            text = f"buffer ~ {name}   {old.shape} -> {row.shape}"
            if old.dtype != row.dtype:
                text += f"   dtype {old.dtype} -> {row.dtype}"
            drifts.append(Drift("buffer", text, name))
    return drifts


def recording_drifts(expected: ParamFormReport, actual: ParamFormReport) -> list[Drift]:
    """Buffers or dtypes recorded on one side only: turning the option on (or off) must
    not pass silently, or the golden would never start guarding them."""
    drifts = []
    for what, before, after in (
        ("buffers", expected.buffers is not None, actual.buffers is not None),
        ("dtypes", expected.has_dtype, actual.has_dtype),
    ):
        if before != after:
            side = (
                "this run records them and the golden does not"
                if after
                else ("the golden records them and this run does not")
            )
            drifts.append(Drift("recording", f"{what}: {side}"))
    return drifts


def state_drifts(
    expected: ParamFormReport, actual: ParamFormReport, *, same_rows: bool = False
) -> list[Drift]:
    """Tying, recording, trainability, dtype and buffer changes. With ``same_rows`` (equal
    names, shapes, frozen flags and dtypes, row by row) the per-row kinds cannot differ."""
    per_row = (
        []
        if same_rows
        else [
            *trainability_drifts(expected, actual),
            *dtype_drifts(expected, actual),
        ]
    )
    return [
        *recording_drifts(expected, actual),
        *tying_drifts(expected, actual),
        *per_row,
        *buffer_drifts(expected, actual),
    ]

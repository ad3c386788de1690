"""Aligning two lists of tensors in model order: what changed shape, what was added, what
was removed. Generic sequence alignment, kept apart from the message it feeds."""

from __future__ import annotations

import bisect
import difflib
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Literal

from pytest_paramform.report import ParamRow

StepKind = Literal["changed", "added", "removed"]
# (kind, the row as it was, or as it is when added; its new self when reshaped)
Step = tuple[StepKind, ParamRow, ParamRow | None]


def align(old: Sequence[ParamRow], new: Sequence[ParamRow]) -> Iterator[Step]:
    """Changes in model order; the common head and tail skip all matching work."""
    head = _common_run(old, new, range(min(len(old), len(new))))
    room = min(len(old), len(new)) - head
    tail = _common_run(old, new, range(-1, -room - 1, -1))
    old_end, new_end = len(old) - tail, len(new) - tail
    yield from _reshaped(old[:head], new[:head])
    yield from _middle(old[head:old_end], new[head:new_end])
    yield from _reshaped(old[old_end:], new[new_end:])


def _common_run(old: Sequence[ParamRow], new: Sequence[ParamRow], indices: range) -> int:
    count = 0
    for i in indices:
        if old[i].name != new[i].name:
            break
        count += 1
    return count


def _middle(old: Sequence[ParamRow], new: Sequence[ParamRow]) -> Iterator[Step]:
    """Pin the names kept in order, then let ``SequenceMatcher`` align what lies between.

    ``SequenceMatcher`` alone is quadratic when changes are scattered (one inserted
    tensor every hundred rows of a 100k-row model takes 20 s); anchoring on the
    longest in-order run of names that occur once on each side (patience diff) leaves
    it only the small gaps, and the duplicate names that a hand-made report may hold.
    """
    start_old = start_new = 0
    for i, j in [*_anchors(old, new), (len(old), len(new))]:
        yield from _gap(old[start_old:i], new[start_new:j])
        yield from _reshaped(old[i : i + 1], new[j : j + 1])
        start_old, start_new = i + 1, j + 1


def _anchors(old: Sequence[ParamRow], new: Sequence[ParamRow]) -> list[tuple[int, int]]:
    """Positions (old, new) of the longest in-order run of names unique on both sides."""
    old_at, new_at = _unique_positions(old), _unique_positions(new)
    pairs = [(i, new_at[name]) for name, i in old_at.items() if name in new_at]
    return [pairs[k] for k in _longest_increasing([j for _, j in pairs])]


def _longest_increasing(values: list[int]) -> list[int]:
    """Indices of a longest strictly increasing subsequence, in O(n log n)."""
    ends: list[int] = []  # smallest last value of a run of each length
    lasts: list[int] = []  # index of that last value
    previous = [-1] * len(values)
    for k, value in enumerate(values):
        length = bisect.bisect_left(ends, value)
        previous[k] = lasts[length - 1] if length else -1
        ends[length : length + 1] = [value]
        lasts[length : length + 1] = [k]
    chain = []
    k = lasts[-1] if lasts else -1
    while k >= 0:
        chain.append(k)
        k = previous[k]
    return chain[::-1]


def _unique_positions(rows: Sequence[ParamRow]) -> dict[str, int]:
    counts = Counter(row.name for row in rows)
    return {row.name: i for i, row in enumerate(rows) if counts[row.name] == 1}


def _gap(old: Sequence[ParamRow], new: Sequence[ParamRow]) -> Iterator[Step]:
    if not old and not new:
        return
    matcher = difflib.SequenceMatcher(
        None, [r.name for r in old], [r.name for r in new], autojunk=False
    )
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            yield from _reshaped(old[i1:i2], new[j1:j2])
            continue
        yield from (("removed", row, None) for row in old[i1:i2])
        yield from (("added", row, None) for row in new[j1:j2])


def _reshaped(old: Sequence[ParamRow], new: Sequence[ParamRow]) -> Iterator[Step]:
    return (("changed", o, n) for o, n in zip(old, new, strict=True) if o.shape != n.shape)

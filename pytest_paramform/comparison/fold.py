"""A drift folded into the architecture change it is: the same change in repeated blocks as
one line with a brace range (``model.layers.{0..31}.self_attn.k_proj.weight``), a run of
whole blocks added or removed as one line, a renamed prefix said once.

A view, never a second comparison: every line carries the per-tensor ``Drift``s it stands
for, and a folded line is only ever made of drifts that are the same change, so what
``-vv`` and ``--no-fold`` list one by one is exactly what the lines expand back to.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from pytest_paramform.comparison.drift import Drift
from pytest_paramform.report import ParamRow

NAME_COLUMN_CAP = 60
MAX_BRACE = 160  # characters of one brace range
_GAP = "   "
# An integer that can be folded: no leading zero, so "007" keeps its exact spelling.
_NUMBER = re.compile(r"(?<!\d)(?:0|[1-9]\d*)(?!\d)")
_NUMBERS = re.compile(r"(\d+)")  # split: text, number, text, ...
_LEADING_ZERO = re.compile(r"(?<!\d)0\d")
_BRACES = re.compile(r"\{([\d.,]+)\}")
_SIGNS = {"changed": "~", "added": "+", "removed": "-"}

Segments = tuple[str, ...]
RenameKey = tuple[Segments, Segments, int]
Item = tuple[int, Drift]  # a drift and where it stands in the list given to ``fold``
Placed = list[tuple[int, "Line"]]  # lines and where their first drift stands


@dataclass(frozen=True)
class Line:
    """One line of a folded drift and the drifts it stands for.

    ``name`` is the name column, brace range included (empty for a line that is a
    sentence: a run of blocks, a rename, a line passed through as it was).
    """

    sign: str
    name: str
    detail: str
    members: tuple[Drift, ...]

    def text(self, width: int) -> str:
        if not self.name:
            return f"{self.sign} {self.detail}" if self.sign else self.detail
        return f"{self.sign} {self.name:<{width}}{_GAP}{self.detail}"


def render_lines(lines: Sequence[Line]) -> list[str]:
    """The lines' text, names padded to one capped column as unfolded rows are."""
    names = [len(line.name) for line in lines if line.name]
    width = min(NAME_COLUMN_CAP, max(names, default=0))
    return [line.text(width) for line in lines]


def fold(
    drifts: Sequence[Drift],
    *,
    before: Sequence[ParamRow] = (),
    after: Sequence[ParamRow] = (),
) -> list[Line]:
    """``drifts`` (one comparison's row lines, in model order) as folded lines, in the order
    of their first drift. ``before`` and ``after`` are the two sides' rows: with them a
    run of whole blocks is found and named after an unchanged neighbour."""
    placed: Placed = []
    items = []
    for index, drift in enumerate(drifts):
        if _foldable(drift):
            items.append((index, drift))
        else:
            placed.append((index, Line("", "", drift.text, (drift,))))
    moved = _moved(drift for _, drift in items)
    renamed, items = _renames(items, moved)
    grown, items = _blocks(items, "added", after, moved)
    shrunk, items = _blocks(items, "removed", before, moved)
    placed += [*renamed, *grown, *shrunk, *_same_change(items, moved)]
    placed.sort(key=lambda pair: pair[0])
    return [line for _, line in placed]


def _foldable(drift: Drift) -> bool:
    if drift.kind == "changed":
        return drift.before is not None and drift.after is not None and drift.name is not None
    side = drift.after if drift.kind == "added" else drift.before
    return drift.kind in _SIGNS and side is not None and drift.name == side.name


def _row(drift: Drift) -> ParamRow:
    row = drift.after if drift.kind == "added" else drift.before
    assert row is not None
    return row


def _moved(drifts: Iterable[Drift]) -> set[str]:
    """Names both removed and added: a tensor that moved, shown as such, never folded away."""
    seen: dict[str, set[str]] = defaultdict(set)
    for drift in drifts:
        if drift.kind != "changed":
            seen[_row(drift).name].add(drift.kind)
    return {name for name, kinds in seen.items() if len(kinds) == 2}


def _reshaped(drift: Drift) -> tuple[ParamRow, ParamRow]:
    old, new = drift.before, drift.after
    assert old is not None
    assert new is not None
    return old, new


def _delta(drift: Drift) -> int:
    if drift.kind == "changed":
        old, new = _reshaped(drift)
        return new.numel - old.numel
    numel = _row(drift).numel
    return numel if drift.kind == "added" else -numel


def _detail(drift: Drift) -> str:
    """What ``drift.text`` says after the name: the same for every drift of one change."""
    assert drift.name is not None
    return drift.text[2 + len(drift.name) :].lstrip(" ")


# -- the same change, names differing in one integer ------------------------------------


def _same_change(items: Sequence[Item], moved: set[str]) -> Placed:
    """Drifts that are the same change, with names equal but for one integer, as one line
    each. A drift joins one line only; an odd one is a line of its own."""
    changes = [
        # inlined: this runs once per changed tensor
        (d.kind, d.before and d.before.shape, d.after and d.after.shape, d.name in moved)
        for _, d in items
    ]
    placed: Placed = []
    for name, group in fold_names([d.name or "" for _, d in items], changes):
        drifts = tuple(items[p][1] for p in group)
        line = _group_line(name, drifts) if len(group) > 1 else _single(drifts[0])
        placed.append((items[group[0]][0], line))
    return placed


def fold_names(
    names: Sequence[str], changes: Sequence[Hashable] | None = None
) -> list[tuple[str, list[int]]]:
    """Names equal but for one number (and with equal ``changes``, when given) as one
    brace-range name each, with the positions of the names it stands for; in the order of
    each group's first name. A name that folds with none stands for itself."""
    parts = [_split(name) for name in names]
    families: dict[tuple[Hashable, ...], list[int]] = defaultdict(list)
    for position, split in enumerate(parts):
        if len(split) > 1:
            change = changes[position] if changes is not None else None
            families[(change, *split[0::2])].append(position)
    taken: set[int] = set()
    folded: list[tuple[str, list[int]]] = []
    for members in families.values():
        for group, at in _fold_family(members, parts) if len(members) > 1 else ():
            values = [int(parts[p][at]) for p in group]
            numbers = brace(values)
            # A name listed twice stays two lines; a scattered range no one could read
            # ({1,3,5,...,1999}) is no fold either: those lines are capped as they were.
            if len(set(values)) < len(values) or len(numbers) > MAX_BRACE:
                continue
            taken.update(group)
            first = parts[group[0]]
            folded.append(("".join(first[:at]) + numbers + "".join(first[at + 1 :]), group))
    folded += [(name, [p]) for p, name in enumerate(names) if p not in taken]
    folded.sort(key=lambda pair: pair[1][0])
    return folded


def fold_texts(drifts: Sequence[Drift]) -> list[str]:
    """The lines after the tensor lines, with lines that differ only in one block number as
    one: tying (``tying broken: layers.{1..11}.w no longer shares layers.0.w (+16,384
    parameters each, 11 tensors)``) and the forward pass's modules (``~ layers.{0..31}.mlp
    output (1, 128, 4096) -> (1, 128, 2048)   32 modules``). Other lines stay as they are."""
    texts = [drift.text for drift in drifts]
    _fold_ties(drifts, texts)
    _fold_modules(drifts, texts)
    return [text for text in texts if text]


def _fold_ties(drifts: Sequence[Drift], texts: list[str]) -> None:
    ties = [p for p, drift in enumerate(drifts) if drift.kind == "tying"]
    for text, group in fold_names([texts[p] for p in ties]):
        if len(group) > 1:
            many = f" ({len(group):,} tensors)"
            if text.endswith(" parameters)"):
                many = f" each, {len(group):,} tensors)"
                text = text[:-1]
            _replace(texts, [ties[p] for p in group], text + many)


def _fold_modules(drifts: Sequence[Drift], texts: list[str]) -> None:
    """Module lines (``SIGN NAME DETAIL``) with the same sign and detail, names equal but
    for one number, as one line with a brace range."""
    modules = [p for p, drift in enumerate(drifts) if drift.kind == "module" and drift.name]
    names = [drifts[p].name or "" for p in modules]
    # the sign, and the detail after the name: the change, equal in every folded line
    changes = [(texts[p][0], texts[p][len(names[k]) + 3 :]) for k, p in enumerate(modules)]
    for name, group in fold_names(names, changes):
        if len(group) > 1:
            sign, detail = changes[group[0]]
            each = ", FLOPs each" if "FLOPs" in detail else ""
            text = f"{sign} {name} {detail}{_GAP}{len(group):,} modules{each}"
            _replace(texts, [modules[p] for p in group], text)


def _replace(texts: list[str], positions: list[int], text: str) -> None:
    """``text`` where the first position stood; the others emptied, to be dropped."""
    texts[positions[0]] = text
    for p in positions[1:]:
        texts[p] = ""


def _split(name: str) -> list[str]:
    """``name`` as text, number, text, ...; a name with a number spelled with a leading
    zero stays whole, so that every folded name expands back to its exact spelling."""
    if "0" in name and _LEADING_ZERO.search(name):
        return [name]
    return _NUMBERS.split(name)


def _fold_family(members: list[int], parts: list[list[str]]) -> list[tuple[list[int], int]]:
    """Groups of one family (the same change, names equal but for their numbers) whose
    names differ in one number, with where that number stands in the split name.

    The number with the most distinct values folds first (the layer index of
    ``layers.{0..31}.experts.3``); what it leaves alone is folded on the next.
    """
    count = len(parts[members[0]]) // 2
    if count == 1:
        return [(members, 1)]
    sample = members[:: max(1, len(members) // 1000)]  # only orders the numbers
    columns = zip(*(parts[p][1::2] for p in sample), strict=True)
    spread = [len(set(column)) for column in columns]
    groups = []
    left = members
    for k in sorted(range(count), key=lambda k: -spread[k]):
        at = 2 * k + 1
        by_rest: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for p in left:
            split = parts[p]
            by_rest[(*split[1:at:2], *split[at + 2 :: 2])].append(p)
        left = []
        for group in by_rest.values():
            if len(group) > 1:
                groups.append((group, at))
            else:
                left += group
        if len(left) < 2:
            break
    return groups


def _single(drift: Drift) -> Line:
    return Line(_SIGNS[drift.kind], drift.name or "", _detail(drift), (drift,))


def _group_line(name: str, drifts: tuple[Drift, ...]) -> Line:
    total = len(drifts) * _delta(drifts[0])  # one change: the same delta for each
    detail = f"{_detail(drifts[0])}{_GAP}{len(drifts):,} tensors, {total:+,} parameters"
    return Line(_SIGNS[drifts[0].kind], name, detail, drifts)


def brace(values: Iterable[int]) -> str:
    """``{0..3,5,7..11}``: runs of three or more as ``a..b``, in increasing order."""
    ordered = sorted(set(values))
    parts = []
    start = 0
    for k in range(1, len(ordered) + 1):
        if k == len(ordered) or ordered[k] != ordered[k - 1] + 1:
            first, last = ordered[start], ordered[k - 1]
            span = last - first
            parts.append(
                str(first) if span == 0 else f"{first},{last}" if span == 1 else f"{first}..{last}"
            )
            start = k
    return "{" + ",".join(parts) + "}"


def expand(name: str) -> list[str]:
    """The names a folded name stands for: the inverse of ``brace`` (one range per name)."""
    match = _BRACES.search(name)
    if match is None:
        return [name]
    values: list[int] = []
    for part in match.group(1).split(","):
        first, _, last = part.partition("..")
        values += range(int(first), int(last or first) + 1)
    head, tail = name[: match.start()], name[match.end() :]
    return [f"{head}{value}{tail}" for value in values]


# -- whole blocks -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Block:
    prefix: str
    head: str  # the prefix before its block number, and after it
    tail: str
    number: int
    drifts: tuple[Item, ...]

    @property
    def shape(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """What the block holds, by name inside it: equal for blocks built alike."""
        return tuple((d.name[len(self.prefix) :], _row(d).shape) for _, d in self.drifts if d.name)


def _blocks(
    items: list[Item], kind: str, context: Sequence[ParamRow], moved: set[str]
) -> tuple[Placed, list[Item]]:
    """Runs of whole blocks added (or removed) that are built alike, one line per run; a
    block unlike its neighbours is left to be listed tensor by tensor."""
    mine = [(i, d) for i, d in items if d.kind == kind and _row(d).name not in moved]
    if len(mine) < 2 or not context:
        return [], items
    blocks = _whole_blocks(mine, context)
    if not blocks:
        return [], items
    shapes = _neighbour_shapes(blocks, context)
    placed: Placed = []
    used: set[int] = set()
    for run in _runs(blocks):
        like = _like(run, shapes)
        if len(run) < 2 and like is None:
            continue
        members = [item for block in run for item in block.drifts]
        used.update(i for i, _ in members)
        placed.append((members[0][0], _blocks_line(kind, run, like)))
    return placed, [item for item in items if item[0] not in used]


def _block_prefixes(name: str) -> Iterator[str]:
    """The proper prefixes of ``name`` whose last part holds a number, outermost first."""
    start = 0
    while (dot := name.find(".", start)) >= 0:
        if _NUMBER.search(name, start, dot):
            yield name[:dot]
        start = dot + 1


def _whole_blocks(mine: list[Item], context: Sequence[ParamRow]) -> dict[str, _Block]:
    """Each drift under its outermost numbered prefix all of whose tensors it changed,
    when that prefix holds two tensors or more."""
    counts: Counter[str] = Counter()
    for row in context:
        counts.update(_block_prefixes(row.name))
    hits: Counter[str] = Counter()
    for _, drift in mine:
        hits.update(_block_prefixes(_row(drift).name))
    members: dict[str, list[Item]] = defaultdict(list)
    for item in mine:
        for prefix in _block_prefixes(_row(item[1]).name):
            if hits[prefix] == counts[prefix] > 1:
                members[prefix].append(item)
                break
    return {prefix: _block(prefix, tuple(items)) for prefix, items in members.items()}


def _block(prefix: str, drifts: tuple[Item, ...]) -> _Block:
    start = prefix.rfind(".") + 1
    number = list(_NUMBER.finditer(prefix, start))[-1]
    head, tail = prefix[: number.start()], prefix[number.end() :]
    return _Block(prefix + ".", head, tail, int(number.group()), drifts)


def _runs(blocks: dict[str, _Block]) -> list[list[_Block]]:
    """Blocks in model order, cut where the next block is not the next number of the same
    family built alike."""
    runs: list[list[_Block]] = []
    for block in sorted(blocks.values(), key=lambda b: b.drifts[0][0]):
        last = runs[-1][-1] if runs else None
        if (
            last is not None
            and (last.head, last.tail, last.number + 1) == (block.head, block.tail, block.number)
            and last.shape == block.shape
        ):
            runs[-1].append(block)
        else:
            runs.append([block])
    return runs


def _neighbour(block: _Block, step: int) -> str:
    return f"{block.head}{block.number + step}{block.tail}."


def _neighbour_shapes(
    blocks: dict[str, _Block], context: Sequence[ParamRow]
) -> dict[str, tuple[tuple[str, tuple[int, ...]], ...]]:
    """What each block's unchanged neighbours hold, read from the side the blocks are on."""
    wanted = {_neighbour(b, step) for b in blocks.values() for step in (-1, 1)}
    wanted -= {b.prefix for b in blocks.values()}
    found: dict[str, list[tuple[str, tuple[int, ...]]]] = defaultdict(list)
    for row in context:
        for prefix in _block_prefixes(row.name):
            if prefix + "." in wanted:
                found[prefix + "."].append((row.name[len(prefix) + 1 :], row.shape))
    return {prefix: tuple(rows) for prefix, rows in found.items()}


def _like(
    run: list[_Block], shapes: dict[str, tuple[tuple[str, tuple[int, ...]], ...]]
) -> str | None:
    """An unchanged neighbour built as the run's blocks are, to name the run after."""
    for prefix in (_neighbour(run[0], -1), _neighbour(run[-1], 1)):
        if shapes.get(prefix) == run[0].shape:
            return prefix[:-1]
    return None


def _blocks_line(kind: str, run: list[_Block], like: str | None) -> Line:
    first = run[0]
    name = (
        first.prefix[:-1]
        if len(run) == 1
        else f"{first.head}{brace(b.number for b in run)}{first.tail}"
    )
    drifts = tuple(d for block in run for _, d in block.drifts)
    each = sum(_delta(d) for _, d in first.drifts)
    noun = "block" if len(run) == 1 else "blocks"
    what = f"{len(run):,} {noun}" + (f" like {like}" if like else "")
    per = "" if len(run) == 1 else " each"
    detail = f"{name}: {what} ({len(first.drifts):,} tensors, {each:+,} parameters{per})"
    return Line(_SIGNS[kind], "", detail, drifts)


# -- renames ----------------------------------------------------------------------------


def _renames(items: list[Item], moved: set[str]) -> tuple[Placed, list[Item]]:
    """Removed and added tensors that pair one to one by replacing one run of name parts
    (a segment or a prefix), shapes unchanged: one line per replacement."""
    removed = _by_name(items, "removed", moved)
    added = _by_name(items, "added", moved)
    if not removed or not added:
        return [], items
    keys = Counter(_rename_key(old, new) for old, new in _paired_in_order(items))
    placed: Placed = []
    used: set[int] = set()
    for key, count in keys.most_common():
        if count < 2 or key is None:
            continue
        pairs = _apply(key, removed, added)
        # A part inserted (nothing replaced) must be inserted after the same parts each time
        if len(pairs) < 2 or (not key[0] and len({cp for cp, _, _ in pairs}) > 1):
            continue
        for _, old, new in pairs:
            removed.pop(old[1].name or "")
            added.pop(new[1].name or "")
            used.update((old[0], new[0]))
        placed.append((min(old[0] for _, old, _ in pairs), _rename_line(key, pairs)))
    return placed, [item for item in items if item[0] not in used]


def _by_name(items: list[Item], kind: str, moved: set[str]) -> dict[str, Item]:
    rows = ((_row(d).name, (i, d)) for i, d in items if d.kind == kind)
    return {name: item for name, item in rows if name not in moved}


def _paired_in_order(items: list[Item]) -> Iterator[tuple[Drift, Drift]]:
    """Removed and added tensors side by side as alignment gives them (the removed run
    of a gap, then its added run): where a rename's candidates come from."""
    run: dict[str, list[Drift]] = {"removed": [], "added": []}
    for _, drift in [*items, (-1, Drift("note", ""))]:
        if (drift.kind == "removed" and run["added"]) or drift.kind not in run:
            yield from zip(run["removed"], run["added"], strict=False)
            run = {"removed": [], "added": []}
        if drift.kind in run:
            run[drift.kind].append(drift)


def _rename_key(old: Drift, new: Drift) -> RenameKey | None:
    """What replaced what: the differing run of parts, and where it starts when empty."""
    a, b = _parts(old), _parts(new)
    if _row(old).shape != _row(new).shape:
        return None
    head = 0
    while head < min(len(a), len(b)) - 1 and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    if tail == 0:
        return None
    old_run, new_run = a[head : len(a) - tail], b[head : len(b) - tail]
    return old_run, new_run, (-1 if old_run else head)


def _parts(drift: Drift) -> Segments:
    return tuple((drift.name or "").split("."))


def _apply(
    key: RenameKey, removed: dict[str, Item], added: dict[str, Item]
) -> list[tuple[Segments, Item, Item]]:
    """Every removed tensor that ``key`` turns into an added one of the same shape, with
    the parts before the replaced run."""
    old, new, at = key
    pairs = []
    taken: set[str] = set()
    for name, item in removed.items():
        parts = tuple(name.split("."))
        start = at if at >= 0 else _find(parts, old)
        if start is None or start >= len(parts):
            continue
        renamed = ".".join((*parts[:start], *new, *parts[start + len(old) :]))
        other = added.get(renamed)
        if other is not None and renamed not in taken and _same_shape(item, other):
            taken.add(renamed)
            pairs.append((parts[:start], item, other))
    return pairs


def _same_shape(old: Item, new: Item) -> bool:
    return _row(old[1]).shape == _row(new[1]).shape


def _find(parts: Segments, run: Segments) -> int | None:
    for start in range(len(parts) - len(run)):
        if parts[start : start + len(run)] == run:
            return start
    return None


def _rename_line(key: RenameKey, pairs: list[tuple[Segments, Item, Item]]) -> Line:
    old, new, _ = key
    heads = {cp for cp, _, _ in pairs}
    head: Segments = next(iter(heads)) if len(heads) == 1 else ("*",)
    before, after = (".".join((*head, *run, "*")) for run in (old, new))
    drifts = tuple(d for _, old_item, new_item in pairs for _, d in (old_item, new_item))
    detail = f"{before} -> {after} ({len(pairs):,} tensors, shapes unchanged)"
    return Line("renamed:", "", detail, drifts)

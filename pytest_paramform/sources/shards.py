"""A checkpoint's parts put together: a file's or a state dict's tensors as they are, a
sharded checkpoint's in its index's ``weight_map`` order, checked against that index.

The index and its shards must agree exactly, or the read is an error naming the file:
never a partial report.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from itertools import repeat
from pathlib import Path

from pytest_paramform.errors import SourceError
from pytest_paramform.sources.layouts import Index, Layout
from pytest_paramform.sources.tensors import Part, TensorInfo, Ties

# Bytes per element of the dtypes torch.load gives, for a .bin index's total_size.
_TORCH_WIDTHS = {
    "float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int64": 8, "int32": 4,
    "int16": 2, "int8": 1, "uint8": 1, "bool": 1, "complex64": 8, "complex128": 16,
    "float8_e4m3fn": 1, "float8_e5m2": 1, "uint16": 2, "uint32": 4, "uint64": 8,
}  # fmt: skip


def joined(layout: Layout, parts: Iterable[Part]) -> tuple[list[TensorInfo], Ties]:
    """Every tensor of the layout's parts, and their ties."""
    if layout.index is None:
        (part,) = parts
        return part.tensors, part.ties
    index = layout.index
    found: dict[str, TensorInfo] = {}
    ties: Ties = []
    stored: int | None = 0
    held: dict[str, str] = {}  # tensor or tied name -> the shard that holds it
    held_by_shard: dict[str, list[str]] = {}
    count = 0
    for part in parts:
        assert part.path is not None
        names = [t.name for t in part.tensors] + [alias for alias, _ in part.ties]
        held.update(zip(names, repeat(part.path.name)))
        held_by_shard[part.path.name] = names
        count += len(names)
        found.update(zip(names, part.tensors, strict=False))  # the tied names come last
        ties += part.ties
        covered = part.covered if part.covered is not None else _stored(part.tensors)
        stored = None if stored is None or covered is None else stored + covered
    if count != len(index.weight_map) or held != index.weight_map:
        _disagreement(index, held_by_shard)
    if index.total_size is not None and stored is not None and index.total_size != stored:
        raise SourceError(
            f"declares metadata.total_size {index.total_size:,} but its shards hold "
            f"{stored:,} bytes of tensors",
            path=str(index.path),
        )
    if not ties:  # every listed name is a tensor
        return list(map(found.__getitem__, index.weight_map)), ties
    return [found[name] for name in index.weight_map if name in found], ties


def _stored(tensors: list[TensorInfo]) -> int | None:
    """The bytes a state dict's tensors hold; None for a width we do not know (then
    total_size cannot be checked)."""
    if any(t.dtype not in _TORCH_WIDTHS for t in tensors):
        return None
    return sum(math.prod(t.shape) * _TORCH_WIDTHS[t.dtype] for t in tensors)


def _disagreement(index: Index, held_by_shard: dict[str, list[str]]) -> None:
    """The index and its shards disagree somewhere: name the first shard where they do."""
    for shard, names in _shards(index):
        _check_agreement(index.path.parent / shard, names, held_by_shard[shard], index)
    raise SourceError(
        "lists tensors that its shards do not hold exactly once", path=str(index.path)
    )


def _shards(index: Index) -> Iterator[tuple[str, list[str]]]:
    by_shard: dict[str, list[str]] = {}
    for name, shard in index.weight_map.items():
        by_shard.setdefault(shard, []).append(name)
    yield from by_shard.items()


def _check_agreement(shard: Path, names: list[str], held_names: list[str], index: Index) -> None:
    """The index and the shard list the same tensors, or the checkpoint is broken."""
    listed, held = set(names), set(held_names)
    missing, extra = sorted(listed - held), sorted(held - listed)
    if missing:
        raise SourceError(
            f"lists {_few(missing)} in {shard.name}, which does not hold "
            f"{'it' if len(missing) == 1 else 'them'}",
            path=str(index.path),
        )
    if extra:
        raise SourceError(
            f"holds {_few(extra)}, which the index {index.path.name} does not list for this shard",
            path=str(shard),
        )


def _few(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")

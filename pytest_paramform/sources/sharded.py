"""Sharded checkpoints as one checkpoint: an index (``model.safetensors.index.json``,
``pytorch_model.bin.index.json``) or a folder written by ``save_pretrained``.

Rows come in the index's ``weight_map`` order. Safetensors shards are read from their
headers alone, without torch; ``.bin`` shards go through ``torch.load(weights_only=True,
mmap=True)`` one at a time. The index and its shards must agree exactly, or the read is an
error naming the file: never a partial report.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

from pytest_paramform.errors import SourceError, in_file
from pytest_paramform.sources.checkpoints import (
    TensorInfo,
    check_names,
    read_checkpoint_file,
    read_safetensors_header,
    read_torch_checkpoint,
)

# What save_pretrained writes, in the order a folder is read.
FOLDER_FILES = (
    "model.safetensors.index.json",
    "model.safetensors",
    "pytorch_model.bin.index.json",
    "pytorch_model.bin",
)
# An index lists one line per tensor: 64 MiB is over half a million tensors.
MAX_INDEX_BYTES = 64 * 1024 * 1024
# Bytes per element of the dtypes torch.load gives, for a .bin index's total_size.
_TORCH_WIDTHS = {
    "float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int64": 8, "int32": 4,
    "int16": 2, "int8": 1, "uint8": 1, "bool": 1, "complex64": 8, "complex128": 16,
    "float8_e4m3fn": 1, "float8_e5m2": 1, "uint16": 2, "uint32": 4, "uint64": 8,
}  # fmt: skip


def read_folder(folder: Path) -> tuple[list[TensorInfo], list[tuple[str, str]]]:
    """The checkpoint a ``save_pretrained`` folder holds: the first of ``FOLDER_FILES``
    there, an index read shard by shard."""
    inside = next((folder / name for name in FOLDER_FILES if (folder / name).is_file()), None)
    if inside is None:
        raise SourceError(
            f"is a folder without a checkpoint (looked for {', '.join(FOLDER_FILES)})",
            path=str(folder),
        )
    if inside.name.endswith(".index.json"):
        return read_sharded(inside)
    return read_checkpoint_file(inside)


@dataclass(frozen=True)
class Index:
    path: Path
    weight_map: dict[str, str]  # tensor name -> shard file name, in the index's order
    total_size: int | None


def read_index(path: Path) -> Index:
    """The weight map of an index file, checked for shape, size and shard names."""
    try:
        size = path.stat().st_size
        if size > MAX_INDEX_BYTES:
            raise SourceError(f"{size:,} bytes is too large for a checkpoint index")
        data = json.loads(path.read_bytes().decode("utf-8"), object_pairs_hook=_unique_keys)
    except FileNotFoundError:
        raise SourceError("checkpoint index does not exist", path=str(path)) from None
    except (OSError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise SourceError(f"is not a readable JSON index ({exc})", path=str(path)) from None
    except SourceError as exc:
        raise exc.at(str(path)) from None
    weight_map = data.get("weight_map") if isinstance(data, dict) else None
    # JSON object keys are always strings; the values are checked at C speed.
    if not isinstance(weight_map, dict) or not set(map(type, weight_map.values())) <= {str}:
        raise SourceError("has no weight_map of tensor names to shard files", path=str(path))
    with in_file(str(path)):
        check_names(weight_map, "weight_map")
    for shard in dict.fromkeys(weight_map.values()):
        _check_shard_name(shard, path)
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise SourceError(f"metadata is {metadata!r}, expected an object", path=str(path))
    total = metadata.get("total_size")
    if isinstance(total, float) and total.is_integer():
        total = int(total)  # some writers store it as 1.0e10
    if total is not None and (type(total) is not int or total < 0):
        raise SourceError(
            f"metadata.total_size is {total!r}, expected a byte count", path=str(path)
        )
    return Index(path, weight_map, total)


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object whose keys are unique: ``json`` would keep the last of a duplicate
    silently, and a tensor listed twice in ``weight_map`` names two shards."""
    data: dict[str, object] = {}
    for key, value in pairs:
        if key in data:
            raise SourceError(
                f"has the duplicate key {key!r} in one object (a tensor is listed once in "
                "weight_map)"
            )
        data[key] = value
    return data


def _check_shard_name(shard: str, index: Path) -> None:
    """A shard is a file beside its index: no folders, no way out of the folder."""
    if not shard or Path(shard).name != shard or shard in (".", ".."):
        raise SourceError(
            f"names the shard {shard!r}; shards must be files beside the index", path=str(index)
        )


def read_sharded(path: Path) -> tuple[list[TensorInfo], list[tuple[str, str]]]:
    """Every tensor of every shard in the index's order, and the ties a shard holds."""
    index = read_index(path)
    found: dict[str, TensorInfo] = {}
    ties: list[tuple[str, str]] = []
    stored: int | None = 0
    held: dict[str, str] = {}  # tensor or tied name -> the shard that holds it
    count = 0
    for shard in dict.fromkeys(index.weight_map.values()):
        tensors, shard_ties, covered = _read_shard(path.parent / shard, index)
        names = [t.name for t in tensors] + [alias for alias, _ in shard_ties]
        held.update(zip(names, repeat(shard)))
        count += len(names)
        found.update(zip(names, tensors, strict=False))  # the tied names come last
        ties += shard_ties
        stored = None if stored is None or covered is None else stored + covered
    if count != len(index.weight_map) or held != index.weight_map:
        _disagreement(path, index)
    if index.total_size is not None and stored is not None and index.total_size != stored:
        raise SourceError(
            f"declares metadata.total_size {index.total_size:,} but its shards hold "
            f"{stored:,} bytes of tensors",
            path=str(path),
        )
    if not ties:  # every listed name is a tensor
        return list(map(found.__getitem__, index.weight_map)), ties
    return [found[name] for name in index.weight_map if name in found], ties


def _disagreement(path: Path, index: Index) -> None:
    """The index and its shards disagree somewhere: name the first shard where they do
    (read again: this happens once, for a broken checkpoint)."""
    for shard, names in _shards(index):
        tensors, shard_ties, _ = _read_shard(path.parent / shard, index)
        held = [t.name for t in tensors] + [alias for alias, _ in shard_ties]
        _check_agreement(path.parent / shard, names, held, index)
    raise SourceError(
        "lists tensors that its shards do not hold exactly once", path=str(path)
    )


def _shards(index: Index) -> Iterator[tuple[str, list[str]]]:
    by_shard: dict[str, list[str]] = {}
    for name, shard in index.weight_map.items():
        by_shard.setdefault(shard, []).append(name)
    yield from by_shard.items()


def _read_shard(
    shard: Path, index: Index
) -> tuple[list[TensorInfo], list[tuple[str, str]], int | None]:
    if not shard.is_file():
        raise SourceError(f"names the shard {shard.name}, which is missing", path=str(index.path))
    if shard.name.lower().endswith(".safetensors"):
        header = read_safetensors_header(shard)
        if header.covered > header.data_size:
            raise SourceError(
                f"its tensors span {header.covered:,} bytes but the file holds "
                f"{header.data_size:,}",
                path=str(shard),
            )
        return header.tensors, [], header.covered
    tensors, ties = read_torch_checkpoint(shard)
    if any(t.dtype not in _TORCH_WIDTHS for t in tensors):
        return tensors, ties, None  # a width we do not know: total_size cannot be checked
    return tensors, ties, sum(math.prod(t.shape) * _TORCH_WIDTHS[t.dtype] for t in tensors)


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

"""Which files hold a checkpoint, and what each must hold: a file alone, a sharded
checkpoint's index (``model.safetensors.index.json``, ``pytorch_model.bin.index.json``)
and its shards, or a folder written by ``save_pretrained``; or no file, for a state dict
passed in memory.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_paramform.errors import SourceError, in_file
from pytest_paramform.sources.kinds import Kind
from pytest_paramform.sources.tensors import check_names

# What save_pretrained writes, in the order a folder is read.
FOLDER_FILES = (
    "model.safetensors.index.json",
    "model.safetensors",
    "pytorch_model.bin.index.json",
    "pytorch_model.bin",
)
# An index lists one line per tensor: 64 MiB is over half a million tensors.
MAX_INDEX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Layout:
    """Where a checkpoint's tensors are, in the order they are read."""

    label: str  # the report's name unless one is given
    files: tuple[Path, ...] = ()
    index: Index | None = None  # what the files must hold, for a sharded checkpoint
    mapping: Mapping[Any, Any] | None = None  # a state dict passed in memory


def layout_of(kind: Kind, source: Any) -> Layout:
    """The layout of a mapping, a checkpoint file, an index or a folder (``kind`` says
    which). A folder is named after itself, an index after its folder, a file after its
    name before the first dot."""
    if kind is Kind.MAPPING:
        return Layout("state_dict", mapping=source)
    path = Path(source)
    if kind is Kind.FOLDER:
        label = path.absolute().name
        path = _checkpoint_in(path)
        sharded = path.name.endswith(".index.json")  # one of FOLDER_FILES: lower case
    else:
        sharded = kind is Kind.INDEX
        label = path.absolute().parent.name if sharded else path.name.split(".")[0]
    if not sharded:
        return Layout(label, (path,))
    index = read_index(path)
    shards = (path.parent / shard for shard in dict.fromkeys(index.weight_map.values()))
    return Layout(label, tuple(shards), index)


def _checkpoint_in(folder: Path) -> Path:
    """The first of ``FOLDER_FILES`` in a ``save_pretrained`` folder."""
    inside = next((folder / name for name in FOLDER_FILES if (folder / name).is_file()), None)
    if inside is None:
        raise SourceError(
            f"is a folder without a checkpoint (looked for {', '.join(FOLDER_FILES)})",
            path=str(folder),
        )
    return inside


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

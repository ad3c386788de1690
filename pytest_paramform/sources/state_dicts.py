"""A state dict's tensors: names, shapes and dtypes, and the names that hold one tensor.
A torch file's entries and an in-memory state dict's are read here (a safetensors file
gives its tensors from its header).

Tensors are never copied, moved or read: only their attributes and where they live.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_paramform.errors import SourceError
from pytest_paramform.heavy_imports import require
from pytest_paramform.sources.quantized_state_dicts import unpacked_entries
from pytest_paramform.sources.tensors import Part, TensorInfo, Ties, check_name, short_repr
from pytest_paramform.sources.torch_compat import storage_key

if TYPE_CHECKING:
    from torch import Tensor


def part_of(path: Path | None, where: str, entries: Iterable[tuple[Any, Any]]) -> Part:
    """A state dict's part: its entries read into tensors and ties, a quantized layer's
    packed weights unpacked on the way."""
    torch = require("torch", "torch")
    tensors, ties = tensors_of_entries(torch, unpacked_entries(torch, entries), where)
    return Part(path, where, tensors, ties)


def tensors_of_entries(
    torch: Any, entries: Iterable[tuple[Any, Any]], where: str
) -> tuple[list[TensorInfo], Ties]:
    """The tensors of a state dict's entries in their order, and its ties.

    A tie is an ``(alias, target)`` pair: ``alias`` holds the very object ``target``
    holds, or a view of the same storage with the same offset, shape, stride and dtype
    (what ``state_dict()`` gives for ``lm_head.weight = wte.weight``). Aliases are left
    out of the list so that a weight is counted once. Tensors are never copied or moved.
    """
    infos: list[TensorInfo] = []
    ties: list[tuple[str, str]] = []
    first_of: dict[tuple[object, ...], str] = {}
    kept: list[object] = []  # holds every value so that no id() is reused while we look
    for key, value in entries:
        check_item(torch, key, value, where)
        kept.append(value)
        marks = [("object", id(value)), *_storage_mark(value)]
        target = next((first_of[mark] for mark in marks if mark in first_of), None)
        if target is None:
            first_of.update(dict.fromkeys(marks, key))
            infos.append(TensorInfo(key, tuple(int(d) for d in value.shape), dtype_name(value)))
        else:
            ties.append((key, target))
    return infos, ties


def check_item(torch: Any, key: object, value: object, where: str) -> None:
    if not isinstance(key, str):
        raise SourceError(f"{where} has key {key!r} of type {type(key).__name__}, expected str")
    check_name(key, where)
    if not isinstance(value, torch.Tensor):
        raise SourceError(f"{where} key {key!r} holds {short_repr(value)}, expected a tensor")


def _storage_mark(tensor: Tensor) -> list[tuple[object, ...]]:
    """Where ``tensor`` lives: its storage and its offset, shape, stride and dtype.

    The storage is named by its C++ object, not its data pointer, because every ``meta``
    tensor has data pointer 0 and tied weights must be seen there too.
    """
    try:
        storage = storage_key(tensor)
        layout = (tensor.storage_offset(), tuple(tensor.shape), tensor.stride())
    except (RuntimeError, NotImplementedError, TypeError):  # sparse and wrapper tensors
        return []
    return [("storage", storage, *layout, tensor.dtype)]


def dtype_name(tensor: Tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")

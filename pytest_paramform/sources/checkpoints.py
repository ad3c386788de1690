"""Tensor names, shapes and dtypes read out of checkpoint files, without their bytes.

A ``.safetensors`` file is read from its JSON header only, in pure Python. A ``.pt``,
``.pth`` or ``.bin`` file goes through ``torch.load(weights_only=True)``, so a pickle
that would run code is refused before anything of it runs. Neither reader loads
tensor data: a multi-gigabyte checkpoint reports in milliseconds.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import reprlib
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, NamedTuple, TypeGuard

from pytest_paramform.errors import SourceError, in_file
from pytest_paramform.heavy_imports import require
from pytest_paramform.sources.quantized import unpacked_items
from pytest_paramform.sources.torch_compat import PACKED_PARAMS, storage_key
from pytest_paramform.torch_warnings import all_warnings_ignored

if TYPE_CHECKING:
    from torch import Tensor

# safetensors refuses headers above 100 MB; anything larger is corrupt or not ours.
_MAX_HEADER_BYTES = 100 * 1024 * 1024
# The pickle of a state dict is about 200 bytes a tensor: 256 MiB is over a million tensors.
# A larger one is a pickle built to exhaust memory while it loads, not a checkpoint.
_MAX_PICKLE_BYTES = 256 * 1024 * 1024

# safetensors dtype code -> (torch spelling, bytes per element).
_SAFETENSORS_DTYPES: dict[str, tuple[str, int]] = {
    "F64": ("float64", 8),
    "F32": ("float32", 4),
    "F16": ("float16", 2),
    "BF16": ("bfloat16", 2),
    "I64": ("int64", 8),
    "I32": ("int32", 4),
    "I16": ("int16", 2),
    "I8": ("int8", 1),
    "U64": ("uint64", 8),
    "U32": ("uint32", 4),
    "U16": ("uint16", 2),
    "U8": ("uint8", 1),
    "BOOL": ("bool", 1),
    "C64": ("complex64", 8),
    "F8_E4M3": ("float8_e4m3fn", 1),
    "F8_E5M2": ("float8_e5m2", 1),
    "F8_E4M3FNUZ": ("float8_e4m3fnuz", 1),
    "F8_E5M2FNUZ": ("float8_e5m2fnuz", 1),
    "F8_E8M0": ("float8_e8m0fnu", 1),
}
# Sub-byte dtypes the safetensors library knows (two or more elements a byte): spelled in
# lower case, their size not checked. Any other code is refused, as the library does.
_SUB_BYTE_DTYPES = ("F4", "F6_E2M3", "F6_E3M2")

# Keys under which training scripts commonly nest the state dict (one level only).
_WRAPPER_KEYS = ("state_dict", "model", "module")

_ZIP_MAGIC = b"PK\x03\x04"
# A compressed file cannot be a torch checkpoint as it is: torch.load reads it as a pickle.
_COMPRESSED = {
    b"\x1f\x8b": ("gzip", "gunzip"),
    b"BZh": ("bzip2", "bunzip2"),
    b"\xfd7zXZ\x00": ("xz", "unxz"),
    b"\x28\xb5\x2f\xfd": ("zstd", "unzstd"),
}


class TensorInfo(NamedTuple):
    """One named tensor as a checkpoint declares it; ``dtype`` is torch's name without
    the ``torch.`` prefix (``"float32"``, ``"bfloat16"``). A named tuple: a sharded
    checkpoint makes 90,000 of them."""

    name: str
    shape: tuple[int, ...]
    dtype: str


def short_repr(value: object) -> str:
    """A bounded description of a value for messages: a checkpoint value can be huge."""
    return f"{type(value).__name__} {reprlib.repr(value)}"


@contextmanager
def _opened(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """Open ``path`` for reading, with OS errors turned into messages that name it."""
    try:
        with open(path, "rb") as file:
            yield file
    except FileNotFoundError:
        raise SourceError("checkpoint file does not exist", path=str(path)) from None
    except IsADirectoryError:
        raise SourceError("is a directory, not a checkpoint file", path=str(path)) from None
    except OSError as exc:
        raise SourceError(f"cannot be read ({exc.strerror or exc})", path=str(path)) from exc


def read_checkpoint_file(
    path: str | os.PathLike[str],
) -> tuple[list[TensorInfo], list[tuple[str, str]]]:
    """The tensors and ties of one checkpoint file: ``.safetensors`` from its header alone
    (it records no ties), ``.pt``/``.pth``/``.bin`` with weights_only."""
    if str(path).lower().endswith(".safetensors"):
        return read_safetensors(path), []
    return read_torch_checkpoint(path)


# --- safetensors -------------------------------------------------------------------


def read_safetensors(path: str | os.PathLike[str]) -> list[TensorInfo]:
    """The tensors a ``.safetensors`` file declares, in its header's order.

    Only the 8-byte length and the JSON header are read, never the data section.
    Note that files written by the ``safetensors`` package order their header by
    dtype and name, not by the state dict they were saved from.
    """
    return read_safetensors_header(path).tensors


@dataclass(frozen=True)
class SafetensorsHeader:
    """What a safetensors header declares, and how much of the data section it covers."""

    tensors: list[TensorInfo]
    data_size: int
    covered: int  # bytes of data the tensors span, added up


def read_safetensors_header(path: str | os.PathLike[str]) -> SafetensorsHeader:
    with in_file(str(path)):
        with _opened(path) as file:
            size = os.fstat(file.fileno()).st_size
            header_length = _header_length(file.read(8), size)
            header = _parse_header(file.read(header_length))
        data_size = size - 8 - header_length
        check_names(header, "header")
        tensors, spans = _entries(header, data_size)
        _check_no_overlap(spans)
        return SafetensorsHeader(tensors, data_size, sum(end - begin for begin, end, _ in spans))


def _check_no_overlap(spans: list[tuple[int, int, str]]) -> None:
    """Two tensors may not share data bytes: the safetensors library refuses such a file."""
    previous: tuple[int, int, str] | None = None
    for begin, end, name in sorted(spans):
        if begin == end:
            continue
        if previous is not None and begin < previous[1]:
            raise SourceError(
                f"entries {previous[2]!r} and {name!r} share data bytes (data_offsets "
                f"{list(previous[:2])} and {[begin, end]}); the safetensors library refuses "
                "overlapping tensors: the file is corrupt"
            )
        previous = (begin, end, name)


def _entries(
    header: dict[str, Any], data_size: int
) -> tuple[list[TensorInfo], list[tuple[int, int, str]]]:
    """Every tensor entry, checked, and the bytes each spans (``begin, end, name``).

    The first entry of each dtype and shape goes through the full check
    (``_safetensors_entry``), and so does anything unusual; an entry that repeats a
    checked dtype and shape (a 163-shard checkpoint has 90,000 entries and a few dozen
    shapes) only has its offsets checked here. Both paths accept and refuse the same
    entries: the key holds each dimension's type, so ``true`` or ``2.0`` never pass for
    an int.
    """
    checked: dict[tuple[Any, ...], tuple[tuple[int, ...], str, int | None]] = {}
    tensors: list[TensorInfo] = []
    spans: list[tuple[int, int, str]] = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:  # JSON gives lists, so a str or an object here never matches a checked key
            code, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
            dims, dtype, span = checked[code, tuple(shape), tuple(map(type, shape))]
        except (TypeError, KeyError, ValueError):  # unusual, or not seen: the full check
            info = _safetensors_entry(name, entry, data_size)
            begin, end = entry["data_offsets"]
            known = _SAFETENSORS_DTYPES.get(info_code := entry["dtype"])
            span = math.prod(info.shape) * known[1] if known else None
            types = tuple(map(type, info.shape))
            checked[info_code, info.shape, types] = (info.shape, info.dtype, span)
            tensors.append(info)
            spans.append((begin, end, name))
            continue
        if not (
            type(begin) is int
            and type(end) is int
            and 0 <= begin <= end <= data_size
            and (span is None or end - begin == span)
        ):
            _safetensors_entry(name, entry, data_size)  # raises, naming the problem
        tensors.append(_new_info(TensorInfo, (name, dims, dtype)))
        spans.append((begin, end, name))
    return tensors, spans


_new_info = tuple.__new__  # TensorInfo(...) without its Python-level __new__


def _header_length(prefix: bytes, size: int) -> int:
    if len(prefix) < 8:
        raise SourceError(
            f"is {size} bytes long; a safetensors file starts with an 8-byte header length"
        )
    length = int.from_bytes(prefix, "little")
    if length > _MAX_HEADER_BYTES:
        raise SourceError(
            f"declares a {length}-byte header, more than the {_MAX_HEADER_BYTES} bytes "
            "safetensors allows; it is corrupt or not a safetensors file"
        )
    if length > size - 8:
        raise SourceError(
            f"declares a {length}-byte header but only {size - 8} bytes follow the "
            "header length; it is truncated or not a safetensors file"
        )
    return length


def _parse_header(raw: bytes) -> dict[str, Any]:
    try:
        header = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"header is not UTF-8 text ({exc.reason} at byte {exc.start}); "
            "it is corrupt or not a safetensors file"
        ) from exc
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"header is not valid JSON ({exc.msg} at character {exc.pos}); "
            "it is corrupt or not a safetensors file"
        ) from exc
    except RecursionError:
        raise SourceError(
            "header nests deeper than any safetensors header; it is corrupt or hostile"
        ) from None
    except ValueError as exc:  # an integer of thousands of digits, among others
        raise SourceError(
            f"header cannot be read as JSON ({str(exc)[:80]}); it is corrupt or hostile"
        ) from None
    if not isinstance(header, dict):
        raise SourceError(
            f"header is a JSON {type(header).__name__}, expected an object of tensor names"
        )
    return header


_ENTRY_KEYS = frozenset(("dtype", "shape", "data_offsets"))


def _safetensors_entry(name: str, entry: object, data_size: int) -> TensorInfo:
    if not isinstance(entry, dict):
        raise SourceError(
            f"entry {name!r} is {short_repr(entry)}, expected an object with dtype, shape "
            "and data_offsets"
        )
    if not entry.keys() >= _ENTRY_KEYS:
        key = next(k for k in ("dtype", "shape", "data_offsets") if k not in entry)
        raise SourceError(f"entry {name!r} has no {key!r}")
    code, shape = entry["dtype"], entry["shape"]
    if not isinstance(code, str):
        raise SourceError(f"entry {name!r} has dtype {code!r}, expected a string such as 'F32'")
    if code not in _SAFETENSORS_DTYPES and code not in _SUB_BYTE_DTYPES:
        raise SourceError(
            f"entry {name!r} has dtype {code!r}, which safetensors does not know (one of "
            f"{', '.join([*_SAFETENSORS_DTYPES, *_SUB_BYTE_DTYPES])})"
        )
    if not _is_count_list(shape):
        raise SourceError(
            f"entry {name!r} has shape {shape!r}, expected a list of non-negative integers"
        )
    _check_offsets(name, code, shape, entry["data_offsets"], data_size)
    known = _SAFETENSORS_DTYPES.get(code)
    return TensorInfo(name, tuple(shape), known[0] if known else code.lower())


def _is_count_list(value: object) -> TypeGuard[list[int]]:
    """A list of non-negative ints (JSON ``true`` is a Python int, so bools are refused)."""
    if type(value) is not list:
        return False
    for item in value:  # noqa: SIM110 (a plain loop: twice for each of 90,000 tensors)
        if type(item) is not int or item < 0:
            return False
    return True


def _check_offsets(name: str, code: str, shape: list[int], offsets: object, data_size: int) -> None:
    """Offsets must fit the file and, for dtypes of known width, match the shape."""
    if not _is_count_list(offsets) or len(offsets) != 2 or offsets[0] > offsets[1]:
        raise SourceError(
            f"entry {name!r} has data_offsets {offsets!r}, expected [begin, end] with "
            "0 <= begin <= end"
        )
    begin, end = offsets
    if end > data_size:
        raise SourceError(
            f"entry {name!r} ends at data byte {end} but the file holds only {data_size} "
            "bytes of data; it is truncated"
        )
    known = _SAFETENSORS_DTYPES.get(code)
    width = known[1] if known else 0
    expected = math.prod(shape) * width
    if width and end - begin != expected:
        raise SourceError(
            f"entry {name!r} of shape {shape} and dtype {code} needs {expected} bytes "
            f"but its data_offsets {offsets!r} span {end - begin}"
        )


# --- torch pickles -----------------------------------------------------------------


def read_torch_checkpoint(
    path: str | os.PathLike[str],
) -> tuple[list[TensorInfo], list[tuple[str, str]]]:
    """The tensors and ties of a ``torch.save`` file, as :func:`tensors_of_mapping` gives.

    The file may hold a flat mapping of names to tensors, or a dict with exactly one of
    ``"state_dict"``, ``"model"`` or ``"module"`` holding that mapping, next to plain
    anything else (``"epoch"``, an optimizer state), which is ignored. Anything that is
    not plain weights is refused by ``weights_only=True`` and never runs.
    """
    with in_file(str(path)):
        where, mapping = _state_dict_of(_torch_load(path))
        return tensors_of_mapping(mapping, where=where)


def _torch_load(path: str | os.PathLike[str]) -> Any:
    """``torch.load`` without code execution and without reading tensor bytes.

    Zip checkpoints (every ``torch.save`` since torch 1.6) are memory-mapped onto the
    CPU: no byte of tensor data is read until touched, and tensors saved sharing a
    storage still share it, which ``map_location="meta"`` would lose (meta storages are
    not deduplicated on load). Older torch versions also read every storage before
    moving it to ``meta``. The legacy pre-1.6 format cannot be mapped, so it is loaded
    onto ``meta``: its bytes are read and discarded, and ties in it are not seen.
    """
    torch = require("torch", "torch")
    with _opened(path) as file:
        head = file.read(max(map(len, _COMPRESSED)))
    if not head:
        raise SourceError("is empty, not a torch checkpoint")
    _check_not_compressed(head)
    zipped = head.startswith(_ZIP_MAGIC)
    if zipped:
        _check_pickle_sizes(path)
    location = {"map_location": "cpu", "mmap": True} if zipped else {"map_location": "meta"}
    try:
        # No user code runs in a weights-only load, so every warning is torch's own
        # (TypedStorage deprecation, pickle protocol notices): none may fail a check.
        with all_warnings_ignored():
            return torch.load(os.fspath(path), weights_only=True, **location)
    except pickle.UnpicklingError as exc:
        raise SourceError(
            "was refused by torch.load(weights_only=True): it is not a plain weights "
            f"file and loading it would mean running its pickled code{_refusal(exc)}"
            f"{_whole_model_hint(exc)}"
        ) from exc
    except Exception as exc:  # torch raises many types on foreign or damaged files
        raise SourceError(f"cannot be read as a torch checkpoint ({_describe(exc)})") from exc


def _check_not_compressed(head: bytes) -> None:
    for magic, (kind, tool) in _COMPRESSED.items():
        if head.startswith(magic):
            raise SourceError(
                f"is {kind}-compressed; torch.load reads only the file torch.save wrote: "
                f"decompress it first ({tool})"
            )


def _check_pickle_sizes(path: str | os.PathLike[str]) -> None:
    """Refuse, before loading, a zip whose pickle would inflate beyond any real checkpoint."""
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [info for info in archive.infolist() if info.filename.endswith(".pkl")]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SourceError(f"cannot be read as a torch checkpoint ({_describe(exc)})") from None
    for info in pickles:
        if info.file_size > _MAX_PICKLE_BYTES:
            raise SourceError(
                f"declares a {info.file_size:,}-byte pickle ({info.filename}), more than the "
                f"{_MAX_PICKLE_BYTES:,} bytes of any real state dict; refused unread"
            )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _refusal(exc: BaseException) -> str:
    """The line of torch's long refusal that says what was refused, if there is one."""
    lines = (line.strip() for line in str(exc).splitlines())
    detail = next((line for line in lines if "unsupported" in line.lower()), None)
    if detail is None:
        return ""
    detail = detail.rpartition("WeightsUnpickler error: ")[2]  # torch < 2.4 says it so
    return f" ({detail.split('. ')[0].rstrip('.')})"


def _whole_model_hint(exc: BaseException) -> str:
    """A refused class is most often a whole model saved with ``torch.save(model)``."""
    said = str(exc).lower()  # torch >= 2.4: "unsupported global"; before: "unsupported class"
    if "unsupported global" not in said and "unsupported class" not in said:
        return ""
    return "; if it holds a whole model (torch.save(model)), save model.state_dict() instead"


def _state_dict_of(loaded: object) -> tuple[str, Mapping[Any, Any]]:
    """The mapping of names to tensors in a loaded checkpoint, and what to call it."""
    if not isinstance(loaded, Mapping):
        raise SourceError(f"holds {short_repr(loaded)}, expected a mapping of names to tensors")
    wrappers = [key for key in _WRAPPER_KEYS if isinstance(loaded.get(key), Mapping)]
    if not wrappers:
        return "state_dict", loaded
    if len(wrappers) > 1:
        raise SourceError(f"holds several state dicts {wrappers}, expected one")
    (key,) = wrappers
    # A training checkpoint keeps optimizer state, epochs and the like beside the weights.
    return f"checkpoint[{key!r}]", loaded[key]


# --- in-memory state dicts ----------------------------------------------------------


def tensors_of_mapping(
    mapping: Mapping[str, Any], *, where: str = "state_dict"
) -> tuple[list[TensorInfo], list[tuple[str, str]]]:
    """The tensors of a state-dict-like mapping in its order, and its ties.

    A tie is an ``(alias, target)`` pair: ``alias`` holds the very object ``target``
    holds, or a view of the same storage with the same offset, shape, stride and dtype
    (what ``state_dict()`` gives for ``lm_head.weight = wte.weight``). Aliases are left
    out of the list so that a weight is counted once. Tensors are never copied or moved.
    """
    torch = require("torch", "torch")
    infos: list[TensorInfo] = []
    ties: list[tuple[str, str]] = []
    first_of: dict[tuple[object, ...], str] = {}
    kept: list[object] = []  # holds every value so that no id() is reused while we look
    for key, value in _items(torch, mapping):
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


def _items(torch: Any, mapping: Mapping[str, Any]) -> Iterator[tuple[Any, Any]]:
    """The mapping's entries, a quantized layer's packed weights unpacked."""
    for key, value in mapping.items():
        if not isinstance(key, str) or (
            isinstance(value, torch.Tensor) and PACKED_PARAMS not in key
        ):
            yield key, value
        else:
            yield from unpacked_items(torch, key, value)


def check_item(torch: Any, key: object, value: object, where: str) -> None:
    if not isinstance(key, str):
        raise SourceError(f"{where} has key {key!r} of type {type(key).__name__}, expected str")
    check_name(key, where)
    if not isinstance(value, torch.Tensor):
        raise SourceError(f"{where} key {key!r} holds {short_repr(value)}, expected a tensor")


def check_names(names: Iterable[str], where: str) -> None:
    """``check_name`` for many names; ASCII names (nearly all) in one pass at C speed."""
    names = list(names)
    if not "".join(names).isascii():
        for name in names:
            check_name(name, where)


def check_name(name: str, where: str) -> None:
    """A tensor name must be storable as UTF-8: a lone surrogate (from a mis-decoded byte
    string) is not, so no golden could record it."""
    if not name.isascii():
        try:
            name.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise SourceError(
                f"{where} names a tensor {name!r} holding a lone surrogate "
                f"(U+{ord(name[exc.start]):04X}), which no UTF-8 golden can store"
            ) from None


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

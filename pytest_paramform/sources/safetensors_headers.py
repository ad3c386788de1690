"""Tensor names, shapes and dtypes declared in a ``.safetensors`` file's header.

Only the 8-byte length and the JSON header are read, never the data section, and in pure
Python: a multi-gigabyte file reports in milliseconds, without torch. Files written by the
``safetensors`` package order their header by dtype and name, not by the state dict they
were saved from.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import IO, Any, TypeGuard

from pytest_paramform.errors import SourceError
from pytest_paramform.sources.tensors import TensorInfo, check_names, short_repr

# safetensors refuses headers above 100 MB; anything larger is corrupt or not ours.
_MAX_HEADER_BYTES = 100 * 1024 * 1024
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


@dataclass(frozen=True)
class SafetensorsHeader:
    """What a safetensors header declares, and how much of the data section it covers."""

    tensors: list[TensorInfo]
    covered: int  # bytes of data the tensors span, added up


def read_header(file: IO[bytes]) -> SafetensorsHeader:
    """The header of the open ``file``, every entry checked as the safetensors library
    would (the caller names the file in any error)."""
    size = os.fstat(file.fileno()).st_size
    header_length = _header_length(file.read(8), size)
    header = _parse_header(file.read(header_length))
    data_size = size - 8 - header_length
    check_names(header, "header")
    tensors, spans = _entries(header, data_size)
    _check_no_overlap(spans)
    return SafetensorsHeader(tensors, sum(end - begin for begin, end, _ in spans))


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

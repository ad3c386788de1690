"""A ``torch.save`` file's state dict, loaded with ``torch.load(weights_only=True)``.

A pickle that would run code is refused before anything of it runs, and no tensor data is
read (zip checkpoints are memory-mapped).
"""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_paramform.errors import SourceError
from pytest_paramform.heavy_imports import require
from pytest_paramform.sources.tensors import short_repr
from pytest_paramform.torch_warnings import all_warnings_ignored

# The pickle of a state dict is about 200 bytes a tensor: 256 MiB is over a million tensors.
# A larger one is a pickle built to exhaust memory while it loads, not a checkpoint.
_MAX_PICKLE_BYTES = 256 * 1024 * 1024

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


# The first bytes of a file that tell a compressed one apart.
HEAD_BYTES = max(map(len, _COMPRESSED))


def state_dict_in(path: Path, head: bytes) -> tuple[str, Mapping[Any, Any]]:
    """The mapping of names to tensors that the file at ``path`` holds, and what messages
    call it; ``head`` is the file's first ``HEAD_BYTES``.

    The file may hold a flat mapping of names to tensors, or a dict with exactly one of
    ``"state_dict"``, ``"model"`` or ``"module"`` holding that mapping, next to plain
    anything else (``"epoch"``, an optimizer state), which is ignored. Anything that is
    not plain weights is refused by ``weights_only=True`` and never runs.
    """
    return _state_dict_of(_torch_load(path, head))


def _torch_load(path: Path, head: bytes) -> Any:
    """``torch.load`` without code execution and without reading tensor bytes.

    Zip checkpoints (every ``torch.save`` since torch 1.6) are memory-mapped onto the
    CPU: no byte of tensor data is read until touched, and tensors saved sharing a
    storage still share it, which ``map_location="meta"`` would lose (meta storages are
    not deduplicated on load). Older torch versions also read every storage before
    moving it to ``meta``. The legacy pre-1.6 format cannot be mapped, so it is loaded
    onto ``meta``: its bytes are read and discarded, and ties in it are not seen.
    """
    torch = require("torch", "torch")
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


def _check_pickle_sizes(path: Path) -> None:
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

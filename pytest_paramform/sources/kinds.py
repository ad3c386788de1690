"""What kind of source a value is: decided here, once, before anything is read.

A spec string has been resolved to the object it names before (``specs.py``): a string
here is a path or nothing readable. A path names a checkpoint by its suffix (the disk is
not read) or as a folder; any other object is a state_dict-like mapping, a module or a
factory. torch is imported only to tell those objects apart, never for a string or a path.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from pytest_paramform.heavy_imports import require
from pytest_paramform.report import ParamFormReport
from pytest_paramform.sources.specs import FORMS, is_spec

FILE_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")  # a checkpoint in one file
INDEX_SUFFIXES = (".safetensors.index.json", ".bin.index.json")
CHECKPOINT_SUFFIXES = (*FILE_SUFFIXES, *INDEX_SUFFIXES)
ACCEPTED = (
    "an nn.Module, a factory that returns one (a model class, a function such as "
    f"torchvision.models.resnet50, or a lambda), a spec ({FORMS}), a state_dict, or a "
    f"checkpoint path ({', '.join(FILE_SUFFIXES)}, an index or a save_pretrained folder)"
)


class Kind(enum.Enum):
    REPORT = "a report, taken as it is"
    TEXT = "a string of no source's form (the CLI reads it as a golden file)"
    CHECKPOINT = "a checkpoint file"
    INDEX = "a sharded checkpoint's index"
    FOLDER = "a folder, read as save_pretrained writes one"
    MAPPING = "a state_dict-like mapping"
    MODULE = "an nn.Module"
    FACTORY = "a callable that builds a module"
    UNKNOWN = "nothing paramform reads"


PATHS = frozenset((Kind.CHECKPOINT, Kind.INDEX, Kind.FOLDER))
TENSORS = PATHS | {Kind.MAPPING}  # tensors without a model: nothing to run a forward pass on


class Located(NamedTuple):
    """A source's kind, and the source as it is read (a path found under the rootdir)."""

    kind: Kind
    source: Any


def classify(source: object, root: Path | None = None) -> Located:
    """The kind of ``source``; with ``root`` (the fixture's rootdir), a relative checkpoint
    path or folder found there is read from there, wherever pytest runs."""
    if root is not None:
        source = _at_root(source, root)
    return Located(kind_of(source), source)


def kind_of(source: object) -> Kind:
    """The kind of ``source`` as it stands (no rootdir)."""
    if isinstance(source, ParamFormReport):
        return Kind.REPORT
    path = _path_kind(source)
    if path is not None:
        return path
    return Kind.TEXT if isinstance(source, str) else _object_kind(source)


def is_checkpoint_path(obj: object) -> bool:
    """Whether ``obj`` names a checkpoint file by its suffix (the disk is not touched)."""
    if not isinstance(obj, str | os.PathLike):
        return False
    return os.fsdecode(os.fspath(obj)).lower().endswith(CHECKPOINT_SUFFIXES)


def reads_checkpoint(source: object) -> bool:
    """Whether ``source`` is read as a checkpoint: a checkpoint file, an index or a
    ``save_pretrained`` folder, named by a path; a spec string never is, whatever the disk
    holds under that name (``./torchvision:x`` is a path)."""
    if isinstance(source, str) and is_spec(source):
        return False
    return _path_kind(source) is not None


def describe(obj: Any) -> str:
    """A value for a message: its type and a repr cut to 60 characters."""
    text = repr(obj)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{type(obj).__name__} {text}"


def _path_kind(source: object) -> Kind | None:
    # A folder first, whatever its name: save_pretrained may write into ``model.pt/``.
    if isinstance(source, str | os.PathLike) and Path(source).is_dir():
        return Kind.FOLDER
    if not is_checkpoint_path(source):
        return None
    assert isinstance(source, str | os.PathLike)
    index = os.fsdecode(os.fspath(source)).lower().endswith(INDEX_SUFFIXES)
    return Kind.INDEX if index else Kind.CHECKPOINT


def _object_kind(source: object) -> Kind:
    torch = require("torch", "torch")
    if isinstance(source, Mapping):
        return Kind.MAPPING
    if isinstance(source, torch.nn.Module):
        return Kind.MODULE
    if callable(source) and not isinstance(source, torch.Tensor):
        return Kind.FACTORY
    return Kind.UNKNOWN


def _at_root(source: object, root: Path) -> object:
    """A relative path that names a checkpoint or folder under ``root``, made absolute;
    any other source is left as it is."""
    if not isinstance(source, str | os.PathLike) or Path(source).is_absolute():
        return source
    at_root = root / source
    return at_root if _path_kind(at_root) is not None else source

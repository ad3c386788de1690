"""The report of a source that holds tensors and no model: a state_dict-like mapping, a
checkpoint file, a sharded checkpoint's index or a ``save_pretrained`` folder.

Every saved tensor is a row (buffers included); a name that holds an earlier name's tensor
is an alias. The readers are ``checkpoints.py`` (one file, a mapping) and ``sharded.py``
(an index, a folder).
"""

from __future__ import annotations

from itertools import repeat
from operator import attrgetter
from pathlib import Path
from typing import Any

from pytest_paramform.gc_pause import gc_paused
from pytest_paramform.report import Alias, ParamFormReport, ParamRow
from pytest_paramform.sources.checkpoints import (
    TensorInfo,
    read_checkpoint_file,
    tensors_of_mapping,
)
from pytest_paramform.sources.kinds import Kind
from pytest_paramform.sources.sharded import read_folder, read_sharded
from pytest_paramform.sources.wrappers import WRAPPER_PREFIXES

Ties = list[tuple[str, str]]


def read_tensors(kind: Kind, source: Any, name: str | None, *, dtype: bool) -> ParamFormReport:
    """The report of a mapping, or of a checkpoint named by a path (``kind`` says which)."""
    if kind is Kind.MAPPING:
        tensors, ties = tensors_of_mapping(source)
        return report_of_tensors(tensors, ties, name or "state_dict", dtype=dtype)
    with gc_paused():  # no user code runs while a checkpoint is read
        tensors, ties, label = _read(kind, Path(source))
        return report_of_tensors(tensors, ties, name or label, dtype=dtype)


def _read(kind: Kind, path: Path) -> tuple[list[TensorInfo], Ties, str]:
    """A checkpoint's tensors, ties and default name: a folder is named after itself, an
    index after its folder, a file after its name before the first dot."""
    if kind is Kind.FOLDER:
        return (*read_folder(path), path.absolute().name)
    if kind is Kind.INDEX:
        return (*read_sharded(path), path.absolute().parent.name)
    return (*read_checkpoint_file(path), path.name.split(".")[0])


def report_of_tensors(
    tensors: list[TensorInfo], ties: Ties, name: str, *, dtype: bool
) -> ParamFormReport:
    """A checkpoint's report: every saved tensor is a row (buffers included).

    A prefix that a wrapper put on every name (``module.``, ``_orig_mod.``) is dropped, as
    :func:`~pytest_paramform.sources.wrappers.unwrap` does for a live model.
    """
    tensors, ties = _strip_wrapper_prefix(tensors, ties)
    shapes = map(attrgetter("shape"), tensors)
    kinds = map(attrgetter("dtype"), tensors) if dtype else repeat(None)
    keys = zip(shapes, repeat(False), kinds)  # (shape, frozen, dtype): its own fields
    rows = tuple(ParamRow.trusted_rows(map(attrgetter("name"), tensors), keys, _fields))
    aliases = tuple(Alias(alias, target) for alias, target in ties)
    return ParamFormReport(name, rows, aliases, None, "checkpoint")


def _fields(key: Any) -> tuple[tuple[int, ...], bool, str | None]:
    return key  # type: ignore[no-any-return]


def _strip_wrapper_prefix(tensors: list[TensorInfo], ties: Ties) -> tuple[list[TensorInfo], Ties]:
    names = [t.name for t in tensors] + [n for tie in ties for n in tie]
    for prefix in WRAPPER_PREFIXES:
        if names and all(n.startswith(prefix) for n in names):
            cut = len(prefix)
            tensors = [t._replace(name=t.name[cut:]) for t in tensors]
            ties = [(a[cut:], b[cut:]) for a, b in ties]
            return _strip_wrapper_prefix(tensors, ties)
    return tensors, ties

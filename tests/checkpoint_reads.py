"""Reading one checkpoint file or index the way the front door reads it, for tests that
look at a reader's tensors and ties rather than at a report."""

from __future__ import annotations

import os

from pytest_paramform.sources.checkpoints import read
from pytest_paramform.sources.kinds import INDEX_SUFFIXES, Kind
from pytest_paramform.sources.tensors import TensorInfo, Ties


def read_file(path: str | os.PathLike[str]) -> tuple[list[TensorInfo], Ties]:
    """The tensors and ties of one checkpoint file or index, read by its suffix (whatever
    the disk holds: a folder is refused as a file)."""
    index = os.fsdecode(os.fspath(path)).lower().endswith(INDEX_SUFFIXES)
    tensors, ties, _ = read(Kind.INDEX if index else Kind.CHECKPOINT, path)
    return tensors, ties

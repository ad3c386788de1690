"""A checkpoint's tensors, read as a stream of parts, each step in a module of its own:
which files hold it (``layouts.py``), each file read into its tensors
(``checkpoint_files.py``: a safetensors header, or a state dict's entries through
``state_dicts.py``, packed quantized weights unpacked by ``quantized_state_dicts.py``), and
the parts put together against the index (``shards.py``).

Tensor data is never read: a multi-gigabyte checkpoint reports in milliseconds.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from pytest_paramform.gc_pause import gc_paused
from pytest_paramform.sources.checkpoint_files import loaded
from pytest_paramform.sources.kinds import Kind
from pytest_paramform.sources.layouts import layout_of
from pytest_paramform.sources.shards import joined
from pytest_paramform.sources.tensors import TensorInfo, Ties


def read(kind: Kind, source: Any) -> tuple[list[TensorInfo], Ties, str]:
    """The tensors, ties and default name of a mapping, a checkpoint file, an index or a
    folder (``kind`` says which)."""
    # No user code runs while a file is read; a mapping may be the user's own class.
    with nullcontext() if kind is Kind.MAPPING else gc_paused():
        layout = layout_of(kind, source)
        return (*joined(layout, loaded(layout)), layout.label)


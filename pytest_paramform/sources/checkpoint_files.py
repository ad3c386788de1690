"""Each file of a checkpoint read by its suffix: a ``.safetensors`` file from its header
alone (``safetensors_headers.py``), a ``.pt``, ``.pth`` or ``.bin`` file through
``torch.load(weights_only=True)`` (``torch_pickles.py``). Files are read one at a time, as
the parts are asked for, each read into its tensors before the next is opened; an error
names the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from pytest_paramform.errors import SourceError, in_file
from pytest_paramform.sources.layouts import Layout
from pytest_paramform.sources.safetensors_headers import read_header
from pytest_paramform.sources.state_dicts import part_of
from pytest_paramform.sources.tensors import Part
from pytest_paramform.sources.torch_pickles import HEAD_BYTES, state_dict_in


def loaded(layout: Layout) -> Iterator[Part]:
    """The layout's parts in order, each read into its tensors: a safetensors file's from
    its header, a torch file's or an in-memory state dict's from its entries
    (``state_dicts.py``)."""
    for path in layout.files:
        yield _loaded(path, layout)
    if layout.mapping is not None:  # a layout has files or a mapping, never both
        yield part_of(None, "state_dict", layout.mapping.items())


def _loaded(path: Path, layout: Layout) -> Part:
    if layout.index is not None and not path.is_file():
        missing = f"names the shard {path.name}, which is missing"
        raise SourceError(missing, path=str(layout.index.path))
    with _opened(path) as file, in_file(str(path)):
        if path.name.lower().endswith(".safetensors"):
            header = read_header(file)
            return Part(path, "header", header.tensors, [], header.covered)
        where, mapping = state_dict_in(path, file.read(HEAD_BYTES))
        return part_of(path, where, mapping.items())


@contextmanager
def _opened(path: Path) -> Iterator[IO[bytes]]:
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

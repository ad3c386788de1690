"""Tensors without a model: what every checkpoint reader gives, and the report made of it.

A reader gives each file's (or in-memory state dict's) tensors as ``TensorInfo``s and the
ties among them. Every saved tensor is a row (buffers included); a name that holds an
earlier name's tensor is an alias.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable
from itertools import repeat
from operator import attrgetter
from pathlib import Path
from typing import NamedTuple

from pytest_paramform.errors import SourceError
from pytest_paramform.report import Alias, ParamFormReport, ParamRow
from pytest_paramform.sources.wrappers import WRAPPER_PREFIXES

Ties = list[tuple[str, str]]  # (alias, target): the alias holds the target's tensor


class TensorInfo(NamedTuple):
    """One named tensor as a checkpoint declares it; ``dtype`` is torch's name without
    the ``torch.`` prefix (``"float32"``, ``"bfloat16"``). A named tuple: a sharded
    checkpoint makes 90,000 of them."""

    name: str
    shape: tuple[int, ...]
    dtype: str


class Part(NamedTuple):
    """One file of a checkpoint, or an in-memory state dict, read into its tensors."""

    path: Path | None  # None for a state dict passed in memory
    where: str  # what messages call the mapping: "state_dict", "checkpoint['model']"
    tensors: list[TensorInfo]
    ties: Ties
    covered: int | None = None  # bytes of data the tensors span, when the file says


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
    rows = tuple(ParamRow.trusted_rows(map(attrgetter("name"), tensors), keys))
    aliases = tuple(Alias(alias, target) for alias, target in ties)
    return ParamFormReport(name, rows, aliases, None, "checkpoint")


def _strip_wrapper_prefix(tensors: list[TensorInfo], ties: Ties) -> tuple[list[TensorInfo], Ties]:
    names = [t.name for t in tensors] + [n for tie in ties for n in tie]
    for prefix in WRAPPER_PREFIXES:
        if names and all(n.startswith(prefix) for n in names):
            cut = len(prefix)
            tensors = [t._replace(name=t.name[cut:]) for t in tensors]
            ties = [(a[cut:], b[cut:]) for a, b in ties]
            return _strip_wrapper_prefix(tensors, ties)
    return tensors, ties


def dotted(prefix: str, name: str) -> str:
    """``prefix.name``, or ``name`` alone under the model itself (prefix "")."""
    return f"{prefix}.{name}" if prefix else name


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


def short_repr(value: object) -> str:
    """A bounded description of a value for messages: a checkpoint value can be huge."""
    return f"{type(value).__name__} {reprlib.repr(value)}"

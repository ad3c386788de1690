"""The front door of every source: :func:`load` resolves a spec string to the object it
names (``specs.py``), decides what the source is, once (``kinds.py``), and hands it to the
module that reads that kind: ``checkpoints.py`` for a mapping or a checkpoint (its rows
made by ``tensors.py``), ``modules.py`` for a module or a factory (built without weights
by ``building/``).

torch is imported when a source is read, never when this module is imported, so that
loading the plugin costs nothing for test suites that never take a snapshot.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from pytest_paramform.errors import SourceError
from pytest_paramform.forward_report import DEFAULT_DEPTH, parse_inputs
from pytest_paramform.report import ParamFormReport
from pytest_paramform.sources import checkpoints, factories, modules, tensors
from pytest_paramform.sources.kinds import ACCEPTED, TENSORS, Kind, classify, describe
from pytest_paramform.sources.specs import FORMS, resolve
from pytest_paramform.torch_warnings import internal_warnings_ignored

if TYPE_CHECKING:
    from torch import nn


class LoadOptions(TypedDict, total=False):
    """:func:`load_with_model`'s keywords, which :func:`load` takes as they are."""

    name: str | None
    buffers: bool
    dtype: bool
    inputs: object
    depth: int
    root: Path | None


def load(source: Any, **options: Unpack[LoadOptions]) -> ParamFormReport:
    """The report of any source: a report as it is (renamed by ``name``), a spec string, a
    checkpoint path (relative ones found under ``root`` first), a state_dict, a module or
    a factory; see :func:`build_report` for the rest."""
    return load_with_model(source, **options)[0]


def load_with_model(
    source: Any,
    *,
    name: str | None = None,
    buffers: bool = False,
    dtype: bool = False,
    inputs: object = None,
    depth: int = DEFAULT_DEPTH,
    root: Path | None = None,
) -> tuple[ParamFormReport, nn.Module | None]:
    """:func:`load`, and the module read or built (None for a source without a model): the
    other side of a comparison may have to be read the way that model loads a checkpoint."""
    # Outside the filter: a spec imports the user's module, and its warnings (or ours
    # about the spec, such as code shipped beside a config) are the user's to see.
    source, default = resolve(source, root)
    named = default is not None  # by a spec: what it names is taken as it is, not as text
    kind, source = classify(source, None if named else root)
    if kind is Kind.REPORT and not named:
        return (source if name is None else replace(source, name=name)), None
    if kind is Kind.TEXT and not named:
        raise SourceError(f"cannot read model spec {source!r}: expected {FORMS}")
    name = name or default
    with internal_warnings_ignored():
        forward = None if inputs is None else parse_inputs(inputs, "build_report(inputs=...)")
        if kind in TENSORS and forward is None:
            found, ties, label = checkpoints.read(kind, source)
            return tensors.report_of_tensors(found, ties, name or label, dtype=dtype), None
        if kind is Kind.FACTORY:
            source, default = factories.build(source)
            kind, name = Kind.MODULE, name or default
        if kind is Kind.MODULE:
            report = modules.read_model(
                source, name, buffers=buffers, dtype=dtype, inputs=forward, depth=depth
            )
            return report, source
    if kind in TENSORS:
        raise SourceError(
            f"inputs need a model to run, and {describe(source)} holds tensors only; "
            "pass the model (or its factory) to record a forward pass"
        )
    raise SourceError(f"cannot take a report of {describe(source)}: expected {ACCEPTED}")


def build_report(
    source: Any,
    name: str | None = None,
    *,
    buffers: bool = False,
    dtype: bool = False,
    inputs: object = None,
    depth: int = DEFAULT_DEPTH,
) -> ParamFormReport:
    """The report of a module, a factory (built without weights), a spec string as the CLI
    takes (``torchvision:NAME``, ``hf:PATH``, ``package.module:callable``), a
    state_dict-like mapping, or a checkpoint (a file, an index or a ``save_pretrained``
    folder). ``buffers`` and ``dtype`` record more than the seed; ``inputs`` (a shape, a
    mapping of keyword to shape or (shape, dtype), or a callable) adds one forward pass on
    ``meta`` (modules down to ``depth``).

    Warnings torch raises about its own internals meanwhile are ignored; the user's code
    (a factory's body) still answers to the user's warning filters."""
    return load(source, name=name, buffers=buffers, dtype=dtype, inputs=inputs, depth=depth)

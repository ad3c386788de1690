"""What a command-line argument names: a golden file, a checkpoint, or a model spec."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Unpack

from pytest_paramform import formats, sources
from pytest_paramform.errors import ModelCodeError, ParamFormError, SourceError
from pytest_paramform.files import read_text
from pytest_paramform.gc_pause import gc_paused
from pytest_paramform.report import ParamFormReport
from pytest_paramform.sources import LoadOptions, kinds
from pytest_paramform.sources.hf_loading import both_as_loaded
from pytest_paramform.sources.specs import is_spec


def kind_of(spec: str) -> str:
    """``model`` (a spec), ``checkpoint`` (a checkpoint file, an index, a
    ``save_pretrained`` folder) or ``golden`` (a .yaml or .md file, or any other file
    written as a path), from the argument's form."""
    if is_spec(spec):
        return "model"
    kind = kinds.kind_of(spec)
    if kind in kinds.PATHS:
        return "checkpoint"
    if kind is kinds.Kind.TEXT and (formats.for_file(spec) is not None or Path(spec).is_file()):
        return "golden"
    return "model"


def load_golden(path: Path) -> ParamFormReport:
    """A golden in the format its suffix names; any other suffix is read as YAML."""
    if not path.is_file():
        raise SourceError("no such golden file", path=str(path))
    fmt = formats.for_file(path.name) or formats.get("yaml")
    with gc_paused():
        return fmt.parse(read_text(path), path=str(path))


def load_with_model(spec: str, **options: Unpack[LoadOptions]) -> tuple[ParamFormReport, Any]:
    """The report behind any argument the commands accept, recorded as ``options`` say
    (``inputs`` records a forward pass of a model; a golden holds what it holds), and the
    module built for a model spec (else None): the other side of a comparison may have to
    be read the way that model loads a checkpoint."""
    if kind_of(spec) == "golden":
        return load_golden(Path(spec)), None
    with _the_models_code(spec):
        return sources.load_with_model(spec, **options)


@contextmanager
def _the_models_code(spec: str) -> Iterator[None]:
    """An exception from the model's own code (or the library it calls) is bad input
    naming the spec, not a crash of paramform's."""
    try:
        yield
    except ParamFormError:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ModelCodeError(
            f"the model's code raised {type(exc).__name__}{': ' if first else ''}{first}",
            path=spec,
        ) from exc


def load_pair(
    first: str, second: str, **options: Unpack[LoadOptions]
) -> tuple[ParamFormReport, ParamFormReport]:
    """Both sides, recorded as ``options`` say; a checkpoint set against a Hugging Face
    model is read as that model loads it (renamed and fused by transformers' own rules).
    ``inputs`` records a forward pass of each side that is a model."""
    (one, model_one), (two, model_two) = (
        load_with_model(spec, **options) for spec in (first, second)
    )
    return both_as_loaded(one, two, (model_one, model_two))

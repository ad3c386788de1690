"""What a command-line argument names: a golden file, a checkpoint, or a model spec."""

from __future__ import annotations

from pathlib import Path

from pytest_paramform import formats
from pytest_paramform.errors import ModelCodeError, ParamFormError, SourceError
from pytest_paramform.files import read_text
from pytest_paramform.forward_report import DEFAULT_DEPTH, InputSpec
from pytest_paramform.gc_pause import gc_paused
from pytest_paramform.report import ParamFormReport
from pytest_paramform.sources import build_report, reads_checkpoint
from pytest_paramform.specs import is_spec


def kind_of(spec: str) -> str:
    """``model`` (a spec), ``checkpoint`` (a checkpoint file, an index, a
    ``save_pretrained`` folder) or ``golden`` (a .yaml or .md file, or any other file
    written as a path), from the argument's form."""
    if is_spec(spec):
        return "model"
    if reads_checkpoint(spec):
        return "checkpoint"
    if formats.for_file(spec) is not None or Path(spec).is_file():
        return "golden"
    return "model"


def load_golden(path: Path) -> ParamFormReport:
    """A golden in the format its suffix names; any other suffix is read as YAML."""
    if not path.is_file():
        raise SourceError("no such golden file", path=str(path))
    fmt = formats.for_file(path.name) or formats.get("yaml")
    with gc_paused():
        return fmt.parse(read_text(path), path=str(path))


def load_report(
    spec: str,
    *,
    buffers: bool = False,
    dtype: bool = False,
    inputs: InputSpec | None = None,
    depth: int = DEFAULT_DEPTH,
) -> ParamFormReport:
    """The report behind any argument the commands accept; ``inputs`` records a forward
    pass of a model (a golden holds what it holds)."""
    if kind_of(spec) == "golden":
        return load_golden(Path(spec))
    try:
        return build_report(spec, buffers=buffers, dtype=dtype, inputs=inputs, depth=depth)
    except ParamFormError:
        raise
    except Exception as exc:  # the model's code (or the library it calls) gave up
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ModelCodeError(
            f"the model's code raised {type(exc).__name__}{': ' if first else ''}{first}",
            path=spec,
        ) from exc

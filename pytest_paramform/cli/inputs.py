"""What a command-line argument names: a golden file, a checkpoint, or a model spec."""

from __future__ import annotations

from pathlib import Path

from pytest_paramform import formats
from pytest_paramform.checkpoints import is_checkpoint_path
from pytest_paramform.errors import SourceError
from pytest_paramform.files import read_text
from pytest_paramform.forward_report import DEFAULT_DEPTH, InputSpec
from pytest_paramform.gc_pause import gc_paused
from pytest_paramform.report import ParamFormReport
from pytest_paramform.sources import build_report
from pytest_paramform.specs import resolve


def kind_of(spec: str) -> str:
    """``checkpoint`` (a checkpoint file, an index, a ``save_pretrained`` folder),
    ``golden`` or ``model``, from the argument's form."""
    if is_checkpoint_path(spec) or Path(spec).is_dir():
        return "checkpoint"
    if formats.for_file(spec) is not None:
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
    kind = kind_of(spec)
    if kind == "golden":
        return load_golden(Path(spec))
    if kind == "checkpoint" and inputs is None:
        with gc_paused():  # no user code runs while a checkpoint is read
            return build_report(spec, dtype=dtype)
    if kind == "checkpoint":
        return build_report(spec, inputs=inputs)  # an error: tensors have no forward
    source, name = resolve(spec)
    return build_report(
        source, name=name, buffers=buffers, dtype=dtype, inputs=inputs, depth=depth
    )

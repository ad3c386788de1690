"""What a command-line argument names: a golden file, a checkpoint, or a model spec."""

from __future__ import annotations

from pathlib import Path

from pytest_paramform.checkpoints import is_checkpoint_path
from pytest_paramform.errors import SourceError
from pytest_paramform.golden_io import read_text
from pytest_paramform.report import ParamFormReport
from pytest_paramform.sources import build_report
from pytest_paramform.specs import resolve

YAML_SUFFIXES = (".yaml", ".yml")
MARKDOWN_SUFFIXES = (".md",)


def kind_of(spec: str) -> str:
    """``golden``, ``checkpoint`` or ``model``, from the argument's form alone."""
    lower = spec.lower()
    if lower.endswith(YAML_SUFFIXES + MARKDOWN_SUFFIXES):
        return "golden"
    if is_checkpoint_path(spec):
        return "checkpoint"
    return "model"


def load_golden(path: Path) -> ParamFormReport:
    if not path.is_file():
        raise SourceError("no such golden file", path=str(path))
    text = read_text(path)
    if path.name.lower().endswith(MARKDOWN_SUFFIXES):
        return ParamFormReport.from_markdown(text, path=str(path))
    return ParamFormReport.from_yaml(text, path=str(path))


def load_report(spec: str, *, buffers: bool = False, dtype: bool = False) -> ParamFormReport:
    """The report behind any argument the commands accept."""
    kind = kind_of(spec)
    if kind == "golden":
        return load_golden(Path(spec))
    if kind == "checkpoint":
        return build_report(spec, dtype=dtype)
    source, name = resolve(spec)
    return build_report(source, name=name, buffers=buffers, dtype=dtype)

"""pytest-paramform: guard the parameter architecture of PyTorch models in CI.

The public names load on first use (PEP 562), so importing the package, as pytest does for
every run through the plugin entry point, costs next to nothing and never imports torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_paramform.comparison.core import compare, render_drift
    from pytest_paramform.comparison.strictness import CompareOptions
    from pytest_paramform.errors import (
        DownloadRefused,
        GoldenError,
        MissingExtraError,
        ParamFormError,
        SourceError,
    )
    from pytest_paramform.formats import from_markdown, from_yaml, to_markdown, to_yaml
    from pytest_paramform.report import Alias, ParamFormReport, ParamRow
    from pytest_paramform.sources import build_report
    from pytest_paramform.sources.building.empty import empty_weights
    from pytest_paramform.sources.hf_loading import as_loaded_by

_HOMES = {
    "Alias": "report",
    "CompareOptions": "comparison.strictness",
    "DownloadRefused": "errors",
    "Drift": "comparison",
    "GoldenError": "errors",
    "MissingExtraError": "errors",
    "ParamFormError": "errors",
    "ParamFormReport": "report",
    "ParamRow": "report",
    "SourceError": "errors",
    "as_loaded_by": "sources.hf_loading",
    "build_report": "sources",
    "compare": "comparison",
    "empty_weights": "sources.building.empty",
    "from_markdown": "formats",
    "from_yaml": "formats",
    "render_drift": "comparison",
    "to_markdown": "formats",
    "to_yaml": "formats",
}
__all__ = [
    "Alias",
    "CompareOptions",
    "DownloadRefused",
    "Drift",
    "GoldenError",
    "MissingExtraError",
    "ParamFormError",
    "ParamFormReport",
    "ParamRow",
    "SourceError",
    "as_loaded_by",
    "build_report",
    "compare",
    "empty_weights",
    "from_markdown",
    "from_yaml",
    "render_drift",
    "to_markdown",
    "to_yaml",
]
__version__ = "0.2.0.dev0"


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'pytest_paramform' has no attribute {name!r}")
    return getattr(importlib.import_module(f"pytest_paramform.{_HOMES[name]}"), name)

"""pytest-paramform: guard the parameter architecture of PyTorch models in CI.

Importing this package never imports torch; the adapters import it when first called.
"""

from pytest_paramform.empty import empty_weights
from pytest_paramform.errors import GoldenError, MissingExtraError, ParamFormError, SourceError
from pytest_paramform.report import ParamFormReport, ParamRow
from pytest_paramform.sources import build_report

__all__ = [
    "GoldenError",
    "MissingExtraError",
    "ParamFormError",
    "ParamFormReport",
    "ParamRow",
    "SourceError",
    "build_report",
    "empty_weights",
]
__version__ = "0.1.0"

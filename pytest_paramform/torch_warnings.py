"""Warnings that torch, torchvision (and matplotlib) raise about their own internals.

Many suites run with warnings as errors. A deprecation notice raised inside torch while we
load a checkpoint or build a model (``TypedStorage is deprecated``, ``torch.meshgrid``
without ``indexing=``, the lazy-module notice) is not the user's to fix, so it must not fail
their check. Warnings raised by the user's own code still follow the user's filters.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

# Matched against the module a warning is attributed to (its ``module`` filter field).
INTERNAL_MODULES = r"(torch|torchvision|pytest_paramform)(\.|$)"
# matplotlib draws our charts; its notices (pyparsing deprecations in older releases) are
# no more the user's than torch's.
CHART_MODULES = r"(matplotlib|pyparsing|PIL)(\.|$)"


@contextmanager
def internal_warnings_ignored(modules: str = INTERNAL_MODULES) -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=modules)
        yield


@contextmanager
def all_warnings_ignored() -> Iterator[None]:
    """For calls that run no user code at all, such as ``torch.load(weights_only=True)``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield

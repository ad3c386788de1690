"""Optional and heavy dependencies, imported only when a feature needs them."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from pytest_paramform.errors import MissingExtraError


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or say which extra of pytest-paramform installs it.

    Called once per parameter while a model is built, so an imported module is
    returned straight from ``sys.modules``.
    """
    loaded = sys.modules.get(module)
    if loaded is not None:
        return loaded
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{module} is needed for this but is not installed ({exc}); "
            f"install it with: pip install 'pytest-paramform[{extra}]'"
        ) from exc

"""Optional and heavy dependencies, imported only when a feature needs them."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from pytest_paramform.errors import MissingExtraError

# torch is a requirement, not an extra: an environment lacks it after `pip install
# --no-deps` or in an image that left it out. The CPU-only wheel is the small one.
TORCH_INSTALL = (
    "pip install torch "
    "(CPU-only, without CUDA: pip install torch --index-url https://download.pytorch.org/whl/cpu)"
)
INSTALL = {"torch": TORCH_INSTALL}


def install_command(extra: str) -> str:
    """What installs ``extra``: one of pytest-paramform's extras, or pip itself."""
    return INSTALL.get(extra, f"pip install 'pytest-paramform[{extra}]'")


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or say what installs it (``extra``: an extra of pytest-paramform,
    or a key of ``INSTALL``).

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
            f"install it with: {install_command(extra)}"
        ) from exc

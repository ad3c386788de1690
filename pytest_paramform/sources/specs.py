"""Model specs, the strings the CLI and the fixture accept for a model: ``torchvision:NAME``,
``hf:PATH`` (a transformers config) and ``package.module:callable``.

A spec is resolved before anything else is decided about a source: it names an object
(a factory, mostly), and that object's kind is then decided once, in ``kinds.py``.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from pytest_paramform.errors import SourceError
from pytest_paramform.heavy_imports import require
from pytest_paramform.sources import hf_configs

TORCHVISION = "torchvision"
FORMS = "torchvision:NAME, hf:PATH (a config.json or its folder) or package.module:callable"
_DOTTED_NAME = re.compile(r"[^\W\d]\w*(\.[^\W\d]\w*)*")


def is_spec(text: str) -> bool:
    """Whether ``text`` has a spec's form, ``prefix:rest`` with a dotted name before the
    colon. Such a string names a model even where a file or folder of that name exists;
    written as a path (``./torchvision:x``) it names the file. ``C:/x`` is a path."""
    prefix, sep, rest = text.partition(":")
    drive = len(prefix) == 1 and rest[:1] in ("/", "\\")
    return bool(sep and rest and _DOTTED_NAME.fullmatch(prefix)) and not drive


def _closest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
    return f"; did you mean {', '.join(close)}?" if close else ""


def torchvision_factory(name: str) -> Callable[[], Any]:
    """The builder for ``name`` with no weights and no pretrained backbone: nothing downloads."""
    models = require("torchvision.models", "torchvision")
    known = sorted(models.list_models())
    if name not in known:
        raise SourceError(
            f"unknown torchvision model {name!r}{_closest(name, known)} "
            f"(all {len(known)} names: torchvision.models.list_models())"
        )
    builder = models.get_model_builder(name)
    params = inspect.signature(builder).parameters
    kwargs: dict[str, Any] = {k: None for k in ("weights", "weights_backbone") if k in params}
    if "init_weights" in params:  # googlenet, inception_v3: silences a warning about init
        kwargs["init_weights"] = False
    return partial(builder, **kwargs)


def _import_attr(module_name: str, attr_path: str, spec: str) -> Any:
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise SourceError(f"cannot import {module_name!r} for spec {spec!r}: {exc}") from exc
    for part in attr_path.split("."):
        if not hasattr(obj, part):
            public = [n for n in dir(obj) if not n.startswith("_")]
            raise SourceError(
                f"{spec!r}: {type(obj).__name__} {getattr(obj, '__name__', '')!r} has no "
                f"attribute {part!r}{_closest(part, public)}"
            )
        obj = getattr(obj, part)
    return obj


def resolve(source: object, root: Path | None = None) -> tuple[Any, str | None]:
    """The object a spec string names and the report name it gets by default; any other
    source as it is, with no name. With ``root`` (the fixture's rootdir), an ``hf:``
    config found there is read from there, wherever pytest runs."""
    if not isinstance(source, str) or not is_spec(source):
        return source, None
    module_name, _, attr_path = source.partition(":")
    if module_name == TORCHVISION:
        return torchvision_factory(attr_path), attr_path
    if module_name == hf_configs.PREFIX:
        return hf_configs.hf_factory(_at_root(attr_path, root))
    return _import_attr(module_name, attr_path, source), attr_path.rsplit(".", 1)[-1]


def _at_root(path: str, root: Path | None) -> str:
    if root is None or Path(path).is_absolute() or not (root / path).exists():
        return path
    return str(root / path)

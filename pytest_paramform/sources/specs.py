"""Model specs, the strings the CLI and the fixture accept for a model: ``torchvision:NAME``,
``hf:PATH`` (a transformers config) and ``package.module:callable``."""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable
from functools import partial
from typing import Any

from pytest_paramform.errors import SourceError
from pytest_paramform.heavy_imports import require
from pytest_paramform.sources import hf_configs

TORCHVISION = "torchvision"


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


def resolve(spec: str) -> tuple[Any, str]:
    """The source object a spec names, and the report name it gets by default. ``spec``
    has a spec's form (``kinds.is_spec``): the front door refuses any other string."""
    module_name, _, attr_path = spec.partition(":")
    if module_name == TORCHVISION:
        return torchvision_factory(attr_path), attr_path
    if module_name == hf_configs.PREFIX:
        return hf_configs.hf_factory(attr_path)
    return _import_attr(module_name, attr_path, spec), attr_path.rsplit(".", 1)[-1]

"""``hf:PATH``: a Hugging Face transformers model built from its ``config.json`` alone.

PATH is a folder as ``save_pretrained`` writes it, or the JSON file itself. The class is
the one the config's ``architectures`` names, else the ``AutoModel`` for its
``model_type``; it is built as ``AutoModel.from_config`` builds it (the config's dtype,
weights tied as transformers ties them), without weights and offline. Code shipped beside
a config (``auto_map``, ``trust_remote_code``) is never run: a config that names a class
transformers has is built as transformers builds it without remote code, with a
:class:`ShippedCodeIgnored` warning; one that names only shipped code is an error.
"""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_paramform.errors import SourceError
from pytest_paramform.heavy_imports import require
from pytest_paramform.sources.transformers_compat import auto_model_base, from_config

PREFIX = "hf"
CONFIG = "config.json"
MAX_CONFIG_BYTES = 16 * 1024**2


class ShippedCodeIgnored(UserWarning):
    """A config's ``auto_map`` names code beside it, which was not run: the report is of
    the transformers class the config also names."""


def config_file(path: Path) -> Path:
    """The config file PATH names: ``PATH/config.json`` for a folder."""
    file = path / CONFIG if path.is_dir() else path
    if not file.is_file():
        where = f"a folder without {CONFIG}" if path.is_dir() else "no such config file"
        raise SourceError(f"{where} (hf:PATH wants a folder holding {CONFIG}, or the file)",
                          path=str(path))
    if file.stat().st_size > MAX_CONFIG_BYTES:
        raise SourceError(f"is larger than {MAX_CONFIG_BYTES} bytes, not a model config",
                          path=str(file))
    return file


def model_name(path: Path) -> str:
    """``llama-7b`` for ``configs/llama-7b``, ``configs/llama-7b/config.json`` and
    ``configs/llama-7b.json``; ``qwen2.5-7b`` for ``qwen2.5-7b.json``."""
    absolute = path.absolute()
    if absolute.is_dir():
        return absolute.name
    return absolute.parent.name if absolute.name == CONFIG else absolute.name.removesuffix(".json")


def _read_json(file: Path) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"is not a JSON model config ({exc})", path=str(file)) from None
    if not isinstance(data, dict):
        raise SourceError(f"holds a JSON {type(data).__name__}, not a model config",
                          path=str(file))
    return data


def _load_config(transformers: Any, file: Path) -> Any:
    data = _read_json(file)
    if "model_type" not in data:
        raise SourceError("has no model_type, so transformers cannot tell which model it is",
                          path=str(file))
    try:
        return transformers.AutoConfig.from_pretrained(
            str(file), local_files_only=True, trust_remote_code=False
        )
    except (ValueError, KeyError, OSError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SourceError(
            f"transformers {transformers.__version__} cannot read this config: {reason}",
            path=str(file),
        ) from None


def _model_class(transformers: Any, config: Any, file: Path) -> Any:
    """The model class ``architectures`` names (a transformers model or Auto class), or
    the ``AutoModel`` for the config; nothing else of transformers is ever called."""
    names = getattr(config, "architectures", None)
    if names and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise SourceError(
            f"architectures must be a list of class names, not {names!r}", path=str(file)
        )
    if not names:
        return transformers.AutoModel
    cls = getattr(transformers, names[0], None)
    if cls is None:
        raise SourceError(
            f"names architecture {names[0]!r}, which transformers "
            f"{transformers.__version__} does not have (code shipped beside a config "
            "is never run)",
            path=str(file),
        )
    if not (isinstance(cls, type) and issubclass(cls, (transformers.PreTrainedModel,
                                                        auto_model_base(transformers)))):
        raise SourceError(
            f"names architecture {names[0]!r}, which is not a model class of transformers",
            path=str(file),
        )
    return cls


def _warn_if_code_is_shipped(config: Any, cls: Any, file: Path) -> None:
    auto_map = getattr(config, "auto_map", None)
    if not auto_map:
        return
    values = auto_map.values() if isinstance(auto_map, dict) else []
    flat = [v for value in values for v in (value if isinstance(value, list) else [value])]
    shipped = ", ".join(sorted({v for v in flat if isinstance(v, str)})) or repr(auto_map)
    warnings.warn(
        ShippedCodeIgnored(
            f"{file}: the code its auto_map names ({shipped}) was "
            f"not run; this is transformers' own {cls.__name__}, as transformers builds it "
            "without trust_remote_code=True"
        ),
        stacklevel=3,
    )


def hf_factory(spec_path: str) -> tuple[Callable[[], Any], str]:
    """A factory building the model a config describes, and the model's default name."""
    path = Path(spec_path)
    file = config_file(path)
    transformers = require("transformers", "hf")
    config = _load_config(transformers, file)
    cls = _model_class(transformers, config, file)
    _warn_if_code_is_shipped(config, cls, file)

    def build() -> Any:
        fresh = copy.deepcopy(config)  # transformers writes the dtype it used back into it
        return from_config(cls, fresh)

    build.__name__ = model_name(path)
    return build, model_name(path)

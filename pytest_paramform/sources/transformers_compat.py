"""Every assumption paramform makes about transformers' internals, in one place.

Building: ``hf:`` specs build a model class as its Auto class would
(:func:`from_config`), a build refuses the classmethods that load weights
(:data:`WEIGHT_LOADERS`) and skips transformers' own initialisers (:func:`initialisers`),
all through names transformers does not publish.

Loading: transformers 5 renames and fuses weights while ``from_pretrained`` loads them
(one list of rules per model class or type, in ``conversion_mapping.py``, applied by
``core_model_loading.py``); ``save_pretrained`` applies the reverse. A Mixtral checkpoint
holds ``experts.0.w1.weight`` ... where the model holds one ``experts.gate_up_proj``. There
is no public "what would this checkpoint become" call, so the loader's own pieces are
used, in its own order, on ``meta`` tensors: names and shapes move, no byte is read.
A transformers upgrade is this file to read; tests/test_transformers_compat.py pins one
test to each assumption.
"""

from __future__ import annotations

import copy
import importlib
import sys
from collections.abc import Iterable
from typing import Any, NamedTuple

from pytest_paramform.heavy_imports import require

AUTO_FACTORY = "transformers.models.auto.auto_factory"
MODELING = "transformers.modeling_utils"
# transformers 5 initialises through a module of its own, whose functions carry
# torch.nn.init's names and call torch's originals from a table of their own.
INITIALIZATION = "transformers.initialization"
# (defining module, class, classmethod): how transformers loads weights, whatever their
# source; refused while a model is built.
WEIGHT_LOADERS = (
    (MODELING, "PreTrainedModel", "from_pretrained"),
    (AUTO_FACTORY, "_BaseAutoModelClass", "from_pretrained"),
)


def initialisers(torch_names: Iterable[str]) -> list[tuple[Any, str]]:
    """``(owner, name)`` of every transformers initialiser a build skips: the functions of
    ``transformers.initialization`` named as ``torch.nn.init``'s (``torch_names``), and
    ``PreTrainedModel.initialize_weights``. Only those of modules loaded already: none is
    imported here."""
    found: list[tuple[Any, str]] = []
    initialization = sys.modules.get(INITIALIZATION)
    if initialization is not None:
        found += [(initialization, n) for n in torch_names if hasattr(initialization, n)]
    model = getattr(sys.modules.get(MODELING), "PreTrainedModel", None)
    if model is not None and hasattr(model, "initialize_weights"):
        found.append((model, "initialize_weights"))
    return found


class Named(NamedTuple):
    """One tensor by name, shape and dtype (torch's name, ``None`` when not recorded)."""

    name: str
    shape: tuple[int, ...]
    dtype: str | None


def is_transformers_model(module: object) -> bool:
    """A ``PreTrainedModel``; transformers is never imported to find out."""
    transformers = sys.modules.get("transformers")
    base = getattr(transformers, "PreTrainedModel", None)
    return isinstance(base, type) and isinstance(module, base)


def loading_rules(model: Any) -> list[Any]:
    """The rules ``from_pretrained`` applies for ``model`` (no ``key_mapping``, no
    quantizer): renamings and converters, scoped to sub-models as it scopes them."""
    mapping = require("transformers.conversion_mapping", "hf")
    return list(mapping.get_model_conversion_mapping(model))


def as_loaded(model: Any, tensors: Iterable[Named]) -> list[Named]:
    """``tensors`` (a checkpoint's) named and shaped as ``from_pretrained`` puts them into
    ``model``. A tensor that lands nowhere in the model keeps the name the loader gives
    it. A group the loader cannot fuse (an expert missing) and a tensor whose new name is
    taken keep their checkpoint names: they still show as drift, never vanish."""
    loader = _Loader(model)
    placed: dict[str, Named] = {}
    groups: dict[str, tuple[Any, list[Named]]] = {}
    renamed: list[Named] = []
    for tensor in sorted(tensors, key=lambda t: loader.loading.dot_natural_key(t.name)):
        key, pattern = loader.key_of(tensor.name)
        if pattern is not None:
            if key not in groups:
                groups[key] = (loader.converter(pattern), [])
            rule, members = groups[key]
            rule.add_tensor(key, tensor.name, pattern, _meta(tensor))
            members.append(tensor)
        elif key == tensor.name:
            placed[key] = tensor
        else:
            renamed.append(tensor._replace(name=key))
    kept: list[Named] = []
    for tensor in renamed:
        _place(placed, kept, [tensor], [tensor])
    for key, (rule, members) in groups.items():
        _place(placed, kept, _convert(model, key, rule, members), members)
    return [*placed.values(), *kept]


class _Loader:
    """``from_pretrained``'s renaming step for one model: every renaming, then at most
    one converter, then the base model prefix added or dropped to fit the model."""

    def __init__(self, model: Any) -> None:
        self.loading = require("transformers.core_model_loading", "hf")
        rules = loading_rules(model)
        self.renamings = [r for r in rules if isinstance(r, self.loading.WeightRenaming)]
        self.converters = [r for r in rules if isinstance(r, self.loading.WeightConverter)]
        self.by_pattern = {p: c for c in self.converters for p in c.source_patterns}
        self.targets = model.state_dict(keep_vars=True)  # values: the loader asks "is not None"
        self.prefix = model.base_model_prefix

    def key_of(self, name: str) -> tuple[str, str | None]:
        """The name ``name`` loads as, and the pattern of the converter that fuses it
        (None for a plain rename)."""
        key, pattern = self._rename(name, self.renamings, self.converters)
        if key not in self.targets and name in self.targets:  # as the loader retries it
            key, pattern = self._rename(name, [], [])
        return key, pattern

    def converter(self, pattern: str) -> Any:
        """A fresh converter for one fused tensor, as the loader makes one per target."""
        return copy.deepcopy(self.by_pattern[pattern])

    def _rename(self, name: str, renamings: list[Any], converters: list[Any]) -> Any:
        return self.loading.rename_source_key(
            name, renamings, converters, self.prefix, self.targets
        )


def _place(placed: dict[str, Named], kept: list[Named], new: list[Named], old: list[Named]) -> None:
    if all(tensor.name not in placed for tensor in new):
        placed.update((tensor.name, tensor) for tensor in new)
    else:
        kept.extend(old)


def _convert(model: Any, key: str, rule: Any, members: list[Named]) -> list[Named]:
    try:
        converted = converted_tensors(rule.convert(key, model=model, config=model.config))
    except Exception:  # the loader skips such a group too: it stays as it was saved
        return members
    if converted is None:
        return members
    dtypes = {member.dtype for member in members}
    same = next(iter(dtypes)) if len(dtypes) == 1 else None
    out = []
    for name, value in converted.items():
        tensor = value[0] if isinstance(value, list) else value
        dtype = same if len(dtypes) == 1 else _dtype_name(tensor, None in dtypes)
        out.append(Named(name, tuple(int(d) for d in tensor.shape), dtype))
    return out


def converted_tensors(result: Any) -> dict[str, Any] | None:
    """What a converter's ``convert`` made: transformers 5.0 returns the tensors with the
    errors it logged (``(tensors, errors)``), later versions the tensors alone; a group
    with errors is one the loader leaves as it was saved (None)."""
    if isinstance(result, tuple):
        tensors, errors = result
        return None if errors else dict(tensors)
    return dict(result)


def _dtype_name(tensor: Any, unknown: bool) -> str | None:
    return None if unknown else str(tensor.dtype).removeprefix("torch.")


def _meta(tensor: Named) -> Any:
    """An empty tensor of that shape; a dtype torch lacks stands in as ``uint8``."""
    torch = require("torch", "torch")
    dtype = getattr(torch, tensor.dtype or "float32", None)
    dtype = dtype if isinstance(dtype, torch.dtype) else torch.uint8
    return torch.empty(tensor.shape, dtype=dtype, device="meta")


def auto_model_base(transformers: Any) -> type:
    """The base of ``AutoModel``, ``AutoModelForCausalLM``, ... (the classes that pick a
    model class for a config); ``type`` on a release that has none by that name."""
    module = importlib.import_module(AUTO_FACTORY)
    base = getattr(module, "_BaseAutoModelClass", None)
    return base if isinstance(base, type) else type(transformers.AutoModel)


def from_config(cls: Any, config: Any) -> Any:
    """``cls`` built from ``config`` as ``AutoModel.from_config`` builds it: the config's
    dtype, weights tied as transformers ties them. An Auto class picks the model itself; a
    model class goes through ``_from_config``, the step the Auto class ends in
    (``cls(config)`` would build in float32 whatever the config says)."""
    if hasattr(cls, "from_config"):
        return cls.from_config(config, trust_remote_code=False)
    return cls._from_config(config)

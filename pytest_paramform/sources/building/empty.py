"""Build models without allocating or initialising their weights.

``with torch.device("meta")`` breaks models that do tensor math while they are built
(torchvision's regnets compute widths with tensors and call ``.tolist()``). Instead each
parameter is put on ``meta`` as it is registered, a fresh tensor too big to be such math is
made on ``meta`` from the start (see :mod:`pytest_paramform.sources.building.constructors`),
and all other tensor math runs as usual. Initialisers are skipped meanwhile: on ``meta`` tensors
they are wasted work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from pytest_paramform.heavy_imports import require
from pytest_paramform.sources.building.constructors import big_constructors_on_meta
from pytest_paramform.sources.building.hub_guard import hub_refused
from pytest_paramform.sources.building.stand_ins import Swap, standing_in
from pytest_paramform.sources.torch_compat import torch_function_disabled
from pytest_paramform.sources.transformers_compat import initialisers
from pytest_paramform.torch_warnings import internal_warnings_ignored

if TYPE_CHECKING:
    from torch.nn import Module, Parameter


def _on_meta(param: Parameter | None) -> Parameter | None:
    """The same parameter on ``meta``; one already there is kept, which keeps ties intact.

    Plain parameters are made anew past the build mode's checks (they cannot concern it, and
    a build registers tens of thousands of them), as an empty tensor like the parameter:
    the same result as a move, which takes torch's longer copy path, in half the time."""
    torch = require("torch", "torch")
    if param is None:
        return param
    if type(param) is torch.nn.Parameter:
        with torch_function_disabled():
            if param.is_meta:
                return param
            meta = torch.empty_like(param, device="meta")
        return torch.nn.Parameter(meta, param.requires_grad)
    if param.device.type == "meta" or torch.nn.parameter.is_lazy(param):
        return param
    kwargs = dict(param.__dict__)
    kwargs["requires_grad"] = param.requires_grad
    return type(param)(param.to("meta"), **kwargs)


def _noop(name: str) -> Callable[..., Any]:
    """A stand-in for ``torch.nn.init.<name>``: one per name, so that a module that bound
    one while a model was built gets the right original back (see ``stand_ins``)."""

    def leave_as_is(tensor: Any, *args: Any, **kwargs: Any) -> Any:
        return tensor

    leave_as_is.__name__ = name
    return leave_as_is


@contextmanager
def no_downloads() -> Iterator[None]:
    """Within this block, fetching or loading pretrained weights (torch.hub, the Hugging
    Face Hub, timm, transformers' ``from_pretrained``) fails at once instead of going
    online or reading a cached download."""
    with hub_refused():
        yield


@contextmanager
def skip_init() -> Iterator[None]:
    """Within this block, ``torch.nn.init`` leaves tensors as they are, and so do
    transformers' own initialisers, when transformers is loaded already."""
    torch = require("torch", "torch")
    init = torch.nn.init
    names = [n for n in dir(init) if n.endswith("_") and not n.startswith("_")]
    swaps = [(init, name, _noop(name)) for name in names]
    with standing_in([*swaps, *_transformers_init_skipped(names)]):
        yield


def _transformers_init_skipped(names: list[str]) -> list[Swap]:
    """No-ops for transformers 5's initialisers (``transformers.initialization.normal_``
    calls torch's original from a table of its own, past the stand-ins above) and for
    ``PreTrainedModel.initialize_weights``, the walk over every module that calls them.
    transformers skips that walk itself for a model built under ``torch.device("meta")``
    (as ``from_pretrained`` builds one): it only writes values. Never imports transformers: a
    build that first loads it is initialised as before, only slower."""
    return [(owner, name, _noop(name)) for owner, name in initialisers(names)]


@contextmanager
def empty_weights() -> Iterator[None]:
    """Within this block, modules get their parameters on ``meta``, fresh tensors above
    ``BIG_NUMEL`` elements are made there too, and nothing downloads.

    Warnings torch and torchvision raise about their own internals meanwhile are ignored
    (a suite run with warnings as errors must not fail on them); the caller's own code
    still answers to the caller's filters."""
    with _without_weights(watched=False):
        yield


@contextmanager
def watched_empty_weights() -> Iterator[None]:
    """:func:`empty_weights` with every torch call watched
    (:class:`~pytest_paramform.sources.building.meta_mode.BigTensorsOnMeta`): meta and real
    tensors may meet, and a failure caused by ``meta`` is marked. It costs a Python call per
    torch call, so a build comes here only when the plain block failed."""
    with _without_weights(watched=True):
        yield


@contextmanager
def _without_weights(*, watched: bool) -> Iterator[None]:
    torch = require("torch", "torch")
    from pytest_paramform.sources.building.meta_mode import BigTensorsOnMeta  # torch class

    module_cls = torch.nn.Module
    register = module_cls.register_parameter

    def register_on_meta(self: Module, name: str, param: Parameter | None) -> None:
        meta = _on_meta(param)
        with torch_function_disabled():  # torch's own checks, past the build mode
            register(self, name, meta)

    swaps = [(module_cls, "register_parameter", register_on_meta)]
    with ExitStack() as stack:
        # Downloads first: refusing them imports the loaders' modules, which must see
        # torch's own initialisers (transformers keeps a table of them).
        stack.enter_context(no_downloads())
        stack.enter_context(skip_init())
        stack.enter_context(internal_warnings_ignored())
        if watched:
            stack.enter_context(standing_in(swaps))
            stack.enter_context(BigTensorsOnMeta())
        else:
            stack.enter_context(standing_in([*swaps, *big_constructors_on_meta(torch)]))
        yield

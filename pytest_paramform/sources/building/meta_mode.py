"""The watched build: every torch call of a build goes past the meta policies, in one mode.

:class:`BigTensorsOnMeta` is entered only when the cheap build (stand-ins for the
constructors, no mode) failed: it costs a Python call per torch call. It composes the
policies of :mod:`~pytest_paramform.sources.building.policies`, each answering for the
torch functions it concerns; every other call runs as it is, so the small tensor math some
builders do (regnet widths, swin's relative position tables) keeps its values. A new meta
policy is a function there and one line in :meth:`BigTensorsOnMeta._policies_by_function`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pytest_paramform.heavy_imports import require
from pytest_paramform.sources.building.constructors import (
    CONSTRUCTORS,
    SIZED,
    TENSOR_CONSTRUCTORS,
    functions,
)
from pytest_paramform.sources.building.policies import (
    FILLS,
    MOVES,
    Policy,
    UnknownValues,
    all_on_meta,
    big_fresh_on_meta,
    keep_on_meta,
    mark_meta_failure,
    skip_fill_from_meta,
)
from pytest_paramform.sources.torch_compat import TorchFunctionMode


class BigTensorsOnMeta(TorchFunctionMode):
    """Big fresh tensors on ``meta``, meta and real tensors meeting without made-up values,
    and failures caused by ``meta`` marked. Enter it with ``with BigTensorsOnMeta():``."""

    def __init__(self) -> None:
        super().__init__()
        self._unknown = UnknownValues()
        self._policies = self._policies_by_function()

    def _policies_by_function(self) -> dict[Callable[..., Any], Policy]:
        torch = require("torch", "torch")
        methods = functions(TENSOR_CONSTRUCTORS, torch.Tensor)
        sized = functions(SIZED, torch) | methods
        policies: dict[Callable[..., Any], Policy] = {
            func: big_fresh_on_meta(sized=func in sized, method=func in methods)
            for func in functions(CONSTRUCTORS, torch) | methods
        }
        policies.update(dict.fromkeys(functions(FILLS, torch.Tensor),
                                      skip_fill_from_meta(self._unknown)))
        policies.update(dict.fromkeys(functions(MOVES, torch.Tensor), keep_on_meta))
        return policies

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        try:
            if self._unknown.tensors and self._unknown.reached_by(args, kwargs):
                return self._unknown.spread(func, args, kwargs)
            policy = self._policies.get(func)  # None for nearly every call: reads, math
            answer = policy(func, args, kwargs) if policy is not None else None
            return answer if answer is not None else func(*args, **kwargs)
        except Exception as exc:
            together = all_on_meta(func, args, kwargs)
            if together is not None:
                return together
            mark_meta_failure(exc, args, kwargs)
            raise

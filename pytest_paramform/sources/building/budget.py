"""A ceiling on the memory a build with real memory may take.

Some builds read weight values while they build, so they must run with real memory. A
model that is large for the machine would then push a CI runner into swap or be
OOM-killed; :class:`AllocationBudget` adds up the bytes of the tensors the build makes and
stops it with :class:`BudgetExceeded`, before allocating, once they would pass a budget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pytest_paramform.heavy_imports import require
from pytest_paramform.sources.building.constructors import (
    CONSTRUCTORS,
    LIKE,
    TENSOR_CONSTRUCTORS,
    functions,
    meta_probe,
    on_host,
)
from pytest_paramform.sources.torch_compat import TorchFunctionMode, is_view, tensors_in

if TYPE_CHECKING:
    from torch import Tensor


class BudgetExceeded(BaseException):
    """A build with real memory would pass its budget; raised before the allocation.

    A BaseException, like KeyboardInterrupt, so that a model's own ``except Exception``
    cannot swallow it and build on."""

    def __init__(self, used: int, budget: int) -> None:
        self.used, self.budget = used, budget
        super().__init__(f"{used} bytes of {budget}")


def nbytes(tensor: Tensor) -> int:
    return int(tensor.numel()) * int(tensor.element_size())


class AllocationBudget(TorchFunctionMode):
    """Fresh tensors (constructors, ``*_like``, ``new_*``) are measured on ``meta`` before
    they are made; any other call's new, non-view results are counted after it returns.
    Memory freed meanwhile is not subtracted: the count is an upper bound, so the budget
    errs on the side of the machine."""

    def __init__(self, budget: int) -> None:
        super().__init__()
        torch = require("torch", "torch")
        self._tensor = torch.Tensor
        self.budget = budget
        self.used = 0
        self._fresh = (
            functions(CONSTRUCTORS, torch)
            | functions(LIKE, torch)
            | functions(TENSOR_CONSTRUCTORS, torch.Tensor)
        )

    def _spend(self, amount: int) -> None:
        if self.used + amount > self.budget:
            raise BudgetExceeded(self.used + amount, self.budget)
        self.used += amount

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if func in self._fresh and "out" not in kwargs and on_host(kwargs):
            probe = meta_probe(func, args, kwargs)
            if probe is not None:
                self._spend(nbytes(probe))
            return func(*args, **kwargs)
        result = func(*args, **kwargs)
        if isinstance(result, self._tensor) and result.device.type != "meta":
            inputs = tensors_in(args, kwargs)
            if not any(result is t for t in inputs) and not is_view(result):
                self._spend(nbytes(result))
        return result

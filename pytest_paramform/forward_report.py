"""What one forward pass computes, as plain data (no torch): the inputs it was given, the
output shapes and FLOPs of the model and its modules down to a depth.

Recorded only when asked for (``inputs=``); a report without it is the seed's. The torch
side, which runs the pass on ``meta``, is :mod:`pytest_paramform.sources.forward`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pytest_paramform.errors import SettingsError

Shape = tuple[int, ...]
DEFAULT_DTYPE = "float32"
DEFAULT_DEPTH = 2
MODEL_LABEL = "(model)"  # the row of the model itself, whose module name is ""
INPUT_HELP = "SHAPE, NAME:SHAPE or NAME:SHAPE:DTYPE, e.g. 1x3x224x224 or input_ids:1x128:int64"
_TOKEN = re.compile(r"(?:(?P<name>[A-Za-z_]\w*):)?(?P<shape>\d+(?:x\d+)*|)(?::(?P<dtype>\w+))?")


@dataclass(frozen=True)
class ForwardInput:
    """One tensor handed to the model: ``name`` is a keyword, or the position ("0")."""

    name: str
    shape: Shape
    dtype: str = DEFAULT_DTYPE

    @property
    def positional(self) -> bool:
        return self.name.isdigit()


@dataclass(frozen=True)
class ModuleOutput:
    """What one module returned: its tensor leaves by name ("" for a lone tensor; ``0``,
    ``logits``, ``0.hidden`` inside tuples, dicts and ``ModelOutput``s), from its first
    call; ``calls`` counts its calls in the pass; ``flops`` what they computed."""

    name: str
    outputs: tuple[tuple[str, Shape], ...]
    calls: int = 1
    flops: int = 0  # in all its calls, its modules' included

    @property
    def label(self) -> str:
        return self.name or MODEL_LABEL


@dataclass(frozen=True)
class ForwardReport:
    """One forward pass: its inputs, and a row per module down to ``depth`` (the model
    itself first, then its modules in model order; modules never called have no row)."""

    inputs: tuple[ForwardInput, ...]
    depth: int
    modules: tuple[ModuleOutput, ...]
    flops: int = 0  # the whole pass, 2 per multiply-add (torch's FlopCounterMode)

    def share(self, row: ModuleOutput) -> float:
        """A module's share of the pass's FLOPs, in percent (0 for a pass that has none)."""
        return 100.0 * row.flops / self.flops if self.flops else 0.0


# What ``inputs=`` may be, once read: the tensors to make, or a callable that makes them.
InputSpec = tuple[ForwardInput, ...] | Callable[[], Any]


def parse_inputs(raw: object, source: str) -> InputSpec:
    """``inputs`` as given (a shape, a mapping of keyword to shape or (shape, dtype), a
    callable, or the command line's text) as tensors to make; errors name ``source``."""
    if callable(raw):
        return raw
    if isinstance(raw, tuple) and raw and all(isinstance(i, ForwardInput) for i in raw):
        return raw  # read already
    if isinstance(raw, str):
        return inputs_from_text(raw.split(), source)
    if isinstance(raw, Mapping):
        return tuple(_keyword_input(name, value, source) for name, value in raw.items())
    return (ForwardInput("0", _shape(raw, source), DEFAULT_DTYPE),)


def inputs_from_text(tokens: list[str], source: str) -> tuple[ForwardInput, ...]:
    """``1x3x224x224`` (a float tensor), ``input_ids:1x128:int64`` (a keyword tensor);
    positional ones take positions in order."""
    made: list[ForwardInput] = []
    for token in tokens:
        match = _TOKEN.fullmatch(token)
        if match is None or not match["shape"]:
            raise SettingsError(f"{source}: inputs: expected {INPUT_HELP}, got {token!r}")
        shape = tuple(int(d) for d in match["shape"].split("x"))
        name = match["name"] or str(sum(i.positional for i in made))
        made.append(ForwardInput(name, shape, match["dtype"] or DEFAULT_DTYPE))
    if not made:
        raise SettingsError(f"{source}: inputs: expected {INPUT_HELP}, got nothing")
    return tuple(made)


def _keyword_input(name: object, value: object, source: str) -> ForwardInput:
    if not isinstance(name, str) or not name.isidentifier():
        raise SettingsError(f"{source}: inputs: a keyword must be a Python name, got {name!r}")
    dtype = DEFAULT_DTYPE
    if isinstance(value, tuple) and len(value) == 2 and _is_dtype(value[1]):
        pair: tuple[object, object] = value
        value, dtype = pair[0], str(pair[1]).removeprefix("torch.")
    return ForwardInput(name, _shape(value, source), dtype)


def _is_dtype(value: object) -> bool:
    """A dtype's name (``"int64"``) or a ``torch.dtype``, told apart without torch."""
    return isinstance(value, str) or type(value).__name__ == "dtype"


def _shape(value: object, source: str) -> Shape:
    ok = isinstance(value, tuple | list) and all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value
    )
    if not ok:
        raise SettingsError(
            f"{source}: inputs must be a shape such as (1, 3, 224, 224), a mapping of keyword "
            f'to shape or (shape, dtype) such as {{"input_ids": ((1, 128), "int64")}}, or a '
            f"callable returning the arguments; got {value!r}"
        )
    assert isinstance(value, tuple | list)
    return tuple(value)

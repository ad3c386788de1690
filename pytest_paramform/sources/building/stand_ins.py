"""Stand-ins for library functions, for the length of a model build, and nothing after.

A build replaces ``torch.nn.init``'s initialisers with no-ops and the hub loaders with
refusals. A module imported for the first time during the build (the factory's own
``import timm``, transformers' lazy submodules) may bind a stand-in under its own name
(``from torch.hub import load_state_dict_from_url``) or keep it in a table
(transformers' ``TORCH_INIT_FUNCTIONS``); restoring the attributes we replaced would leave
those copies behind for the rest of the session. So on the way out, the globals and the
top-level tables of every module imported meanwhile get the originals back too.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

Swap = tuple[Any, str, Any]  # (owner, attribute, stand-in)


def _current(owner: Any, name: str) -> Any:
    """What ``owner`` holds under ``name`` itself: a classmethod object, not a bound one."""
    namespace = getattr(owner, "__dict__", {})
    return namespace[name] if name in namespace else getattr(owner, name)


def _own(owner: Any, name: str) -> bool:
    """Whether ``owner`` holds ``name`` itself, rather than inheriting it."""
    return name in getattr(owner, "__dict__", {})


@contextmanager
def standing_in(swaps: Sequence[Swap]) -> Iterator[None]:
    """Put each stand-in in place; on exit put every original back, wherever it went."""
    before = ModulesSeen()
    saved = [(owner, name, _current(owner, name), _own(owner, name)) for owner, name, _ in swaps]
    # id(stand-in) -> (stand-in, original); the stand-in is held so that its id stays its own
    back = {
        id(stand_in): (stand_in, getattr(owner, name))
        for owner, name, stand_in in swaps
    }
    try:
        for owner, name, stand_in in swaps:
            setattr(owner, name, stand_in)
        yield
    finally:
        for owner, name, original, own in reversed(saved):
            if own:
                setattr(owner, name, original)
            else:  # inherited (``socket.socket.connect``): the subclass gets none of its own
                delattr(owner, name)
        _repair(before.new_ones(), back)


class ModulesSeen:
    """The modules loaded now, so that the ones imported later can be found; cheap, since
    every model build takes one (sys.modules keeps insertion order, and a build seldom
    removes a module)."""

    def __init__(self) -> None:
        self.count = len(sys.modules)
        self.last = next(reversed(sys.modules), None)

    def new_ones(self) -> list[Any]:
        added = self.added()
        return list(sys.modules.values()) if added is None else added

    def added(self) -> list[Any] | None:
        """The modules imported since, or None when one was removed (any may be new then)."""
        if len(sys.modules) == self.count and next(reversed(sys.modules), None) == self.last:
            return []  # the usual case, told without copying a few thousand names
        names = list(sys.modules)
        if len(names) > self.count and (self.count == 0 or names[self.count - 1] == self.last):
            return [sys.modules[n] for n in names[self.count:] if n in sys.modules]
        return None


def _original(value: Any, back: dict[int, tuple[Any, Any]]) -> Any:
    entry = back.get(id(value))
    return entry[1] if entry is not None and entry[0] is value else value


def _repair(modules: list[Any], back: dict[int, tuple[Any, Any]]) -> None:
    for module in modules:
        try:
            namespace = vars(module)
        except TypeError:
            continue
        for key, value in list(namespace.items()):
            # type(), not isinstance(): that reads ``__class__``, which some globals warn on.
            # dict's own methods, not the subclass's: transformers' lazy Auto mappings
            # import every model class from their ``items()``, and fail on some.
            if issubclass(type(value), dict):
                for k, v in list(dict.items(value)):
                    if _original(v, back) is not v:
                        dict.__setitem__(value, k, _original(v, back))
            elif _original(value, back) is not value:
                namespace[key] = _original(value, back)

"""Reading a large checkpoint or golden makes hundreds of thousands of small objects, none
in a reference cycle; Python's cyclic collector would scan them again and again while they
are made (a quarter of a 90,000-tensor check). It is paused meanwhile, never disabled."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

"""Reading a large checkpoint or golden makes hundreds of thousands of small objects, none
in a reference cycle; Python's cyclic collector would scan them again and again while they
are made (a quarter of a 90,000-tensor check). Building a model is the same: every module
and parameter is a new object. The collector is paused meanwhile, never disabled."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

# New objects left alive by a paused block that imported modules, past which one full
# collection is cheaper than letting the collector find them: the first build in a process
# imports torch and transformers (400,000 objects), which the youngest generation would
# scan, then the middle one, then a full collection, each as long as the one made here.
SETTLE_AFTER = 100_000


@contextmanager
def gc_paused(*, settle: bool = False) -> Iterator[None]:
    """Within this block the cyclic collector does not run. ``settle``: when the block
    imported modules and left more than :data:`SETTLE_AFTER` new objects alive, one full
    collection moves them to the oldest generation at once (a large report alone is left
    to the collector: it is dropped soon)."""
    was_enabled = gc.isenabled()
    modules = len(sys.modules)
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:  # counted first: once enabled, any allocation may start a collection
            many = settle and len(sys.modules) > modules and gc.get_count()[0] > SETTLE_AFTER
            gc.enable()
            if many:
                gc.collect()

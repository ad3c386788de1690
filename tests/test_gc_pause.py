"""The collector is paused while paramform reads or builds, and left as the user had it."""

from __future__ import annotations

import gc
import importlib.machinery
import importlib.util
import itertools
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from pytest_paramform.gc_pause import SETTLE_AFTER, gc_paused


@contextmanager
def collections_seen() -> Iterator[list[int]]:
    """The generation of every collection that starts meanwhile."""
    seen: list[int] = []

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(watch)
    try:
        yield seen
    finally:
        gc.callbacks.remove(watch)


def _fail_while_paused() -> None:
    with gc_paused():
        assert not gc.isenabled()
        raise ValueError("the model's own error")


def test_the_collector_runs_again_after_the_block_even_when_it_raises() -> None:
    assert gc.isenabled()
    with pytest.raises(ValueError, match="the model's own error"):
        _fail_while_paused()
    assert gc.isenabled()


FRESH = itertools.count()


def _import_fresh_module() -> None:
    """A module imported for the first time, as a first build imports torch."""
    name = f"paramform_gc_pause_fresh_module_{next(FRESH)}"
    sys.modules[name] = importlib.util.module_from_spec(importlib.machinery.ModuleSpec(name, None))


def test_a_collector_the_user_disabled_stays_disabled() -> None:
    gc.disable()
    try:
        with gc_paused(settle=True):
            _import_fresh_module()
            kept = [[] for _ in range(SETTLE_AFTER + 1)]
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert len(kept) == SETTLE_AFTER + 1


def test_an_import_that_leaves_many_objects_alive_is_followed_by_one_full_collection() -> None:
    gc.collect()
    with collections_seen() as seen:
        with gc_paused(settle=True):
            _import_fresh_module()
            kept = [[] for _ in range(SETTLE_AFTER + 1)]
            assert seen == []
        assert seen == [2]
    assert len(kept) == SETTLE_AFTER + 1


@pytest.mark.parametrize("imports", [True, False])
def test_no_full_collection_after_a_block_that_left_few_objects_or_imported_nothing(
    imports: bool,
) -> None:
    gc.collect()
    with collections_seen() as seen:
        with gc_paused(settle=True):
            if imports:  # a model built and dropped
                _import_fresh_module()
                made = [[] for _ in range(SETTLE_AFTER + 1)]
                del made
            else:  # a large report, kept by the caller for a moment
                kept = [[] for _ in range(SETTLE_AFTER + 1)]
        assert 2 not in seen
    assert imports or len(kept) == SETTLE_AFTER + 1

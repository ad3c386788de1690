"""The collector is paused while paramform reads or builds, and left as the user had it."""

from __future__ import annotations

import gc
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


def test_a_collector_the_user_disabled_stays_disabled() -> None:
    gc.disable()
    try:
        with gc_paused(settle=True):
            kept = [[] for _ in range(SETTLE_AFTER + 1)]
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert len(kept) == SETTLE_AFTER + 1


def test_a_block_that_leaves_many_objects_alive_is_followed_by_one_full_collection() -> None:
    gc.collect()
    with collections_seen() as seen:
        with gc_paused(settle=True):
            kept = [[] for _ in range(SETTLE_AFTER + 1)]  # as a first import leaves them
            assert seen == []
        assert seen == [2]
    assert len(kept) == SETTLE_AFTER + 1


def test_a_block_that_leaves_few_objects_alive_is_not_followed_by_a_full_collection() -> None:
    gc.collect()
    with collections_seen() as seen:
        with gc_paused(settle=True):
            made = [[] for _ in range(SETTLE_AFTER + 1)]  # a model built and dropped
            del made
        assert 2 not in seen

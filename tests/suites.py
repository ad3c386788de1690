"""What the pytester suites share: a small model module, how to write it, how to run it."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

# pytester's in-process runs drop modules first imported inside them; torch and PyYAML's C
# loader break when imported twice in one process, so the plugin's modules load here once.

torch.nn.Linear(2, 2).to("meta")  # torch loads its meta kernels lazily, on first use

MODEL = """
import pytest
import torch
from torch import nn

HIDDEN = {hidden}
EXTRA_BLOCK = {extra_block}
BIAS = {bias}


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(8, HIDDEN)
        if EXTRA_BLOCK:
            self.inserted = nn.Linear(HIDDEN, HIDDEN)
        self.body = nn.Conv2d(HIDDEN, HIDDEN, 3)
        self.head = nn.Linear(HIDDEN, 2, bias=BIAS)
"""

GOLDEN = Path("__snapshots__/test_arch/test_net.paramform.yaml")
ACCEPT = "pytest --paramform-update 'test_arch.py::test_net'"
SYRUPY_NOTE = "or with syrupy's --snapshot-update (which updates syrupy's own snapshots too)"


def write_suite(
    pytester: pytest.Pytester,
    *,
    hidden: int = 4,
    extra_block: bool = False,
    bias: bool = True,
    tests: str = "def test_net(paramform_snapshot):\n    paramform_snapshot(Net)\n",
) -> None:
    source = MODEL.format(hidden=hidden, extra_block=extra_block, bias=bias) + "\n\n" + tests
    pytester.makepyfile(test_arch=source)


def run(
    pytester: pytest.Pytester, *args: str, ctrl_c: bool = False, in_process: bool = False
) -> pytest.RunResult:
    """An inner pytest run; ``ctrl_c`` when it is meant to be interrupted (pytester would
    otherwise interrupt the outer run too); ``in_process`` keeps a run with workers in this
    process, for a test that watches it from here."""
    # hypothesis is not used by these suites, and re-importing it costs a second a run.
    args = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", *args)
    # A test module rewritten at the same size within the same second would otherwise run
    # from its old bytecode (pytest 8.0 compares whole-second modification times).
    for cache in pytester.path.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    if "-n" in args and not in_process:
        # A run with workers is its own process: older pytest-rerunfailures (14.0) leaves a thread
        # spinning on each closed worker connection, which would slow every later test here.
        return pytester.runpytest_subprocess(*args)
    if not ctrl_c:
        return pytester.runpytest(*args)
    with ctrl_c_delivered():
        return pytester.runpytest(*args, no_reraise_ctrlc=True)


@contextmanager
def ctrl_c_delivered() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt meanwhile, whatever this process inherited: a
    shell's background job (``cmd &``, ``nohup``, many CI runners) starts with SIGINT
    ignored, and a test that sends itself Ctrl-C would then not be interrupted at all."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


DEFAULT_TESTS = "def test_net(paramform_snapshot):\n    paramform_snapshot(Net)\n"


def walk_life_cycle(
    pytester: pytest.Pytester,
    *,
    golden: Path,
    change: dict[str, object],
    drift_lines: list[str],
    update: tuple[str, ...] = ("--paramform-update",),
    tests: str = DEFAULT_TESTS,
    args: tuple[str, ...] = (),
) -> None:
    """The whole life of a golden, as a user lives it (in the spirit of pytest-regressions'
    ``check_regression_fixture_workflow``): a fresh suite fails and writes nothing, an
    update writes ``golden``, the next run passes, a change to the model (``change``: the
    ``write_suite`` keywords) fails with ``drift_lines`` and no traceback, an update accepts
    it, and the run after passes again. ``tests`` is the suite's test code (a keyword or a
    marker sets an option), ``args`` goes to every run (``-o paramform_format=markdown``)."""
    write_suite(pytester, tests=tests)
    result = run(pytester, *args)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [f"paramform: no golden for * at {golden}", "create it with:", "  pytest *"]
    )
    assert not (pytester.path / golden).exists(), "never written outside an update run"

    run(pytester, *args, *update).assert_outcomes(passed=1)
    assert (pytester.path / golden).is_file()
    run(pytester, *args).assert_outcomes(passed=1)

    write_suite(pytester, tests=tests, **change)  # type: ignore[arg-type]
    result = run(pytester, *args)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(drift_lines)
    assert "Traceback" not in result.stdout.str()

    run(pytester, *args, *update).assert_outcomes(passed=1)
    run(pytester, *args).assert_outcomes(passed=1)

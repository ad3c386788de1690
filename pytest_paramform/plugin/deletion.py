"""When a golden that looks unused may really be deleted.

A golden is the only record of an approved architecture, so an update run deletes one only
when the run proves that the test owning it is gone, or no longer makes that check: the run
finished, ran every test it selected, none failed, and no collected test could own it, or
the one that could ran to completion and passed without using it (a test that dropped its
second check leaves a ``.1`` golden). A test that was deselected, skipped, filtered or
never reached keeps its goldens. This module is pure data (no pytest, no syrupy): the pytest
layer fills a ``RunRecord`` and asks ``Verdicts``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pytest_paramform import formats

Outcome = Literal["passed", "failed", "skipped"]


def name_key(name: str) -> str:
    """The test a snapshot name belongs to: dotted identifiers up to the first that is not.

    ``TestX.test_y[vit]``, ``TestX.test_y.1`` and ``TestX.test_y`` all give ``TestX.test_y``,
    the way syrupy relates snapshots to tests (parameters and indexes are not compared, so a
    parametrized test keeps every golden while any of its cases did not run).
    """
    kept: list[str] = []
    for part in name.split("."):
        valid = ""
        for char in part:
            if not (valid + char).isidentifier():
                break
            valid += char
        if valid:
            kept.append(valid)
        if valid != part:
            break
    return ".".join(kept)


_CUT = 200


def owns(test_stem: str, golden: str) -> bool:
    """Whether a test whose own golden stem is ``test_stem`` (``test_x[a]``, as syrupy names
    its first golden) may own ``golden``: that golden, its ``.N`` and ``[name]`` siblings."""
    if golden == test_stem:
        return True
    if len(golden) >= _CUT and golden[:_CUT] == test_stem[:_CUT]:
        return True  # syrupy cut both names near 255 characters, at lengths that differ
    rest = golden[len(test_stem) :] if golden.startswith(test_stem) else ""
    return rest[:1] in (".", "[")


def golden_stem(location: str) -> str:
    name = Path(location).name
    for suffix in formats.golden_suffixes():
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class CollectedTest:
    """One test as collected, before any deselection."""

    nodeid: str
    module: str
    key: str  # the stem syrupy gives the test's first golden (``test_x[a]``)


@dataclass
class RunRecord:
    """What an update run saw: enough to tell a deleted test from one that did not run."""

    collected: dict[str, CollectedTest] = field(default_factory=dict)
    selected: set[str] = field(default_factory=set)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    modules: set[str] = field(default_factory=set)
    # The names a collected test module defines, by module path: what tests it still has,
    # whatever the run selected.
    names: dict[str, set[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # Path arguments that narrowed the run (None: the whole configured suite ran).
    narrowed_to: list[str] | None = None
    # The command line chose part of the suite (paths, node ids, -k, -m, --lf, ...).
    partial: bool = False
    snapshot_dirname: str = "__snapshots__"

    def add_outcome(self, nodeid: str, outcome: Outcome) -> None:
        """A test's outcome over its phases: failed beats skipped beats passed."""
        rank = {"passed": 0, "skipped": 1, "failed": 2}
        if rank[outcome] >= rank[self.outcomes.get(nodeid, "passed")]:
            self.outcomes[nodeid] = outcome

    def run_problem(self) -> str | None:
        """Why nothing at all may be deleted in this run, if anything stops it."""
        if self.problems:
            return self.problems[0]
        not_run = len(self.selected - set(self.outcomes))
        if not_run:
            return f"{not_run} selected test(s) did not run"
        return None

    def by_module(self) -> dict[str, list[CollectedTest]]:
        found: dict[str, list[CollectedTest]] = {}
        for test in self.collected.values():
            found.setdefault(test.module, []).append(test)
        return found


def owning_module(location: str) -> Path:
    """``tests/__snapshots__/test_arch/x.paramform.yaml`` belongs to ``tests/test_arch.py``."""
    golden = Path(location)
    return golden.parent.parent.parent / f"{golden.parent.name}.py"


class Verdicts:
    """Answers, golden by golden, whether this run may delete it, and remembers why not."""

    def __init__(self, record: RunRecord) -> None:
        self._record = record
        self._problem = record.run_problem()
        self._tests = record.by_module()
        self.deleted: list[str] = []
        self.kept: dict[str, str] = {}

    def may_delete(self, location: str) -> bool:
        if not self._record.outcomes:
            return False  # a run that ran no test proves nothing, and has nothing to say
        reason = self._problem or self._module_reason(location) or self._test_reason(location)
        if reason is None:
            self.deleted.append(location)
            return True
        self.kept[location] = reason
        return False

    def may_delete_any(self, location: str) -> bool:
        """For a file of any snapshot kind: paramform goldens need proof, others do not."""
        return not location.endswith(formats.golden_suffixes()) or self.may_delete(location)

    def looks_unused(self, location: str) -> bool:
        """For a golden the run did not use and syrupy left alone (a run narrowed by node
        id, ``-k`` or ``--lf``): whether it looks unused, so that it is judged and listed.
        Its module was collected and defines no test of its name, or every test that could
        own it passed without using it."""
        module = str(owning_module(location).resolve())
        names = self._record.names.get(module)
        if names is None:  # no test of the module was collected
            return False
        stem = golden_stem(location)
        if name_key(stem).split(".")[0] not in names:
            return True
        owners = [test for test in self._tests.get(module, ()) if owns(test.key, stem)]
        outcomes = self._record.outcomes
        return bool(owners) and all(outcomes.get(t.nodeid) == "passed" for t in owners)

    def _module_reason(self, location: str) -> str | None:
        module = owning_module(location)
        key = str(module.resolve())
        if key in self._record.modules:
            return None
        if module.exists():
            return "its test module was not collected in this run"
        if Path(location).parent.parent.name != self._record.snapshot_dirname:
            return "its test module cannot be told from the snapshot folder"
        narrowed = self._record.narrowed_to
        if narrowed is not None and not _covers(narrowed, Path(location)):
            return "its folder was not part of this run"
        return None

    def _test_reason(self, location: str) -> str | None:
        """Why a collected test may still make this check, if one may: every test that
        could own the golden must have passed in this run without using it."""
        module = str(owning_module(location).resolve())
        stem = golden_stem(location)
        for test in self._tests.get(module, ()):
            if not owns(test.key, stem):
                continue
            if test.nodeid not in self._record.selected:
                return "its test was deselected"
            outcome = self._record.outcomes.get(test.nodeid)
            if outcome != "passed":
                return f"its test {'did not run' if outcome is None else 'was ' + outcome}"
        return None

    def summary(self) -> str:
        """One line for the terminal: how many were kept, why, and what to do."""
        reasons = sorted(set(self.kept.values()))
        return (
            f"paramform: {len(self.kept)} golden(s) look unused but were kept "
            f"({' / '.join(reasons)}); {self._advice()}"
        )

    def _advice(self) -> str:
        """Never "run the whole suite" after a whole-suite run: that would send a user in
        a circle."""
        if self._record.partial:
            return "run the whole suite with --paramform-update to delete those whose test is gone"
        if self._problem is not None:
            return "an update run that completes with no failure deletes those whose test is gone"
        return "each stays until a run proves its test gone: delete it by hand if it is unused"


def _covers(paths: Iterable[str], golden: Path) -> bool:
    """A path argument that is a folder holding the golden's test folder."""
    test_dir = golden.parent.parent.parent.resolve()
    return any(Path(p).is_dir() and test_dir.is_relative_to(Path(p).resolve()) for p in paths)

"""The rule for deleting a golden, as pure data: proof that its test is gone, or keep it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_paramform.plugin.deletion import CollectedTest, RunRecord, Verdicts, name_key


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("test_net", "test_net"),
        ("test_net[vit]", "test_net"),
        ("test_net.1", "test_net"),
        ("TestArch.test_net[a-b].2", "TestArch.test_net"),
        ("test_net[..escape]", "test_net"),
        ("1abc", ""),
    ],
)
def test_a_golden_belongs_to_its_test_whatever_its_parameters(name: str, key: str) -> None:
    assert name_key(name) == key


@pytest.fixture
def suite(tmp_path: Path) -> tuple[Path, RunRecord]:
    module = tmp_path / "test_arch.py"
    module.write_text("")
    record = RunRecord(modules={str(module.resolve())})
    for name in ("test_a", "test_b"):
        nodeid = f"test_arch.py::{name}"
        record.collected[nodeid] = CollectedTest(nodeid, str(module.resolve()), name)
        record.selected.add(nodeid)
        record.add_outcome(nodeid, "passed")
    return tmp_path / "__snapshots__" / "test_arch", record


def test_a_golden_whose_test_is_gone_may_go(suite: tuple[Path, RunRecord]) -> None:
    folder, record = suite
    verdicts = Verdicts(record)
    assert verdicts.may_delete(str(folder / "test_gone.paramform.yaml"))
    assert verdicts.deleted == [str(folder / "test_gone.paramform.yaml")]
    assert not verdicts.kept


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda r: r.selected.discard("test_arch.py::test_a"), "its test was deselected"),
        (lambda r: r.add_outcome("test_arch.py::test_a", "skipped"), "its test was skipped"),
        (lambda r: r.outcomes.pop("test_arch.py::test_a"), "1 selected test(s) did not run"),
        (lambda r: r.problems.append("the run was interrupted"), "the run was interrupted"),
        (lambda r: r.modules.clear(), "its test module was not collected in this run"),
    ],
    ids=["deselected", "skipped", "not-run", "interrupted", "module-not-collected"],
)
def test_anything_short_of_proof_keeps_the_golden_and_says_why(
    suite: tuple[Path, RunRecord], change: object, reason: str
) -> None:
    folder, record = suite
    change(record)  # type: ignore[operator]
    verdicts = Verdicts(record)
    golden = str(folder / "test_a[vit].paramform.md")
    assert not verdicts.may_delete(golden)
    assert verdicts.kept == {golden: reason}
    assert f"were kept ({reason})" in verdicts.summary()


def ran(**fields: object) -> RunRecord:
    """A record of a run in which one other test passed."""
    record = RunRecord(**fields)  # type: ignore[arg-type]
    record.selected.add("test_other.py::test_x")
    record.add_outcome("test_other.py::test_x", "passed")
    return record


def test_a_deleted_module_loses_its_goldens_unless_the_run_was_narrowed(tmp_path: Path) -> None:
    golden = str(tmp_path / "tests" / "__snapshots__" / "test_gone" / "test_x.paramform.yaml")
    assert Verdicts(ran()).may_delete(golden)
    other = tmp_path / "other"
    other.mkdir()
    narrowed = Verdicts(ran(narrowed_to=[str(other)]))
    assert not narrowed.may_delete(golden)
    assert narrowed.kept[golden] == "its folder was not part of this run"
    assert Verdicts(ran(narrowed_to=[str(tmp_path)])).may_delete(golden)


def test_a_run_that_ran_no_test_deletes_nothing_and_has_nothing_to_say(tmp_path: Path) -> None:
    golden = str(tmp_path / "tests" / "__snapshots__" / "test_gone" / "test_x.paramform.yaml")
    verdicts = Verdicts(RunRecord())
    assert not verdicts.may_delete(golden)
    assert not verdicts.kept


def test_other_snapshots_are_syrupys_to_decide(suite: tuple[Path, RunRecord]) -> None:
    folder, record = suite
    record.problems.append("the run was interrupted")
    verdicts = Verdicts(record)
    assert verdicts.may_delete_any(str(folder.parent / "test_arch.ambr"))
    assert not verdicts.may_delete_any(str(folder / "test_a.paramform.yaml"))


def test_a_golden_its_passing_test_no_longer_makes_may_go(suite: tuple[Path, RunRecord]) -> None:
    folder, record = suite
    verdicts = Verdicts(record)
    assert verdicts.may_delete(str(folder / "test_a.1.paramform.yaml"))
    assert verdicts.may_delete(str(folder / "test_b[vit].paramform.md"))
    assert not verdicts.kept


@pytest.mark.parametrize(
    ("partial", "problem", "advice"),
    [
        (True, None, "run the whole suite with --paramform-update"),
        (False, "the run was interrupted", "an update run that completes with no failure"),
        (False, None, "delete it by hand if it is unused"),
    ],
)
def test_only_a_partial_run_is_told_to_run_the_whole_suite(
    suite: tuple[Path, RunRecord], partial: bool, problem: str | None, advice: str
) -> None:
    folder, record = suite
    record.partial = partial
    record.problems += [problem] if problem else []
    record.add_outcome("test_arch.py::test_a", "skipped")
    verdicts = Verdicts(record)
    assert not verdicts.may_delete(str(folder / "test_a.1.paramform.yaml"))
    assert advice in verdicts.summary()
    assert ("whole suite" in verdicts.summary()) == partial


def test_a_golden_syrupy_left_out_looks_unused_when_no_test_of_its_name_exists(
    suite: tuple[Path, RunRecord],
) -> None:
    folder, record = suite
    module = str((folder.parent.parent / "test_arch.py").resolve())
    record.names[module] = {"test_a", "test_b", "test_helper_not_collected"}
    verdicts = Verdicts(record)
    assert verdicts.looks_unused(str(folder / "test_gone.paramform.yaml"))
    assert verdicts.looks_unused(str(folder / "test_a.1.paramform.yaml"))  # test_a passed
    assert not verdicts.looks_unused(str(folder / "test_helper_not_collected.paramform.yaml"))
    record.add_outcome("test_arch.py::test_b", "skipped")
    assert not Verdicts(record).looks_unused(str(folder / "test_b[vit].paramform.yaml"))
    record.names.clear()  # no test of the module was collected: not this run's business
    assert not Verdicts(record).looks_unused(str(folder / "test_gone.paramform.yaml"))

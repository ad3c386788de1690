"""The pytest side of safe deletion: record what an update run collected, selected and ran.

Registered only for update runs (``--paramform-update`` or syrupy's ``--snapshot-update``),
so other runs pay nothing. Under pytest-xdist the workers collect and the controller
deletes, so each worker sends its record to the controller through ``workeroutput``.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from pytest_paramform.plugin.deletion import CollectedTest, RunRecord, Verdicts

WORKEROUTPUT_KEY = "paramform_run"
_OUTCOMES = ("passed", "failed", "skipped")


def _test_key(item: pytest.Item) -> str:
    """The stem of the test's first golden, as syrupy names and cleans it."""
    from pytest_paramform.plugin.syrupy_compat import first_golden_stem

    return first_golden_stem(item)


class UpdateGuard:
    """A pytest plugin object; one per update run (and per xdist worker)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.record = RunRecord(snapshot_dirname=str(config.getoption("snapshot_dirname")))
        self.verdicts: Verdicts | None = None
        self._workers_up = 0
        self._worker_records: list[dict[str, Any]] = []

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_collection_modifyitems(
        self, items: list[pytest.Item]
    ) -> Generator[None, None, None]:
        """Every collected test, before -k, -m, --deselect, --sw or a conftest drop any."""
        for item in items:
            module = str(item.path.resolve())
            self.record.collected[item.nodeid] = CollectedTest(item.nodeid, module, _test_key(item))
            if module not in self.record.names and isinstance(item, pytest.Function):
                self.record.names[module] = set(vars(item.module))
        yield

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.record.selected.update(item.nodeid for item in session.items)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """Modules that were collected whole; an import skip or an error is not one."""
        if report.passed and "::" not in report.nodeid and report.nodeid.endswith(".py"):
            self.record.modules.add(str((self.config.rootpath / report.nodeid).resolve()))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """A test passed only when its body ran; a failure or skip in any phase counts."""
        if report.outcome in _OUTCOMES and (report.when == "call" or report.outcome != "passed"):
            self.record.add_outcome(report.nodeid, report.outcome)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        self._workers_up += 1

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        sent = getattr(node, "workeroutput", {}).get(WORKEROUTPUT_KEY)
        if error is not None or sent is None:
            self.record.problems.append("a pytest-xdist worker stopped without its report")
        else:
            self._worker_records.append(sent)

    def finish(self, session: pytest.Session, exitstatus: int) -> Verdicts | None:
        """On a worker, send the record on; elsewhere, the verdicts for this run."""
        workeroutput = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[WORKEROUTPUT_KEY] = _dump(self.record)
            return None
        for sent in self._worker_records:
            _merge(self.record, sent)
        self.record.problems[:0] = self._run_problems(session, exitstatus)
        self.verdicts = Verdicts(self.record)
        return self.verdicts

    def _run_problems(self, session: pytest.Session, exitstatus: int) -> list[str]:
        config = self.config
        problems = []
        if exitstatus == pytest.ExitCode.INTERRUPTED or session.shouldstop:
            problems.append("the run was interrupted")
        if config.getoption("collectonly"):
            problems.append("--collect-only ran no test")
        if config.getoption("setuponly", False) or config.getoption("setupplan", False):
            problems.append("--setup-only/--setup-plan ran no test body")
        if session.testsfailed:
            problems.append(f"{session.testsfailed} test(s) failed or did not collect")
        if len(self._worker_records) < self._workers_up:
            problems.append("a pytest-xdist worker stopped without its report")
        if any("::" in arg for arg in config.args):
            problems.append("tests were chosen by node id")
        if config.getoption("lf", False):
            problems.append("--lf ran only the last failures")
        if config.args_source == pytest.Config.ArgsSource.ARGS:
            here = config.invocation_params.dir
            self.record.narrowed_to = [str(Path(here, arg)) for arg in config.args]
        self.record.partial = _chosen_on_command_line(config)
        return problems


_CHOOSING = ("-k", "-m", "--deselect", "--lf", "--last-failed", "--sw", "--stepwise")


def _chosen_on_command_line(config: pytest.Config) -> bool:
    """Whether the command line chose part of the suite: a filter, a node id, or paths
    that leave out part of what a bare run collects (``testpaths``, or the folder)."""
    if any(str(arg).startswith(_CHOOSING) for arg in config.invocation_params.args):
        return True
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return False
    here = config.invocation_params.dir
    given = [Path(here, arg).resolve() for arg in config.args]
    suite = [Path(config.rootpath, p) for p in config.getini("testpaths")] or [here]
    return not all(any(s.resolve().is_relative_to(g) for g in given) for s in suite)


def _dump(record: RunRecord) -> dict[str, Any]:
    """The record in the plain types execnet carries."""
    return {
        "collected": [[t.nodeid, t.module, t.key] for t in record.collected.values()],
        "selected": sorted(record.selected),
        "outcomes": dict(record.outcomes),
        "modules": sorted(record.modules),
        "names": {module: sorted(names) for module, names in record.names.items()},
        "problems": list(record.problems),
    }


def _merge(record: RunRecord, sent: dict[str, Any]) -> None:
    for nodeid, module, key in sent["collected"]:
        record.collected[nodeid] = CollectedTest(nodeid, module, key)
    record.selected.update(sent["selected"])
    record.modules.update(sent["modules"])
    for module, names in sent["names"].items():
        record.names.setdefault(module, set()).update(names)
    record.problems.extend(p for p in sent["problems"] if p not in record.problems)

"""The pytest skin (entry point ``pytest11``). Importing it must stay cheap: torch and the
report machinery load inside the fixture, only in tests that take a snapshot."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from syrupy.assertion import SnapshotAssertion

    from pytest_paramform.plugin.deletion import Verdicts
    from pytest_paramform.plugin.fixture import ParamFormSnapshot
    from pytest_paramform.plugin.summary import RunSummary
    from pytest_paramform.plugin.update_guard import UpdateGuard
    from pytest_paramform.settings import Settings

SETTINGS_KEY = pytest.StashKey["Settings"]()
CLAIMS_KEY = pytest.StashKey[dict[str, str]]()
REMOVED_KEY = pytest.StashKey[list[str]]()
GUARD_KEY = pytest.StashKey["UpdateGuard"]()
CLAIMS_FOLDER_KEY = pytest.StashKey[str]()
SUMMARY_KEY = pytest.StashKey["RunSummary"]()
SUMMARY_WORKEROUTPUT = "paramform_checks"
GITHUB_SUMMARY = "GITHUB_STEP_SUMMARY"  # the job summary file GitHub Actions appends


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("paramform", "parameter form snapshots (pytest-paramform)")
    group.addoption(
        "--paramform-update",
        action="store_true",
        default=False,
        dest="paramform_update",
        help="write or refresh paramform goldens, and delete those whose test is gone "
        "(only after a complete run); other syrupy snapshots are left alone",
    )
    group.addoption(
        "--paramform-charts",
        metavar="DIR",
        default=None,
        dest="paramform_charts",
        help="write a pie chart of each checked model into DIR (needs the 'plot' extra)",
    )
    group.addoption(
        "--paramform-summary",
        metavar="PATH",
        default=None,
        dest="paramform_summary",
        help="append a Markdown summary of the run's goldens to PATH (drifted, new and "
        "unused ones, and how many passed); GITHUB_STEP_SUMMARY gets it too when set",
    )
    from pytest_paramform.options import OPTIONS, ini_help

    for option in OPTIONS:
        parser.addini(option.ini_name, ini_help(option), default=None)


def pytest_configure(config: pytest.Config) -> None:
    from pytest_paramform.options import marker_line

    config.addinivalue_line("markers", marker_line())
    config.stash[CLAIMS_KEY] = {}
    if _updating(config):
        from pytest_paramform.plugin.update_guard import UpdateGuard

        config.stash[GUARD_KEY] = UpdateGuard(config)
        config.pluginmanager.register(config.stash[GUARD_KEY], "paramform-update-guard")
    if any(value is not None for value in _ini_values(config).values()):
        _settings(config)  # a bad ini value stops the run before any test
    if config.pluginmanager.hasplugin("rerunfailures"):  # see plugin/reruns.py
        from pytest_paramform.plugin.reruns import RerunWatch

        watch = RerunWatch(lambda: config.stash.get(SUMMARY_KEY, None))
        config.pluginmanager.register(watch, "paramform-reruns")
    if config.getoption("paramform_charts") and importlib.util.find_spec("matplotlib") is None:
        raise pytest.UsageError(
            "--paramform-charts needs matplotlib: pip install 'pytest-paramform[plot]'"
        )


def _updating(config: pytest.Config) -> bool:
    """An update run: ours, or syrupy's own (which deletes paramform goldens too)."""
    return bool(config.getoption("paramform_update")) or bool(
        config.getoption("update_snapshots", False)
    )


def _settings(config: pytest.Config) -> Settings:
    """The ini settings, read once; a bad value is a usage error naming the option."""
    if SETTINGS_KEY not in config.stash:
        from pytest_paramform.options import OPTIONS
        from pytest_paramform.settings import Settings

        settings = Settings()
        try:
            for option in OPTIONS:
                value = {option.name: config.getini(option.ini_name)}
                settings = settings.updated(value, source=f"ini option {option.ini_name}")
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
        config.stash[SETTINGS_KEY] = settings
    return config.stash[SETTINGS_KEY]


def _ini_values(config: pytest.Config) -> dict[str, Any]:
    from pytest_paramform.options import OPTIONS

    return {option.name: config.getini(option.ini_name) for option in OPTIONS}


@pytest.fixture
def paramform_snapshot(
    request: pytest.FixtureRequest, snapshot: SnapshotAssertion
) -> ParamFormSnapshot:
    """Check a model's parameter architecture against its golden file:
    ``paramform_snapshot(torchvision.models.resnet50)`` (a model, a factory built without
    weights, a state dict, a checkpoint path, or a spec: ``"torchvision:NAME"``,
    ``"hf:configs/llama-7b"``, ``"package.module:callable"``; ``name="student"`` names the
    model and gives a second golden in one test). It fails with every changed, added or
    removed tensor. The golden is ``__snapshots__/<module>/<test>.paramform.yaml``: write
    or refresh it with ``pytest --paramform-update``. Keywords, also ini options
    ``paramform_<name>`` and ``@pytest.mark.paramform(...)``: format (yaml, markdown),
    level (layers, summary), tolerance, rel_tolerance, buffers, dtype, max_parameters,
    max_flops, inputs (record one forward pass on meta: output shapes and FLOPs per
    module), depth.
    Returns the report.
    """
    from pytest_paramform.plugin.fixture import ParamFormSnapshot, overridden_settings

    settings = _settings(request.config)
    marker = request.node.get_closest_marker("paramform")
    if marker is not None:
        try:
            settings = settings.updated(marker.kwargs, source="@pytest.mark.paramform")
        except ValueError as exc:  # `from None`: printed once, not as a chain
            raise pytest.fail.Exception(f"paramform: {exc}", pytrace=False) from None
    return ParamFormSnapshot(
        snapshot=snapshot,
        update=bool(request.config.getoption("paramform_update")),
        settings=settings,
        rootpath=request.config.rootpath,
        claims=request.config.stash[CLAIMS_KEY],
        charts=_charts_dir(request.config),
        shared_claims=_shared_claims(request.config),
        summary=_run_summary(request.config),
        overrides=overridden_settings(request.config.option.override_ini),
        every_tensor=request.config.get_verbosity() >= 2,
    )


def _run_summary(config: pytest.Config) -> RunSummary:
    """The run's record of checks, made by the first check (a run without one pays nothing)."""
    if SUMMARY_KEY not in config.stash:
        from pytest_paramform.plugin.summary import RunSummary

        config.stash[SUMMARY_KEY] = RunSummary()
    return config.stash[SUMMARY_KEY]


def _shared_claims(config: pytest.Config) -> str | None:
    """The claims folder the xdist controller handed this worker, if any."""
    workerinput = getattr(config, "workerinput", None)
    return workerinput.get("paramform_claims") if workerinput else None


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: one claims folder for all workers, so colliding ids are found
    whichever workers run them."""
    from pytest_paramform.plugin.claims import WORKERINPUT_KEY, make_folder

    if CLAIMS_FOLDER_KEY not in node.config.stash:
        node.config.stash[CLAIMS_FOLDER_KEY] = make_folder()
    node.workerinput[WORKERINPUT_KEY] = node.config.stash[CLAIMS_FOLDER_KEY]


def _charts_dir(config: pytest.Config) -> Path | None:
    value = config.getoption("paramform_charts")
    return None if not value else Path(config.invocation_params.dir, value)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: a worker's checks join the run's summary."""
    sent = getattr(node, "workeroutput", {}).get(SUMMARY_WORKEROUTPUT)
    if sent is not None:
        _run_summary(node.config).merge(sent)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed check's short-summary line is its message's first line."""
    report = yield
    if call.excinfo is not None:
        from pytest_paramform.plugin.failures import shorten_summary_line

        shorten_summary_line(report, call.excinfo)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Any:
    """In an update run, decide which unused-looking goldens the run proves unused, for
    syrupy's --snapshot-update and for --paramform-update alike; then write the summary."""
    config = session.config
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None and SUMMARY_KEY in config.stash:
        workeroutput[SUMMARY_WORKEROUTPUT] = config.stash[SUMMARY_KEY].dump()
    guard = _guard(config)
    verdicts = guard.finish(session, exitstatus) if guard is not None else None
    if workeroutput is not None:  # an xdist worker: the controller decides and writes
        result = yield
        _remove_claims(config)
        return result
    if verdicts is None:
        result = yield
    else:
        from pytest_paramform.plugin.syrupy_compat import deleting_only

        with deleting_only(config, verdicts.may_delete_any):
            result = yield
    from pytest_paramform.plugin.cleanup import forget_unproven

    forget_unproven(session)
    # Read before _settle takes the goldens it handled out of syrupy's report.
    unused = _unused_goldens(config) if _summary_wanted(config) else []
    if verdicts is not None:
        _settle(session, verdicts)
    _remove_claims(config)
    _write_summary(config, unused)
    if exitstatus == pytest.ExitCode.INTERRUPTED:  # 2, not syrupy's 2 | 1
        from pytest_paramform.plugin.exit_codes import settle_interrupted

        settle_interrupted(session, exitstatus)
    return result


def _summary_wanted(config: pytest.Config) -> bool:
    return bool(config.getoption("paramform_summary") or os.environ.get(GITHUB_SUMMARY))


def _unused_goldens(config: pytest.Config) -> list[str]:
    from pytest_paramform.plugin.syrupy_compat import finished_report, unused_locations

    unused = unused_locations(finished_report(config))
    if not unused:  # what follows imports the formats: a run without goldens skips it
        return []
    from pytest_paramform.files import relative
    from pytest_paramform.plugin.extensions import is_golden

    run = config.stash.get(SUMMARY_KEY, None)
    owned = run.owned() if run is not None else set()  # a check failed before reading it
    return [
        location
        for location in unused
        if is_golden(location) and relative(location, config.rootpath) not in owned
    ]


def _write_summary(config: pytest.Config, unused: list[str]) -> None:
    """Append the Markdown summary where it was asked for; a run that checked nothing
    adds nothing to a CI job summary."""
    asked = config.getoption("paramform_summary")
    job_summary = os.environ.get(GITHUB_SUMMARY)
    checked = SUMMARY_KEY in config.stash or bool(unused)  # a check ran, or a golden idles
    if not asked and not (job_summary and checked):
        return
    from pytest_paramform.plugin import summary as summaries

    run = _run_summary(config)
    run.unused = summaries.unused_rows(unused, config.rootpath)
    text = run.markdown()
    where = config.invocation_params.dir
    for path in summaries.targets(asked, job_summary if checked else None, where):
        problem = summaries.append(path, text)
        if problem is not None:
            run.problems.append(problem)


def _guard(config: pytest.Config) -> UpdateGuard | None:
    """The update run's record keeper; None outside update runs."""
    return config.stash.get(GUARD_KEY, None)


def _settle(session: pytest.Session, verdicts: Verdicts) -> None:
    from pytest_paramform.plugin.cleanup import (
        deleted_by_syrupy,
        remove_unused_goldens,
        settle_report,
    )

    config = session.config
    syrupy_deletes = bool(config.getoption("update_snapshots", False))
    removed = remove_unused_goldens(session, verdicts, syrupy_deletes=syrupy_deletes)
    settle_report(session, verdicts, set(removed) | set(verdicts.kept))
    # syrupy names its own deletions too; these stay in its report for it to say so
    config.stash[REMOVED_KEY] = removed + (deleted_by_syrupy(session) if syrupy_deletes else [])


def _remove_claims(config: pytest.Config) -> None:
    if CLAIMS_FOLDER_KEY in config.stash:
        from pytest_paramform.plugin.claims import remove_folder

        remove_folder(config.stash[CLAIMS_FOLDER_KEY])


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """One ``paramform`` section: the goldens that drifted, are new or broke (syrupy calls
    a missing one "snapshot failed"), then the goldens an update run deleted or kept."""
    checks = config.stash[SUMMARY_KEY].terminal_lines() if SUMMARY_KEY in config.stash else []
    removed = config.stash.get(REMOVED_KEY, [])
    guard = _guard(config)
    kept = guard.verdicts.kept if guard is not None and guard.verdicts is not None else {}
    checking = guard is None and not hasattr(config, "workerinput")
    unused = _unused_goldens(config) if checking else []
    if not removed and not kept and not checks and not unused:
        return
    from pytest_paramform.files import relative

    terminalreporter.write_sep("-", "paramform")
    for line in checks:
        terminalreporter.write_line(line)
    if unused:
        terminalreporter.write_line(
            f"{len(unused)} paramform golden(s) unused (the test is gone, or no longer makes "
            "that check); pytest --paramform-update deletes them:"
        )
        for location in unused:
            terminalreporter.write_line(f"  {relative(location, config.rootpath)}")
    if removed:
        terminalreporter.write_line(f"{len(removed)} unused paramform golden(s) deleted:")
        for location in removed:
            terminalreporter.write_line(f"  {relative(location, config.rootpath)}")
    if guard is not None and guard.verdicts is not None and kept:
        terminalreporter.write_line(guard.verdicts.summary())
        for location, reason in kept.items():
            terminalreporter.write_line(f"  {relative(location, config.rootpath)}: {reason}")

"""The pytest skin (entry point ``pytest11``): the hooks and the fixture, each handing its
work to the module that holds the idea (``startup``, ``state``, ``session_end``,
``terminal``, ``fixture``). Importing it must stay cheap: torch and the report machinery
load inside the fixture, only in tests that take a snapshot."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

from pytest_paramform.options import keyword_help
from pytest_paramform.plugin import session_end, startup, state, terminal

if TYPE_CHECKING:
    from syrupy.assertion import SnapshotAssertion

    from pytest_paramform.plugin.fixture import ParamFormSnapshot


def pytest_addoption(parser: pytest.Parser) -> None:
    startup.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    startup.configure(config)


def _paramform_snapshot(
    request: pytest.FixtureRequest, snapshot: SnapshotAssertion
) -> ParamFormSnapshot:
    """Check a model's parameter architecture against its golden file:
    ``paramform_snapshot(torchvision.models.resnet50)`` (a model, a factory built without
    weights, a state dict, a checkpoint path, or a spec: ``"torchvision:NAME"``,
    ``"hf:configs/llama-7b"``, ``"package.module:callable"``; ``name="student"`` names the
    model and gives a second golden in one test). It fails with every changed, added or
    removed tensor. The golden is ``__snapshots__/<module>/<test>.paramform.yaml``: write
    or refresh it with ``pytest --paramform-update``. Keywords, also ini options
    ``paramform_<name>`` and ``@pytest.mark.paramform(...)``:
    {keywords}
    (``inputs`` records one forward pass on meta: output shapes and FLOPs per module).
    Returns the report.
    """
    from pytest_paramform.plugin.fixture import ParamFormSnapshot, overridden_settings

    config = request.config
    settings = state.ini_settings(config)
    marker = request.node.get_closest_marker("paramform")
    if marker is not None:
        try:
            settings = settings.updated(marker.kwargs, source="@pytest.mark.paramform")
        except ValueError as exc:  # `from None`: printed once, not as a chain
            raise pytest.fail.Exception(f"paramform: {exc}", pytrace=False) from None
    return ParamFormSnapshot(
        snapshot=snapshot,
        update=bool(config.getoption("paramform_update")),
        settings=settings,
        rootpath=config.rootpath,
        claims=config.stash[state.CLAIMS_KEY],
        charts=state.charts_dir(config),
        shared_claims=state.shared_claims(config),
        summary=state.run_summary(config),
        overrides=overridden_settings(config.option.override_ini),
        every_tensor=config.get_verbosity() >= 2,
    )


# The keywords are named from the option rows (``pytest --fixtures`` shows them), so the
# help never lags behind a new option.
_paramform_snapshot.__doc__ = keyword_help(_paramform_snapshot.__doc__)
paramform_snapshot = pytest.fixture(name="paramform_snapshot")(_paramform_snapshot)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: one claims folder for all workers, so colliding ids are found
    whichever workers run them."""
    from pytest_paramform.plugin.claims import WORKERINPUT_KEY, make_folder

    if state.CLAIMS_FOLDER_KEY not in node.config.stash:
        node.config.stash[state.CLAIMS_FOLDER_KEY] = make_folder()
    node.workerinput[WORKERINPUT_KEY] = node.config.stash[state.CLAIMS_FOLDER_KEY]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: a worker's checks join the run's summary."""
    sent = getattr(node, "workeroutput", {}).get(session_end.SUMMARY_WORKEROUTPUT)
    if sent is not None:
        state.run_summary(node.config).merge(sent)


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
    verdicts = session_end.before_syrupy(session, exitstatus)
    if hasattr(session.config, "workeroutput"):  # an xdist worker: the controller decides
        result = yield
        state.remove_claims(session.config)
        return result
    with session_end.syrupy_deleting(session.config, verdicts):
        result = yield
    session_end.after_syrupy(session, verdicts, exitstatus)
    return result


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """One ``paramform`` section: what the checks found, and what an update run did."""
    terminal.write_section(terminalreporter, config)

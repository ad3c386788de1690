"""What pytest asks of the plugin at startup: its flags and ini options (one per option
row), the marker, and the records an update run or a rerun keeps. Light: no torch, no
report machinery."""

from __future__ import annotations

import importlib.util

import pytest

from pytest_paramform.plugin import state


def add_options(parser: pytest.Parser) -> None:
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


def configure(config: pytest.Config) -> None:
    """The marker, the run's records, and every check that can stop a run before a test."""
    from pytest_paramform.options import marker_line

    config.addinivalue_line("markers", marker_line())
    config.stash[state.CLAIMS_KEY] = {}
    if state.updating(config):
        from pytest_paramform.plugin.update_guard import UpdateGuard

        config.stash[state.GUARD_KEY] = UpdateGuard(config)
        config.pluginmanager.register(config.stash[state.GUARD_KEY], "paramform-update-guard")
    if any(value is not None for value in state.ini_values(config).values()):
        state.ini_settings(config)  # a bad ini value stops the run before any test
    if config.pluginmanager.hasplugin("rerunfailures"):  # see plugin/reruns.py
        from pytest_paramform.plugin.reruns import RerunWatch

        watch = RerunWatch(lambda: config.stash.get(state.SUMMARY_KEY, None))
        config.pluginmanager.register(watch, "paramform-reruns")
    if config.getoption("paramform_charts") and importlib.util.find_spec("matplotlib") is None:
        raise pytest.UsageError(
            "--paramform-charts needs matplotlib: pip install 'pytest-paramform[plot]'"
        )

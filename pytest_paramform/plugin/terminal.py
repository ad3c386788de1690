"""The ``paramform`` section of the terminal summary: the goldens that drifted, are new or
broke (syrupy calls a missing one "snapshot failed"), those left unused, and those an update
run deleted or kept."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_paramform.plugin import state


def write_section(terminalreporter: Any, config: pytest.Config) -> None:
    run = config.stash.get(state.SUMMARY_KEY, None)
    checks = run.terminal_lines() if run is not None else []
    removed = config.stash.get(state.REMOVED_KEY, [])
    guard = state.guard(config)
    kept = guard.verdicts.kept if guard is not None and guard.verdicts is not None else {}
    checking = guard is None and not hasattr(config, "workerinput")
    unused = _unused(config) if checking else []
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


def _unused(config: pytest.Config) -> list[str]:
    from pytest_paramform.plugin.session_end import unused_goldens

    return unused_goldens(config)

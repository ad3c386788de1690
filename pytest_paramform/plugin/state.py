"""What a run keeps on ``config.stash``: one key per record, and the readers that make a
record on first use (a run without a check pays nothing). Light: imported at pytest start."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_paramform.plugin.summary import RunSummary
    from pytest_paramform.plugin.update_guard import UpdateGuard
    from pytest_paramform.settings import Settings

SETTINGS_KEY = pytest.StashKey["Settings"]()
CLAIMS_KEY = pytest.StashKey[dict[str, str]]()
REMOVED_KEY = pytest.StashKey[list[str]]()
GUARD_KEY = pytest.StashKey["UpdateGuard"]()
CLAIMS_FOLDER_KEY = pytest.StashKey[str]()
SUMMARY_KEY = pytest.StashKey["RunSummary"]()


def updating(config: pytest.Config) -> bool:
    """An update run: ours, or syrupy's own (which deletes paramform goldens too)."""
    return bool(config.getoption("paramform_update")) or bool(
        config.getoption("update_snapshots", False)
    )


def ini_settings(config: pytest.Config) -> Settings:
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


def ini_values(config: pytest.Config) -> dict[str, Any]:
    from pytest_paramform.options import OPTIONS

    return {option.name: config.getini(option.ini_name) for option in OPTIONS}


def run_summary(config: pytest.Config) -> RunSummary:
    """The run's record of checks, made by the first check (a run without one pays nothing)."""
    if SUMMARY_KEY not in config.stash:
        from pytest_paramform.plugin.summary import RunSummary

        config.stash[SUMMARY_KEY] = RunSummary()
    return config.stash[SUMMARY_KEY]


def shared_claims(config: pytest.Config) -> str | None:
    """The claims folder the xdist controller handed this worker, if any."""
    workerinput = getattr(config, "workerinput", None)
    return workerinput.get("paramform_claims") if workerinput else None


def charts_dir(config: pytest.Config) -> Path | None:
    value = config.getoption("paramform_charts")
    return None if not value else Path(config.invocation_params.dir, value)


def guard(config: pytest.Config) -> UpdateGuard | None:
    """The update run's record keeper; None outside update runs."""
    return config.stash.get(GUARD_KEY, None)


def remove_claims(config: pytest.Config) -> None:
    if CLAIMS_FOLDER_KEY in config.stash:
        from pytest_paramform.plugin.claims import remove_folder

        remove_folder(config.stash[CLAIMS_FOLDER_KEY])

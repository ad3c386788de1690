from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

# Properties here assert behaviour, never time: a shared CI machine can stall one example
# past hypothesis's default 200 ms deadline (seen once in the oldest-versions run).
settings.register_profile("paramform", deadline=None)
settings.load_profile("paramform")

DATA = Path(__file__).parent / "data"
SEED_CHART_LINE = '<img src="../figs/mobilenet_v2_pie_chart.png" alt="pie_chart" width="500"/>\n\n'


@pytest.fixture(scope="session")
def seed_text() -> str:
    """The original report this product grew from, byte for byte."""
    return (DATA / "mobilenet_v2.md").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def seed_without_chart(seed_text: str) -> str:
    assert SEED_CHART_LINE in seed_text
    return seed_text.replace(SEED_CHART_LINE, "")


@pytest.fixture(autouse=True)
def _not_an_xdist_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """When this suite itself runs under -n, the inner pytester sessions must not think
    they are xdist workers (syrupy skips unused detection on workers)."""
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)


@pytest.fixture(autouse=True)
def _no_ci_job_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """When this suite runs on GitHub Actions, the inner pytester sessions must not append
    to the real job summary; tests that want one point the variable at tmp_path."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)

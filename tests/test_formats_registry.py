"""The golden formats registry: a third format is one module and one ``register`` call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_paramform import ParamFormReport, ParamRow, formats
from pytest_paramform.cli import main
from pytest_paramform.settings import Settings

from suites import run, write_suite

pytest_plugins = ["pytester"]

REPORT = ParamFormReport("m", (ParamRow("a.weight", (4, 3)), ParamRow("a.bias", (4,))))
# What a user's plugin (or a conftest) would hold: a format in one small class.
JSON_FORMAT = """
import json
from pytest_paramform import ParamFormReport, ParamRow
from pytest_paramform.formats import GoldenFormat, register


class JsonFormat(GoldenFormat):
    name = "json"
    file_suffixes = (".json",)

    def render(self, report, *, chart=None):
        rows = [[row.name, list(row.shape)] for row in report.rows]
        return json.dumps({"model": report.name, "rows": rows}, indent=1) + "\\n"

    def parse(self, text, *, path=None):
        data = json.loads(text)
        rows = tuple(ParamRow(name, tuple(shape)) for name, shape in data["rows"])
        return ParamFormReport(data["model"], rows)


register(JsonFormat())
"""


@pytest.fixture
def json_format() -> Iterator[None]:
    namespace: dict[str, object] = {}
    exec(compile(JSON_FORMAT, "json_format.py", "exec"), namespace)
    yield
    formats.unregister("json")


def test_the_built_in_formats_are_registered() -> None:
    assert formats.names() == ("yaml", "markdown")
    assert formats.golden_suffixes() == (".paramform.yaml", ".paramform.md")
    assert formats.for_file("GOLDEN.YML") is formats.get("yaml")
    assert formats.for_file("model.safetensors") is None


def test_a_format_must_implement_both_ways() -> None:
    class Half(formats.GoldenFormat):
        name = "half"
        file_suffixes = (".half",)

        def render(self, report: ParamFormReport, *, chart: str | None = None) -> str:
            return ""

    with pytest.raises(TypeError, match="abstract"):
        Half()  # type: ignore[abstract]


@pytest.mark.usefixtures("json_format")
def test_a_registered_format_is_known_everywhere() -> None:
    assert "json" in formats.names()
    assert Settings().updated({"format": "json"}, source="test").format == "json"
    text = formats.render(REPORT, "json")
    assert json.loads(text)["model"] == "m"
    assert formats.parse(text, "json") == REPORT


@pytest.mark.usefixtures("json_format")
def test_the_cli_writes_and_reads_a_registered_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "linear.json"
    assert main(["report", "torch.nn:Identity", "--format", "json", "--output", str(out)]) == 0
    assert json.loads(out.read_text())["rows"] == []
    assert main(["diff", str(out), str(out)]) == 0
    assert "matches" in capsys.readouterr().out


def test_a_suite_can_keep_goldens_in_a_format_of_its_own(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(JSON_FORMAT)
    pytester.makeini("[pytest]\nparamform_format = json\n")
    try:
        write_suite(pytester)
        run(pytester, "--paramform-update").assert_outcomes(passed=1)
        golden = pytester.path / "__snapshots__/test_arch/test_net.paramform.json"
        assert json.loads(golden.read_text())["model"] == "Net"
        run(pytester).assert_outcomes(passed=1)
        write_suite(pytester, hidden=5)
        result = run(pytester)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["  ~ stem.weight   shape (4, 8) -> (5, 8)   numel 32 -> 40"])
    finally:
        formats.unregister("json")

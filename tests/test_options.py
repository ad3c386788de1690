"""The option table is the one declaration: everything else must agree with it."""

from __future__ import annotations

import inspect

import pytest

from pytest_paramform.cli import _parser
from pytest_paramform.options import OPTIONS, marker_line
from pytest_paramform.plugin.fixture import ParamFormSnapshot
from pytest_paramform.settings import Settings

from suites import run, write_suite

pytest_plugins = ["pytester"]
NAMES = [option.name for option in OPTIONS]


def test_the_fixture_call_takes_exactly_the_options_as_keywords() -> None:
    parameters = inspect.signature(ParamFormSnapshot.__call__).parameters
    keywords = [p.name for p in parameters.values() if p.kind is p.KEYWORD_ONLY]
    assert keywords == ["name", *NAMES]
    assert all(parameters[name].default is None for name in NAMES)


def test_the_marker_and_the_ini_options_come_from_the_table(pytester: pytest.Pytester) -> None:
    assert marker_line().startswith(f"paramform({', '.join(f'{n}=None' for n in NAMES)})")
    result = pytester.runpytest("--help")
    for option in OPTIONS:
        result.stdout.fnmatch_lines([f"  {option.ini_name} (string):*"])


def test_the_cli_flags_come_from_the_table() -> None:
    check = _parser().parse_args(["check", "a", "b.yaml"])
    assert {n: getattr(check, n) for n in NAMES if n != "format"} == {
        n: option.default for option in OPTIONS for n in [option.name] if n != "format"
    }
    report = _parser().parse_args(["report", "x"])
    assert report.format is None, "the --output suffix decides, else the seed's Markdown"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"format": "json"}, "format must be one of yaml, markdown, got 'json'"),
        ({"level": "all"}, "level must be one of layers, summary, got 'all'"),
        ({"tolerance": "lots"}, "tolerance must be a number, got 'lots'"),
        ({"rel_tolerance": -1}, "rel_tolerance must be a finite number >= 0, got -1"),
        ({"buffers": "maybe"}, "buffers must be true or false, got 'maybe'"),
        ({"colour": "red"}, "unknown option colour (known: format, level, tolerance, "),
    ],
)
def test_one_validation_with_one_wording(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match="^where: " + message.replace("(", r"\(")):
        Settings().updated(values, source="where")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("paramform_level = everything", "paramform_level: level must be one of *"),
        ("paramform_format = json", "paramform_format: format must be one of *"),
        ("paramform_tolerance = lots", "paramform_tolerance: tolerance must be a number*"),
        ("paramform_rel_tolerance = -1", "paramform_rel_tolerance: rel_tolerance must be *"),
        ("paramform_dtype = maybe", "paramform_dtype: dtype must be true or false*"),
    ],
)
def test_a_bad_ini_value_names_its_option(
    pytester: pytest.Pytester, line: str, message: str
) -> None:
    write_suite(pytester)
    pytester.makeini(f"[pytest]\n{line}\n")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: ini option {message}"])


def test_pytest_fixtures_teaches_the_fixture(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--fixtures")
    result.stdout.fnmatch_lines(
        ["paramform_snapshot -- *", "*paramform_snapshot(torchvision.models.resnet50)*"]
    )
    result.stdout.fnmatch_lines(["*pytest*", "*--paramform-update*"])

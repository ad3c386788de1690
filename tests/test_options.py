"""The option table is the one declaration: everything else must agree with it."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import pytest

from pytest_paramform import options, sources
from pytest_paramform.cli import _parser, _recorded, main
from pytest_paramform.comparison import CompareOptions
from pytest_paramform.errors import SettingsError
from pytest_paramform.options import OPTIONS, CheckOptions, Option, in_groups, marker_line
from pytest_paramform.plugin.fixture import ParamFormSnapshot as Fixture
from pytest_paramform.plugin.fixture import unexpected_keyword
from pytest_paramform.settings import Settings
from pytest_paramform.sources import LoadOptions

from suites import run, write_suite

pytest_plugins = ["pytester"]
NAMES = [option.name for option in OPTIONS]


def test_the_fixture_call_takes_exactly_the_options_as_keywords() -> None:
    parameters = inspect.signature(Fixture.__call__).parameters
    assert [p.name for p in parameters.values() if p.kind is p.KEYWORD_ONLY] == ["name"]
    assert parameters["options"].kind is inspect.Parameter.VAR_KEYWORD
    assert list(CheckOptions.__annotations__) == NAMES, "editors see each row as a keyword"


def test_a_keyword_that_is_no_option_is_a_type_error(pytester: pytest.Pytester) -> None:
    call = "paramform_snapshot(Net, levl='summary')"
    write_suite(pytester, tests=f"def test_net(paramform_snapshot):\n    {call}\n")
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["E * TypeError: ParamFormSnapshot.__call__() got an unexpected keyword argument 'levl'*"]
    )


class ParamFormSnapshot:
    """The fixture's signature as it was written out, keyword by keyword."""

    def __call__(
        self,
        source: object,
        *,
        name: object = None,
        format: object = None,
        level: object = None,
        tolerance: object = None,
        rel_tolerance: object = None,
        buffers: object = None,
        dtype: object = None,
        max_parameters: object = None,
        max_flops: object = None,
        inputs: object = None,
        depth: object = None,
    ) -> None:
        pass


@pytest.mark.parametrize("key", ["levl", "colour", "names"])
def test_an_unknown_keyword_reads_as_python_words_it_on_this_interpreter(key: str) -> None:
    parameters = inspect.signature(ParamFormSnapshot.__call__).parameters
    assert [p.name for p in parameters.values() if p.kind is p.KEYWORD_ONLY] == ["name", *NAMES]
    with pytest.raises(TypeError) as caught:
        ParamFormSnapshot()(None, **{key: 1})
    assert unexpected_keyword(key) == str(caught.value)


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
    result.stdout.fnmatch_lines(["*format (yaml, markdown), level (layers, summary), *"])
    shown = " ".join(result.stdout.lines)
    assert [name for name in NAMES if not re.search(rf" {name}[ ,.]", shown)] == []


def test_compare_options_are_the_compare_group_field_by_field() -> None:
    assert [f.name for f in dataclasses.fields(CompareOptions)] == list(in_groups("compare"))
    settings = Settings().updated({"level": "summary", "tolerance": "0.5"}, source="here")
    assert settings.compare == CompareOptions("summary", tolerance=0.5)


def test_settings_hold_every_row_at_its_default() -> None:
    assert Settings().flat() == {option.name: option.default for option in OPTIONS}


def test_the_sources_take_every_record_and_forward_option_as_a_keyword() -> None:
    wanted = set(in_groups("record", "forward"))
    assert wanted <= set(LoadOptions.__annotations__)
    for door in (sources.load_with_model, sources.build_report):
        parameters = inspect.signature(door).parameters.values()
        assert wanted <= {p.name for p in parameters if p.kind is p.KEYWORD_ONLY}, door


def test_cli_commands_take_their_groups_flags() -> None:
    report = _parser().parse_args(["report", "x"])
    diff = _parser().parse_args(["diff", "a", "b"])
    assert set(in_groups("record", "budget", "forward")) <= set(vars(report))
    assert not set(in_groups("compare")) & set(vars(report)), "a report compares nothing"
    assert set(in_groups("compare", "record", "forward")) <= set(vars(diff))
    assert not set(in_groups("budget")) & set(vars(diff)), "diff sets no budget"


COLOUR = Option("colour", "choice", "red", "a colour to test", "record", lambda: ("red", "blue"))


@pytest.fixture
def colour_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new option, as a contributor adds one: a row, nothing else."""
    monkeypatch.setattr(options, "OPTIONS", (*OPTIONS, COLOUR))


@pytest.mark.usefixtures("colour_row")
def test_a_new_row_is_validated_and_held_by_the_settings() -> None:
    assert Settings().values["colour"] == "red"
    assert Settings().updated({"colour": "blue"}, source="here").values["colour"] == "blue"
    with pytest.raises(SettingsError, match=r"^here: colour must be one of red, blue, got 'pink'$"):
        Settings().updated({"colour": "pink"}, source="here")


@pytest.mark.usefixtures("colour_row")
def test_a_new_row_is_a_flag_of_the_commands_of_its_group(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for command in (["report", "x"], ["diff", "a", "b"], ["check", "a", "b.yaml"]):
        assert _parser().parse_args([*command, "--colour", "blue"]).colour == "blue"
    with pytest.raises(SystemExit):
        _parser().parse_args(["report", "x", "--colour", "pink"])
    assert "invalid choice: 'pink'" in capsys.readouterr().err


@pytest.mark.usefixtures("colour_row")
def test_a_new_row_is_an_ini_option_and_a_marker_keyword(pytester: pytest.Pytester) -> None:
    assert "colour=None" in marker_line()
    pytester.runpytest("--help").stdout.fnmatch_lines(
        ["  paramform_colour (string):", "*a colour to test: red, blue (default red)"]
    )
    marked = "@pytest.mark.paramform(colour='pink')\n"
    write_suite(pytester, tests=marked + "def test_net(paramform_snapshot):\n    pass\n")
    pytester.makeini("[pytest]\nparamform_colour = blue\n")  # known, valid: no usage error
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*paramform: @pytest.mark.paramform: colour must be one of red, blue, got 'pink'"]
    )
    pytester.makeini("[pytest]\nparamform_colour = pink\n")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: ini option paramform_colour: colour must be one of *"])


@pytest.mark.usefixtures("colour_row")
def test_a_new_row_reaches_the_sources_from_the_fixture(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record row's value is handed to the sources as a keyword, with no line in the
    plugin: what is left to write is its use there."""
    given: list[object] = []
    real = sources.load

    def load(source: object, **options: object) -> object:
        given.append(options.pop("colour"))
        return real(source, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(sources, "load", load)
    call = "paramform_snapshot(Net, colour='blue')\n    paramform_snapshot(Net, name='b')"
    write_suite(pytester, tests=f"def test_net(paramform_snapshot):\n    {call}\n")
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    assert given == ["blue", "red"]


@pytest.mark.usefixtures("colour_row")
def test_a_new_row_reaches_the_sources_and_the_accept_command_from_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _parser().parse_args(["report", "x", "--colour", "blue"])
    assert _recorded(args)["colour"] == "blue"
    golden = tmp_path / "net.yaml"
    assert main(["check", "torchvision:mobilenet_v2", str(golden), "--colour", "blue"]) == 2
    assert (
        "create it with: paramform report torchvision:mobilenet_v2 --colour=blue --format yaml"
        in capsys.readouterr().err
    )

"""Properties: render -> parse gives back the same report, for any names and shapes."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pytest_paramform
from pytest_paramform import ParamFormReport, ParamRow
from pytest_paramform.formats import from_markdown, from_yaml, to_markdown, to_yaml
from pytest_paramform.report import Alias

names = st.text(min_size=1, max_size=40)
shapes = st.lists(st.integers(min_value=0, max_value=6), max_size=8).map(tuple)


# torch's and safetensors' names, one of unknown size, and one YAML would read as null
recorded = st.sampled_from(
    ["float32", "bfloat16", "int64", "float8_e4m3fn", "qint8", "quint4x2", "f4", "int3x2", "null"]
)
# Not recorded, recorded for every tensor (the weights' bytes are stated), or for some.
recordings = st.sampled_from([st.none(), recorded, st.none() | recorded])


@st.composite
def reports(draw: st.DrawFn) -> ParamFormReport:
    """Any report: odd names, shapes, frozen flags, dtypes, ties, buffers, sources."""
    all_names = draw(st.lists(names, unique=True, max_size=30))
    split = draw(st.integers(0, len(all_names)))
    param_names, alias_names = all_names[:split], all_names[split:]
    dtypes = draw(recordings)
    rows = tuple(
        ParamRow(name, draw(shapes), draw(st.booleans()), draw(dtypes)) for name in param_names
    )
    aliases = tuple(
        Alias(name, draw(st.sampled_from(param_names))) for name in alias_names if param_names
    )
    buffers = None
    if draw(st.booleans()):
        buffer_names = draw(st.lists(names, unique=True, max_size=5))
        buffers = tuple(
            ParamRow(n, draw(shapes), dtype=draw(dtypes)) for n in buffer_names
        )
    source = draw(st.sampled_from(["model", "checkpoint"]))
    return ParamFormReport(draw(names), rows, aliases, buffers, source)


@given(reports())
def test_yaml_round_trip(report: ParamFormReport) -> None:
    assert from_yaml(to_yaml(report)) == report


@given(reports())
def test_markdown_round_trip(report: ParamFormReport) -> None:
    assert from_markdown(to_markdown(report)) == report


@given(reports())
def test_shares_sum_to_100_or_nothing(report: ParamFormReport) -> None:
    layers = sum(report.layer_shares.values())
    params = sum(report.parameter_shares.values())
    assert abs(layers - (100.0 if report.num_layers else 0.0)) < 1e-9
    assert abs(params - (100.0 if report.num_parameters else 0.0)) < 1e-9


@pytest.mark.parametrize(
    ("old", "new", "call"),
    [
        ("report.to_yaml()", "to_yaml", lambda r: r.to_yaml()),
        ("report.to_markdown()", "to_markdown", lambda r: r.to_markdown()),
        ("ParamFormReport.from_yaml()", "from_yaml", lambda r: r.from_yaml(to_yaml(r))),
        (
            "ParamFormReport.from_markdown()",
            "from_markdown",
            lambda r: r.from_markdown(to_markdown(r)),
        ),
        ("ParamFormReport.render()", "formats.render", lambda r: r.render("yaml")),
        ("ParamFormReport.parse()", "formats.parse", lambda r: r.parse(to_yaml(r), "yaml")),
    ],
)
def test_the_0_1_spellings_still_work_and_name_the_new_one(
    old: str, new: str, call: Callable[[ParamFormReport], object]
) -> None:
    report = ParamFormReport("m", (ParamRow("w", (3, 4)),))
    message = f"{old} is deprecated and goes away in 0.3: use pytest_paramform.{new}(...)"
    with pytest.warns(DeprecationWarning, match=re.escape(message)) as caught:
        value = call(report)
    assert value in (report, to_yaml(report), to_markdown(report))
    assert caught[0].filename == __file__, "the warning points at the caller's line"


def test_the_new_spellings_are_the_packages_own() -> None:
    for name, function in [("to_yaml", to_yaml), ("to_markdown", to_markdown)]:
        assert getattr(pytest_paramform, name) is function
    assert (pytest_paramform.from_yaml, pytest_paramform.from_markdown) == (
        from_yaml,
        from_markdown,
    )

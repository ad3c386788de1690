"""Properties: render -> parse gives back the same report, for any names and shapes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pytest_paramform import ParamFormReport, ParamRow

names = st.text(min_size=1, max_size=40)
shapes = st.lists(st.integers(min_value=0, max_value=6), max_size=8).map(tuple)


@st.composite
def reports(draw: st.DrawFn) -> ParamFormReport:
    param_names = draw(st.lists(names, unique=True, max_size=25))
    rows = tuple(ParamRow(name, draw(shapes)) for name in param_names)
    return ParamFormReport(draw(names), rows)


@given(reports())
def test_yaml_round_trip(report: ParamFormReport) -> None:
    assert ParamFormReport.from_yaml(report.to_yaml()) == report


@given(reports())
def test_markdown_round_trip(report: ParamFormReport) -> None:
    assert ParamFormReport.from_markdown(report.to_markdown()) == report


@given(reports())
def test_shares_sum_to_100_or_nothing(report: ParamFormReport) -> None:
    layers = sum(report.layer_shares.values())
    params = sum(report.parameter_shares.values())
    assert abs(layers - (100.0 if report.num_layers else 0.0)) < 1e-9
    assert abs(params - (100.0 if report.num_parameters else 0.0)) < 1e-9

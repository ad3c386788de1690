"""Properties: render -> parse gives back the same report, for any names and shapes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pytest_paramform import ParamFormReport, ParamRow
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

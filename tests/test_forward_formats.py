"""The forward section in goldens and drifts: pure data, no torch. It round-trips through
YAML and Markdown, appears only when recorded, and a drift names the module."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_paramform import ParamFormReport, ParamRow
from pytest_paramform.comparison import CompareOptions, compare, render_drift
from pytest_paramform.errors import GoldenError
from pytest_paramform.formats import from_markdown, from_yaml, to_markdown, to_yaml
from pytest_paramform.forward_report import MODEL_LABEL, ForwardInput, ForwardReport, ModuleOutput

shapes = st.lists(st.integers(min_value=0, max_value=300), max_size=5).map(tuple)
texts = st.text(min_size=1, max_size=20).filter(lambda t: "<br>" not in t and t != MODEL_LABEL)
ROWS = (ParamRow("layer4.weight", (8, 4)),)


@st.composite
def forwards(draw: st.DrawFn) -> ForwardReport:
    """Any forward section: odd module and leaf names, lone and named outputs, calls."""
    names = draw(st.lists(texts, unique=True, max_size=8))
    inputs = tuple(
        ForwardInput(name, draw(shapes), draw(st.sampled_from(["float32", "int64", "bool"])))
        for name in draw(st.lists(texts, unique=True, max_size=3))
    )
    modules = []
    for name in ["", *names]:
        leaves = draw(st.lists(texts, unique=True, max_size=3))
        outputs = (
            (("", draw(shapes)),)
            if draw(st.booleans())
            else tuple((leaf, draw(shapes)) for leaf in leaves)
        )
        flops = draw(st.integers(0, 10**13))
        modules.append(ModuleOutput(name, outputs, draw(st.integers(1, 4)), flops))
    total = max((row.flops for row in modules), default=0) + draw(st.integers(0, 10**6))
    return ForwardReport(inputs, draw(st.integers(0, 5)), tuple(modules), total)


@given(forwards())
def test_yaml_round_trip(forward: ForwardReport) -> None:
    report = ParamFormReport("m", ROWS, forward=forward)
    assert from_yaml(to_yaml(report)) == report


@given(forwards())
def test_markdown_round_trip(forward: ForwardReport) -> None:
    report = ParamFormReport("m", ROWS, forward=forward)
    assert from_markdown(to_markdown(report)) == report


def _report(
    layer4: tuple[int, ...] = (1, 2048, 7, 7), flops: int = 800_000_000, **changes: object
) -> ParamFormReport:
    total = 8_178_368_512 - 800_000_000 + flops
    modules = (
        ModuleOutput("", (("", (1, 1000)),), flops=total),
        ModuleOutput("layer4", (("", layer4),), flops=flops),
        ModuleOutput("model", (("last_hidden_state", (1, 8, 32)), ("0.1", (2,)))),
        ModuleOutput("relu", (("", (1, 64)),), calls=3),
    )
    forward = ForwardReport((ForwardInput("0", (1, 3, 224, 224)),), 2, modules, total)
    return ParamFormReport("resnet50", ROWS, forward=forward, **changes)  # type: ignore[arg-type]


YAML_SECTION = """\
forward:
  depth: 2
  flops: 8178368512
  inputs:
  - {name: "0", shape: [1, 3, 224, 224], dtype: float32}
  modules:
  - {name: "", output: [1, 1000], flops: 8178368512, share: 100.00}
  - {name: layer4, output: [1, 2048, 7, 7], flops: 800000000, share: 9.78}
  - {name: model, outputs: {last_hidden_state: [1, 8, 32], "0.1": [2]}, flops: 0, share: 0.00}
  - {name: relu, output: [1, 64], calls: 3, flops: 0, share: 0.00}
"""

MARKDOWN_SECTION = """\
**Forward pass**

FLOPs: 8178368512 (8.18G), 2 per multiply-add

Inputs:

| Input | Shape | dtype |
| --- | --- | --- |
| 0 | (1, 3, 224, 224) | float32 |

Output of each module, down to depth 2:

| Module | Output | Calls | FLOPs | Share of FLOPs (%) |
| --- | --- | --- | --- | --- |
| (model) | (1, 1000) | 1 | 8178368512 | 100.00 |
| layer4 | (1, 2048, 7, 7) | 1 | 800000000 | 9.78 |
| model | last_hidden_state (1, 8, 32)<br>0.1 (2,) | 1 | 0 | 0.00 |
| relu | (1, 64) | 3 | 0 | 0.00 |

"""


def test_the_yaml_section_is_one_line_per_module() -> None:
    text = to_yaml(_report())
    assert text.endswith(YAML_SECTION)
    assert from_yaml(text) == _report()


def test_the_markdown_section_is_a_table_per_kind() -> None:
    text = to_markdown(_report())
    assert text.endswith(MARKDOWN_SECTION)
    assert from_markdown(text) == _report()


def test_without_a_forward_pass_the_documents_do_not_change() -> None:
    plain = ParamFormReport("resnet50", ROWS)
    assert "forward" not in to_yaml(plain)
    assert "Forward pass" not in to_markdown(plain)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("  - {name: layer4, output: [1], flops: 0, share: 0}", "a module is listed twice"),
        ("  - {name: x, output: [1], outputs: {}, flops: 0, share: 0}", "expected output (one"),
        ("  - {name: x, output: [-1], flops: 0, share: 0}", "expected a whole number >= 0"),
        ("  - {name: x, shape: [1]}", "unknown shape"),
        ("  - {name: x, output: [1], flops: 1, share: 9.00}", "FLOPs of x is 9.00% but its"),
    ],
)
def test_a_hand_broken_yaml_section_is_an_error(line: str, message: str) -> None:
    text = to_yaml(_report()) + line + "\n"
    with pytest.raises(GoldenError, match=re.escape(message)):
        from_yaml(text, path="g.yaml")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("| (1, 2048, 7, 7) |", "| 1x2048 |", "expected an output such as"),
        ("| 800000000 | 9.78 |", "| 900000000 | 9.78 |", "9.78% but its FLOPs make 11.00%"),
        ("8178368512 (8.18G)", "8178368512 (8.2G)", "expected 'FLOPs: N (8.18G), 2 per"),
    ],
)
def test_a_hand_broken_markdown_section_is_an_error(old: str, new: str, message: str) -> None:
    text = to_markdown(_report()).replace(old, new)
    with pytest.raises(GoldenError, match=re.escape(message)):
        from_markdown(text, path="g.md")


def _texts(expected: ParamFormReport, actual: ParamFormReport, **options: object) -> list[str]:
    return [d.text for d in compare(expected, actual, CompareOptions(**options))]  # type: ignore[arg-type]


def test_a_stride_change_names_the_module() -> None:
    texts = _texts(_report(), _report(layer4=(1, 2048, 14, 14)))
    assert texts[0] == "~ layer4 output (1, 2048, 7, 7) -> (1, 2048, 14, 14)"
    assert texts[1].startswith("totals: layers 1 -> 1, parameters 32 -> 32")


def test_flops_name_the_module_and_the_total() -> None:
    texts = _texts(_report(), _report(layer4=(1, 2048, 14, 14), flops=1_671_631_488))
    assert texts[:2] == [
        "~ layer4 output (1, 2048, 7, 7) -> (1, 2048, 14, 14)   FLOPs 800.00M -> 1.67G (+109.0%)",
        "FLOPs 8.18G -> 9.05G (+10.7%)",
    ]


def test_at_the_summary_level_flops_follow_rel_tolerance() -> None:
    old, new = _report(), _report(flops=1_671_631_488)  # total +10.65%
    assert _texts(old, new, level="summary", rel_tolerance=0.11) == []
    assert _texts(old, new, level="summary", rel_tolerance=0.1) == [
        "FLOPs 8.18G -> 9.05G (+10.7%, tolerance 10%)"
    ]


def test_named_leaves_added_and_removed_modules_and_calls() -> None:
    old = _report()
    assert old.forward is not None
    head, layer4, model, relu = old.forward.modules
    changed = (
        ModuleOutput("", (("", (1, 10)),)),
        layer4,
        ModuleOutput("model", (("last_hidden_state", (1, 16, 32)), ("0.1", (2,)))),
        ModuleOutput("relu", relu.outputs, calls=4),
        ModuleOutput("layer5", (("", (1, 4)),)),
    )
    new = ParamFormReport("m", ROWS, forward=ForwardReport(old.forward.inputs, 2, changed))
    assert _texts(old, new)[:4] == [
        "~ (model) output (1, 1000) -> (1, 10)",
        "~ model output last_hidden_state (1, 8, 32) -> (1, 16, 32)",
        "~ relu calls 3 -> 4",
        "+ layer5 output (1, 4)",
    ]
    del_layer4 = (head, model, relu)
    gone = ParamFormReport("m", ROWS, forward=ForwardReport(old.forward.inputs, 2, del_layer4))
    assert _texts(old, gone)[0] == "- layer4 output (1, 2048, 7, 7)"


def test_turning_the_forward_pass_on_or_off_fails_once() -> None:
    plain = ParamFormReport("resnet50", ROWS)
    assert _texts(plain, _report())[0] == (
        "forward pass: this run records it and the golden does not"
    )
    assert _texts(_report(), plain)[0].startswith(
        "forward pass: the golden records it and this run does not"
    )
    assert _texts(_report(), _report()) == []


def test_other_inputs_are_a_drift() -> None:
    old = _report()
    assert old.forward is not None
    inputs = (ForwardInput("0", (2, 3, 224, 224)),)
    new = ParamFormReport("m", ROWS, forward=ForwardReport(inputs, 2, old.forward.modules))
    assert _texts(old, new)[0] == (
        "forward inputs 0 (1, 3, 224, 224) float32 -> 0 (2, 3, 224, 224) float32"
    )


def test_the_summary_level_holds_the_model_output_only() -> None:
    assert _texts(_report(), _report(layer4=(1, 2048, 14, 14)), level="summary") == []
    old = _report()
    assert old.forward is not None
    head = ModuleOutput("", (("", (1, 10)),))
    modules = (head, *old.forward.modules[1:])
    forward = ForwardReport(old.forward.inputs, 2, modules, old.forward.flops)
    new = ParamFormReport("m", ROWS, forward=forward)
    assert _texts(old, new, level="summary") == ["~ (model) output (1, 1000) -> (1, 10)"]


def _blocks(*outputs: tuple[int, ...], flops: int = 0) -> ParamFormReport:
    """A model of repeated blocks, one output shape each, and a head."""
    modules = [ModuleOutput("", (("", (1, 10)),))]
    modules += [
        ModuleOutput(f"layers.{k}", (("", shape),), flops=flops) for k, shape in enumerate(outputs)
    ]
    modules.append(ModuleOutput("head", (("", (1, 10)),)))
    inputs = (ForwardInput("0", (1, 8)),)
    return ParamFormReport("m", ROWS, forward=ForwardReport(inputs, 2, tuple(modules), 4 * flops))


def _message(old: ParamFormReport, new: ParamFormReport, *, fold: bool = True) -> list[str]:
    drifts = compare(old, new)
    text = render_drift(drifts, model="m", golden="g", accept=None, fold=fold)
    return text.splitlines()[1:]


def test_the_same_change_in_repeated_blocks_is_one_line() -> None:
    old, new = _blocks(*[(1, 8, 32)] * 4), _blocks(*[(1, 8, 16)] * 3, (1, 8, 32))
    assert _message(old, new)[0] == "  ~ layers.{0..2} output (1, 8, 32) -> (1, 8, 16)   3 modules"
    assert _message(old, new, fold=False)[:3] == [
        f"  ~ layers.{k} output (1, 8, 32) -> (1, 8, 16)" for k in range(3)
    ]


def test_blocks_whose_changes_differ_are_lines_of_their_own() -> None:
    old = _blocks(*[(1, 8, 32)] * 3, flops=1000)
    new = _blocks((1, 8, 16), (1, 8, 16), (1, 8, 64), flops=2000)
    assert _message(old, new)[:2] == [
        "  ~ layers.{0,1} output (1, 8, 32) -> (1, 8, 16)   FLOPs 1.00K -> 2.00K (+100.0%)"
        "   2 modules, FLOPs each",
        "  ~ layers.2 output (1, 8, 32) -> (1, 8, 64)   FLOPs 1.00K -> 2.00K (+100.0%)",
    ]


def test_blocks_added_at_the_end_are_one_line() -> None:
    old, new = _blocks(*[(1, 8, 32)] * 2), _blocks(*[(1, 8, 32)] * 6)
    assert _message(old, new)[0] == "  + layers.{2..5} output (1, 8, 32)   4 modules"
    assert _message(new, old)[0] == "  - layers.{2..5} output (1, 8, 32)   4 modules"

"""The weights' bytes by dtype: stated in both goldens and in a drift's totals line when
dtypes are recorded, counted as the tensors are stored (torch's sizes, safetensors' bytes
on disk), checked against the rows on load, and absent when dtypes are not recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn

from pytest_paramform import (
    ParamFormReport,
    ParamRow,
    build_report,
    compare,
    from_markdown,
    from_yaml,
    render_drift,
    to_markdown,
    to_yaml,
)
from pytest_paramform.errors import GoldenError
from pytest_paramform.report import short_bytes
from pytest_paramform.weight_memory import DTYPE_BITS, DtypeWeights

QUANTIZED_DEPRECATED = "ignore:.*quantiz.* deprecated"
MOBILENET_PARAMETERS = 3_504_872


def torch_dtypes() -> list[torch.dtype]:
    found = (getattr(torch, name) for name in dir(torch))
    return sorted({d for d in found if isinstance(d, torch.dtype)}, key=str)


@pytest.mark.filterwarnings(QUANTIZED_DEPRECATED)
@pytest.mark.parametrize("dtype", torch_dtypes(), ids=str)
def test_every_torch_dtype_has_its_stored_size(dtype: torch.dtype) -> None:
    """A model never gets an unknown size: each of torch's dtypes is in the table, at
    what its storage takes (the 4- and 2-bit quantized ones pack elements in a byte)."""
    name = str(dtype).removeprefix("torch.")
    if dtype in (torch.quint4x2, torch.quint2x4):
        packed = torch.quantize_per_tensor(torch.rand(4, 4), 0.1, 0, dtype)
        assert DTYPE_BITS[name] == packed.untyped_storage().nbytes() * 8 // 16
    else:
        assert DTYPE_BITS[name] == dtype.itemsize * 8


def test_a_safetensors_checkpoint_states_the_bytes_it_holds(tmp_path: Path) -> None:
    """bfloat16 2 bytes, float8 1, and safetensors' packed 4-bit floats half a byte: the
    stated total is the size of the file's data."""
    spans = {"embed": ("BF16", [10, 4], 80), "proj": ("F8_E4M3", [4, 4], 16)}
    spans |= {"packed": ("F4", [6, 4], 12), "norm": ("F32", [4], 16)}
    header, offset = {}, 0
    for name, (code, shape, size) in spans.items():
        header[name] = {"dtype": code, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    path = tmp_path / "model.safetensors"
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + bytes(offset))

    weights = build_report(path, dtype=True).weights

    assert weights is not None
    assert weights.bytes == offset == 124
    assert weights.dtypes == (
        DtypeWeights("bfloat16", 40, 80),
        DtypeWeights("float8_e4m3fn", 16, 16),
        DtypeWeights("f4", 24, 12),
        DtypeWeights("float32", 4, 16),
    )


@pytest.mark.filterwarnings(QUANTIZED_DEPRECATED)
def test_a_dynamic_quantized_model_counts_its_int8_weights_a_byte_each() -> None:
    def quantized() -> nn.Module:
        model = nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 10))
        return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)

    weights = build_report(quantized, dtype=True).weights

    assert weights is not None
    assert weights.dtypes == (
        DtypeWeights("qint8", 256 * 512 + 512 * 10, 256 * 512 + 512 * 10),
        DtypeWeights("float32", 522, 4 * 522),
    )


def mobilenet(dtype: torch.dtype) -> ParamFormReport:
    return build_report(lambda: torchvision.models.mobilenet_v2().to(dtype), dtype=True)


def test_both_goldens_state_the_weights_of_a_real_model() -> None:
    report = mobilenet(torch.bfloat16)

    yaml = to_yaml(report)
    assert "trainable: 3504872\nweight_bytes: 7009744\ndtypes:\n" in yaml
    assert "\n  bfloat16: {parameters: 3504872, bytes: 7009744}\nforms:\n" in yaml
    markdown = to_markdown(report)
    assert "**Weight memory: [ 7.01 MB ]**\n\n| dtype | Parameters | Bytes |\n" in markdown
    assert "\n| bfloat16 | 3504872 | 7009744 |\n" in markdown
    assert from_yaml(yaml) == report == from_markdown(markdown)


def test_a_cast_says_what_it_does_to_the_weights() -> None:
    before, after = mobilenet(torch.float32), mobilenet(torch.bfloat16)

    drifts = compare(before, after)
    message = render_drift(drifts, model="mobilenet_v2", golden="g", accept=None)

    assert "dtype float32 -> bfloat16: * (3,504,872 parameters in 158 tensors)" in message
    assert message.endswith(
        "parameters 3,504,872 -> 3,504,872 (+0, +0.00%), weights 14.02 MB -> 7.01 MB (-7.01 MB)"
    )


def test_without_dtypes_the_goldens_say_nothing_of_bytes() -> None:
    report = build_report(torchvision.models.mobilenet_v2)

    assert report.weights is None
    assert "weight_bytes" not in to_yaml(report)
    assert "dtypes:" not in to_yaml(report)
    assert "Weight memory" not in to_markdown(report)
    grown = ParamFormReport("m", (ParamRow("w", (4, 4)),))
    totals = compare(ParamFormReport("m", ()), grown)[-1].text
    assert "weights" not in totals


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0 B"), (999, "999 B"), (1000, "1.00 kB"), (7_009_744, "7.01 MB"), (3.2e9, "3.20 GB")],
)
def test_bytes_are_short_and_1000_based(value: float, text: str) -> None:
    assert short_bytes(int(value)) == text


def test_a_dtype_of_unknown_size_is_said_so_rather_than_counted_as_nothing() -> None:
    report = ParamFormReport("m", (ParamRow("w", (4, 4), dtype="int3x2"),))

    assert report.weights is not None
    assert report.weights.bytes is None
    assert "weight_bytes: null\ndtypes:\n  int3x2: {parameters: 16, bytes: null}\n" in (
        to_yaml(report)
    )
    assert "**Weight memory: [ unknown ]**" in to_markdown(report)
    assert from_markdown(to_markdown(report)) == report


TWO = ParamFormReport(
    "m", (ParamRow("a", (4, 4), dtype="float32"), ParamRow("b", (8,), dtype="int8"))
)


def test_two_dtypes_are_listed_in_model_order() -> None:
    lines = to_yaml(TWO).splitlines()
    at = lines.index("dtypes:")
    assert lines[at - 1 : at + 3] == [
        "weight_bytes: 72",
        "dtypes:",
        "  float32: {parameters: 16, bytes: 64}",
        "  int8: {parameters: 8, bytes: 8}",
    ]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("weight_bytes: 72", "weight_bytes: 71", "the weights take 71 bytes but the rows give 72"),
        ("bytes: 64}", "bytes: 32}", "float32 weights are 16 parameters in 32 bytes"),
        ("  int8: {parameters: 8, bytes: 8}\n", "", "weights by dtype list ['float32']"),
        ("weight_bytes: 72\n", "", "weight_bytes and dtypes go together"),
    ],
)
@pytest.mark.parametrize("reader", ["fast", "PyYAML"])
def test_a_hand_edited_yaml_figure_names_its_line(
    old: str, new: str, message: str, reader: str
) -> None:
    edited = to_yaml(TWO).replace(old, new, 1)
    if reader == "PyYAML":  # a comment the fast reader does not take
        edited = edited.replace("\nforms:", "\nforms:  # edited by hand", 1)
    with pytest.raises(GoldenError, match=message.replace("[", r"\[")) as caught:
        from_yaml(edited, path="g.yaml")
    assert caught.value.line is not None


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("[ 72 B ]", "[ 80 B ]", "the weight memory is 80 B but the table adds up to 72 B"),
        ("| int8 | 8 | 8 |", "| int8 | 8 | 16 |", "int8 weights are 8 parameters in 16 bytes"),
    ],
)
def test_a_hand_edited_markdown_figure_names_its_line(old: str, new: str, message: str) -> None:
    edited = to_markdown(TWO).replace(old, new, 1)
    with pytest.raises(GoldenError, match=message) as caught:
        from_markdown(edited)
    assert caught.value.line is not None


def test_a_golden_written_before_weights_were_stated_still_loads() -> None:
    yaml = to_yaml(TWO)
    older = yaml.replace("weight_bytes: 72\n", "").split("dtypes:\n")[0] + "forms:\n"
    older += yaml.split("\nforms:\n", 1)[1]
    assert from_yaml(older) == TWO
    markdown = to_markdown(TWO)
    start = markdown.index("**Weight memory")
    end = markdown.index("**Proportional")
    assert from_markdown(markdown[:start] + markdown[end:]) == TWO


def test_stated_weights_without_dtypes_are_an_error() -> None:
    plain = to_yaml(ParamFormReport("m", (ParamRow("a", (4, 4)),)))
    stated = "weight_bytes: 64\ndtypes:\n  float32: {parameters: 16, bytes: 64}\n"
    forged = plain.replace("forms:", stated + "forms:")
    with pytest.raises(GoldenError, match="not every parameter row records its dtype"):
        from_yaml(forged)

"""How factories are built: big tensors never allocated, builds that read a value retried
with bounded real memory, quantized layers reported, and names that say which model."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import pytest
import timm
import torch
import transformers
from torch import nn

from pytest_paramform import SourceError, build_report, empty_weights
from pytest_paramform.sources.building import ladder as building

# torch < 2.4 loads no quantized dtype with weights_only=True; it refuses, and so do we.
OLD_WEIGHTS_ONLY_LOADER = tuple(int(p) for p in torch.__version__.split(".")[:2]) < (2, 4)
QUANTIZE_DEPRECATED = "ignore:torch.ao.quantization is deprecated:DeprecationWarning"


class FusedExperts(nn.Module):
    """A MoE layer as the big checkpoints write it: every expert in one tensor, made at full
    size first (here 64 x 8192 x 16384 float32 zeros, 32 GiB)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = nn.Linear(8192, 64, bias=False)
        self.experts = nn.Parameter(torch.zeros(64, 8192, 16384))


def test_a_tensor_too_big_to_allocate_is_made_on_meta_from_the_start() -> None:
    report = build_report(FusedExperts)
    assert [row.shape for row in report.rows] == [(64, 8192, 16384), (64, 8192)]


def test_small_tensor_math_while_building_still_has_values() -> None:
    class Widths(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            widths = (torch.arange(4) * 8 + 8).tolist()  # regnet-style: values are read
            self.layers = nn.ModuleList(nn.Linear(w, w) for w in widths)

    assert [row.shape for row in build_report(Widths).rows][::2] == [
        (8, 8), (16, 16), (24, 24), (32, 32)
    ]


class WidthFromAFilledIndex(nn.Module):
    """Fills a small fresh tensor, copies it into a buffer and sizes a layer from it: every
    value is real, so the layer must be as wide as a real build makes it."""

    def __init__(self) -> None:
        super().__init__()
        index = torch.empty(5, dtype=torch.long)
        for i in range(5):
            index[i] = i * 3
        self.register_buffer("index", torch.zeros(5, dtype=torch.long))
        self.index.copy_(index)
        self.head = nn.Linear(4, int(self.index.max()) + 1)


def test_values_written_into_small_fresh_tensors_are_real_while_building() -> None:
    report = build_report(WidthFromAFilledIndex)
    assert [row.shape for row in report.rows] == [(13, 4), (13,)]


class WidthFromABigTensor(nn.Module):
    """Writes values computed from a big fresh tensor (made on meta) into a small real one,
    then sizes its layers from them."""

    def __init__(self) -> None:
        super().__init__()
        widths = torch.zeros(3, dtype=torch.long)
        scores = torch.ones(2048, 1024)
        widths[:] = scores.sum(0)[:3].long() // 64
        self.layers = nn.ModuleList(nn.Linear(8, int(w)) for w in widths)


def test_values_computed_from_a_tensor_on_meta_are_never_made_up() -> None:
    report = build_report(WidthFromABigTensor)
    assert [row.shape for row in report.rows][::2] == [(32, 8)] * 3


class ProbesItsBackbone(nn.Module):
    """Runs a sample image through its backbone to size its head, as timm's hybrid
    embeddings (vitamin) and torchvision's SSDlite do."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(
            nn.LayerNorm(64), nn.Conv2d(3, 64, 3, stride=2), nn.Conv2d(64, 128, 3, stride=2)
        )
        with torch.no_grad():
            features = self.backbone(torch.zeros(1, 3, 64, 64))
        self.head = nn.Linear(features[0].numel(), 10)


def test_a_backbone_probed_with_a_real_sample_runs_on_meta(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(building, "BUILD_MEMORY_BUDGET", 1024**2)  # no room for a retry
    report = build_report(ProbesItsBackbone)
    monkeypatch.undo()
    assert report.rows == build_report(ProbesItsBackbone()).rows
    assert report.rows[-2].shape == (10, 128 * 15 * 15)


class PositionTable(nn.Module):
    """A big sinusoidal table built on the CPU, then moved to the device of a small real
    tensor, as speech models do (seamless_m4t)."""

    def __init__(self) -> None:
        super().__init__()
        anchor = torch.tensor(0.0).expand(1, 4096)
        table = torch.zeros(4096, 512)  # 2M elements: made on meta
        table[:, 0::2] = torch.sin(torch.arange(4096).float().unsqueeze(1))
        self.register_buffer("table", table.to(device=anchor.device, dtype=anchor.dtype))
        self.proj = nn.Linear(512, 512)


def test_a_big_table_moved_to_the_cpu_stays_on_meta_and_the_model_reports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(building, "BUILD_MEMORY_BUDGET", 1024**2)  # no room for a retry
    report = build_report(PositionTable, buffers=True)
    monkeypatch.undo()
    assert report == build_report(PositionTable(), buffers=True)
    assert [row.shape for row in report.buffers or ()] == [(4096, 512)]


def test_empty_weights_puts_big_fresh_tensors_on_meta_and_keeps_small_ones_real() -> None:
    with empty_weights():
        big = torch.zeros(4096, 4096)
        small = torch.ones(3)
    assert big.device.type == "meta"
    assert small.device.type == "cpu"
    assert small.tolist() == [1.0, 1.0, 1.0]


MOE_SCRIPT = """
import resource, sys
import transformers
from pytest_paramform import build_report

config = transformers.AutoConfig.for_model("deepseek_v3")  # the 671B default
cls = transformers.MODEL_FOR_CAUSAL_LM_MAPPING[type(config)]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
report = build_report(lambda: cls(config))
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(report.num_parameters, report.num_layers, grown // 1024)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS and ru_maxrss in KiB: Linux")
def test_a_671b_moe_config_reports_without_allocating_its_experts(tmp_path: Path) -> None:
    """In a child process capped at 16 GiB of address space, so that a regression fails
    here instead of taking the machine's memory."""
    limit = 16 * 1024**3
    script = tmp_path / "moe.py"
    script.write_text(MOE_SCRIPT)
    cap = f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))"
    child = subprocess.run(
        [sys.executable, "-c", f"{cap}; exec(open({str(script)!r}).read())"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    parameters, layers, grown_mb = map(int, child.stdout.split())
    with torch.device("meta"):
        config = transformers.AutoConfig.for_model("deepseek_v3")
        expected = build_report(transformers.MODEL_FOR_CAUSAL_LM_MAPPING[type(config)](config))
    assert (parameters, layers) == (expected.num_parameters, expected.num_layers)
    assert parameters > 600 * 10**9
    assert grown_mb < 1024, f"building grew the process by {grown_mb} MB"


def small_gpt2() -> transformers.GPT2LMHeadModel:
    return transformers.GPT2LMHeadModel(transformers.GPT2Config(n_layer=1, n_embd=64, n_head=2))


def resized() -> nn.Module:
    model = small_gpt2()
    model.resize_token_embeddings(50260)  # averages the old embeddings: reads values
    return model


def test_a_build_that_reads_weight_values_is_retried_and_matches_a_real_build() -> None:
    report = build_report(resized)
    assert report.rows == build_report(resized()).rows
    assert report.rows[0].shape == (50260, 64)


class ReadsAValue(nn.Module):
    """Reads its own weight while it is built, with an error torch words without 'meta'."""

    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.eye(4))
        self.nonzero = int(torch.nonzero(self.table).shape[0])


class RewordsTheError(nn.Module):
    """Catches the failure and raises its own error, in its own words."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(3))
        try:
            self.norm = float(self.scale.norm())
        except RuntimeError as exc:
            raise ValueError("could not size the attention table") from exc


@pytest.mark.parametrize("model", [ReadsAValue, RewordsTheError], ids=lambda m: m.__name__)
def test_a_failure_caused_by_meta_is_told_apart_whatever_its_wording(model: type) -> None:
    assert build_report(model).rows == build_report(model()).rows


def test_an_error_of_the_models_own_is_never_retried_with_real_memory() -> None:
    devices = []

    def broken() -> nn.Module:
        devices.append(nn.Linear(2, 2).weight.device.type)
        raise ValueError("hidden_size must divide by num_heads")

    with pytest.raises(ValueError, match="divide by num_heads"):
        build_report(broken)
    assert set(devices) == {"meta"}, "only ever built without weights"


def test_a_retry_that_would_pass_the_memory_budget_stops_before_allocating(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(building, "BUILD_MEMORY_BUDGET", 1024**2)
    built: list[int] = []

    def big_and_reads() -> nn.Module:
        model = nn.Linear(1024, 1024)  # 4 MiB of float32: past a 1 MiB budget
        float(model.weight.sum())
        built.append(1)
        return model

    with pytest.raises(SourceError) as info:
        build_report(big_and_reads)
    message = str(info.value)
    assert "big_and_reads reads weight values while it is built" in message
    assert "would make more than 1 MiB of tensors" in message
    assert "empty_weights()" in message
    assert built == []


@pytest.mark.filterwarnings(QUANTIZE_DEPRECATED)
def test_a_dynamic_quantized_model_reports_its_packed_linear_weights() -> None:
    def quantized() -> nn.Module:
        model = transformers.DistilBertModel(transformers.DistilBertConfig(n_layers=1))
        return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)

    report = build_report(quantized, dtype=True)
    float_model = build_report(
        lambda: transformers.DistilBertModel(transformers.DistilBertConfig(n_layers=1))
    )
    assert [(r.name, r.shape) for r in report.rows] == [
        (r.name, r.shape) for r in float_model.rows
    ]
    assert report.num_parameters == float_model.num_parameters
    q_lin = {r.name: r for r in report.rows}["transformer.layer.0.attention.q_lin.weight"]
    assert (q_lin.dtype, q_lin.frozen) == ("qint8", True)


class Recurrent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.LSTM(8, 16, num_layers=2)
        self.gru = nn.GRU(4, 6, bidirectional=True)
        self.head = nn.Linear(16, 4)


@pytest.mark.filterwarnings(QUANTIZE_DEPRECATED)
def test_quantized_lstm_and_gru_report_their_weights_under_the_float_names() -> None:
    def quantized() -> nn.Module:
        return torch.ao.quantization.quantize_dynamic(Recurrent(), dtype=torch.qint8)

    report = build_report(quantized, dtype=True)
    float_model = build_report(Recurrent)
    assert [(r.name, r.shape) for r in report.rows] == [
        (r.name, r.shape) for r in float_model.rows
    ]
    assert {r.name: r.dtype for r in report.rows}["gru.weight_hh_l0_reverse"] == "qint8"


@pytest.mark.filterwarnings(QUANTIZE_DEPRECATED)
def test_a_quantized_state_dict_is_read_with_its_packed_weights(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 3), nn.Linear(3, 2, bias=False))
    quantized = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    path = tmp_path / "quantized.pt"
    torch.save(quantized.state_dict(), path)
    if OLD_WEIGHTS_ONLY_LOADER:
        with pytest.raises(SourceError, match=r"refused by torch\.load\(weights_only=True\)"):
            build_report(path)
        return
    rows = {row.name: row for row in build_report(path, dtype=True).rows}
    assert (rows["1.weight"].shape, rows["1.weight"].dtype) == ((3, 4), "qint8")
    assert rows["1.bias"].shape == (3,)
    assert "2.bias" not in rows
    assert rows["2.weight"].shape == (2, 3)
    assert not any("_packed_params" in name for name in rows)


def test_a_partial_of_a_generic_builder_is_named_after_its_model() -> None:
    report = build_report(functools.partial(timm.create_model, "resnet50"))
    assert report.name == "resnet50"
    assert report.num_parameters == 25_557_032


@pytest.mark.parametrize("name", ["swinv2_tiny_window8_256", "swinv2_cr_tiny_224"])
def test_timm_models_that_copy_tensors_while_building_match_a_real_build(name: str) -> None:
    report = build_report(functools.partial(timm.create_model, name))
    real = build_report(timm.create_model(name))
    assert (report.rows, report.aliases) == (real.rows, real.aliases)


class LoRALinear(nn.Module):
    """A LoRA-style wrapper: the base layer frozen, two small trainable factors beside it."""

    def __init__(self, base: nn.Linear, rank: int = 4) -> None:
        super().__init__()
        self.base = base.requires_grad_(False)
        self.lora_a = nn.Parameter(torch.zeros(rank, base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))


def test_a_lora_style_wrapper_reports_frozen_base_and_trainable_factors() -> None:
    report = build_report(lambda: LoRALinear(nn.Linear(16, 8)), name="lora")
    assert [(r.name, r.shape, r.frozen) for r in report.rows] == [
        ("lora_a", (4, 16), False),
        ("lora_b", (8, 4), False),
        ("base.weight", (8, 16), True),
        ("base.bias", (8,), True),
    ]
    assert report.num_trainable == 4 * 16 + 8 * 4

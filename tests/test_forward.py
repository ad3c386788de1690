"""The forward section: output shapes per module from one pass on ``meta``, equal to what a
real forward pass on real tensors gives; the user's module is left as it was."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import torchvision
import transformers
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from pytest_paramform import build_report
from pytest_paramform.cli import main
from pytest_paramform.errors import SettingsError, SourceError
from pytest_paramform.forward_report import ForwardInput, parse_inputs
from pytest_paramform.sources.factories import build
from pytest_paramform.sources.forward import leaves, modules_to_depth
from pytest_paramform.sources.pass_stand_ins import stand_ins

TINY_LLAMA = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 100,
}


def real_outputs(model: nn.Module, depth: int, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """What a real forward pass (real weights, real inputs) gives, module by module."""
    seen: dict[str, Any] = {}

    def hook(name: str) -> Any:
        def record(_module: nn.Module, _args: Any, output: Any) -> None:
            seen.setdefault(name, tuple(leaves(output)))

        return record

    handles = [
        sub.register_forward_hook(hook(name)) for name, sub in modules_to_depth(model, depth)
    ]
    model.eval()
    with torch.no_grad():
        model(*args, **kwargs)
    for handle in handles:
        handle.remove()
    return seen


def real_flops(
    model: nn.Module, depth: int, *args: Any, **kwargs: Any
) -> tuple[int, dict[str, int]]:
    """FlopCounterMode on real tensors: the total, and each module's (pre/post hooks)."""
    counter = FlopCounterMode(display=False)
    flops: dict[str, int] = {}
    start: dict[str, int] = {}
    handles = []
    for name, sub in modules_to_depth(model, depth):
        handles.append(
            sub.register_forward_pre_hook(
                lambda _m, _a, name=name: start.__setitem__(name, counter.get_total_flops())
            )
        )
        handles.append(
            sub.register_forward_hook(
                lambda _m, _a, _o, name=name: flops.__setitem__(
                    name, flops.get(name, 0) + counter.get_total_flops() - start[name]
                )
            )
        )
    model.eval()
    with torch.no_grad(), counter:
        model(*args, **kwargs)
    for handle in handles:
        handle.remove()
    return counter.get_total_flops(), flops


def recorded(report: Any) -> dict[str, Any]:
    return {row.name: row.outputs for row in report.forward.modules}


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small"])
def test_torchvision_output_shapes_equal_a_real_forward_pass(name: str) -> None:
    factory = torchvision.models.get_model_builder(name)
    report = build_report(lambda: factory(weights=None), inputs=parse_inputs((2, 3, 64, 64), "t"))
    torch.manual_seed(0)
    real = real_outputs(factory(weights=None), 2, torch.randn(2, 3, 64, 64))
    assert recorded(report) == real
    assert report.forward.modules[0].outputs == (("", (2, 1000)),)
    assert report.forward.inputs == (ForwardInput("0", (2, 3, 64, 64), "float32"),)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small"])
def test_flops_equal_flop_counter_mode_on_real_tensors(name: str) -> None:
    factory = torchvision.models.get_model_builder(name)
    report = build_report(lambda: factory(weights=None), inputs=parse_inputs((1, 3, 64, 64), "t"))
    total, per_module = real_flops(factory(weights=None), 2, torch.randn(1, 3, 64, 64))
    assert report.forward is not None
    assert report.forward.flops == total > 0
    assert {row.name: row.flops for row in report.forward.modules} == per_module


@pytest.mark.parametrize(
    ("name", "weights"),
    [("resnet50", "ResNet50_Weights"), ("mobilenet_v2", "MobileNet_V2_Weights")],
)
def test_flops_are_twice_torchvision_published_multiply_adds(name: str, weights: str) -> None:
    """torchvision's "GFLOPS" count multiply-adds; FlopCounterMode counts 2 FLOPs each."""
    published = getattr(torchvision.models, weights).IMAGENET1K_V1.meta["_ops"] * 1e9
    factory = torchvision.models.get_model_builder(name)
    report = build_report(
        lambda: factory(weights=None), inputs=(ForwardInput("0", (1, 3, 224, 224)),)
    )
    assert report.forward is not None
    assert report.forward.flops / published == pytest.approx(2.0, rel=0.002)


# transformers 5 runs its models' forward with torch.is_autocast_enabled(device), new in
# torch 2.4: on older torch a transformers model's forward fails in transformers itself.
TRANSFORMERS_FORWARD = pytest.mark.skipif(
    tuple(int(part) for part in torch.__version__.split(".")[:2]) < (2, 4),
    reason="transformers 5 calls torch.is_autocast_enabled(device) in forward (torch >= 2.4)",
)


@TRANSFORMERS_FORWARD
def test_a_transformers_model_keyword_inputs_and_named_outputs() -> None:
    config = transformers.LlamaConfig(**TINY_LLAMA)
    inputs = parse_inputs({"input_ids": ((1, 8), "int64")}, "t")
    report = build_report(lambda: transformers.LlamaForCausalLM(config), inputs=inputs)
    real = real_outputs(
        transformers.LlamaForCausalLM(config), 2, input_ids=torch.randint(0, 100, (1, 8))
    )
    assert recorded(report) == real
    assert recorded(report)[""] == (("logits", (1, 8, 100)),)
    assert recorded(report)["model"] == (("last_hidden_state", (1, 8, 32)),)
    total, per_module = real_flops(
        transformers.LlamaForCausalLM(config), 2, input_ids=torch.randint(0, 100, (1, 8))
    )
    assert report.forward is not None
    # On the CPU, scaled_dot_product_attention runs a kernel FlopCounterMode has no formula
    # for (it counts 0); on meta it runs its math path, counted as its two batched matmuls:
    # 2 layers x 2 matmuls x 2 FLOPs x (1 batch x 4 heads x 8 x 8 positions x 8 head dims).
    attention = 2 * 2 * 2 * (1 * 4 * 8 * 8 * 8)
    assert report.forward.flops == total + attention
    assert report.forward.modules[-1].flops == per_module["lm_head"] == 2 * 8 * 32 * 100


@TRANSFORMERS_FORWARD
def test_a_callable_makes_its_tensors_on_meta_and_they_are_recorded() -> None:
    made: list[torch.Tensor] = []

    def inputs() -> dict[str, torch.Tensor]:
        ids = torch.zeros(1, 5, dtype=torch.long)
        made.append(ids)
        return {"input_ids": ids}

    config = transformers.LlamaConfig(**TINY_LLAMA)
    report = build_report(lambda: transformers.LlamaForCausalLM(config), inputs=inputs)
    assert made[0].device.type == "meta"
    assert report.forward.inputs == (ForwardInput("input_ids", (1, 5), "int64"),)
    assert recorded(report)[""] == (("logits", (1, 5, 100)),)


def test_a_live_model_is_neither_moved_nor_left_in_eval_mode() -> None:
    model = torchvision.models.resnet18(weights=None).train()
    weight = model.conv1.weight
    before = weight.detach().clone()
    report = build_report(model, inputs=parse_inputs((1, 3, 32, 32), "t"), depth=1)
    assert model.training
    assert model.layer1[0].bn1.training
    assert model.conv1.weight is weight
    assert weight.device.type == "cpu"
    assert torch.equal(weight, before)
    assert [row.name for row in report.forward.modules][:3] == ["", "conv1", "bn1"]
    assert "layer1.0" not in recorded(report), "depth 1: the model's children only"


def test_tuples_dicts_and_repeated_calls() -> None:
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.act = nn.ReLU()
            self.lin = nn.Linear(4, 3)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, Any]]:
            h = self.act(self.act(x))
            return h, {"out": self.lin(h), "none": None}

    report = build_report(Twice, inputs=parse_inputs((2, 4), "t"))
    rows = {row.name: row for row in report.forward.modules}
    assert rows[""].outputs == (("0", (2, 4)), ("1.out", (2, 3)))
    assert rows["act"].calls == 2


def test_without_inputs_there_is_no_forward_pass() -> None:
    assert build_report(torchvision.models.resnet18).forward is None


def test_inputs_need_a_model() -> None:
    with pytest.raises(SourceError, match="inputs need a model to run"):
        build_report({"w": torch.zeros(2)}, inputs=parse_inputs((1,), "t"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ((1, 3, 224, 224), (ForwardInput("0", (1, 3, 224, 224)),)),
        ("1x3x224x224", (ForwardInput("0", (1, 3, 224, 224)),)),
        ({"input_ids": (1, 128)}, (ForwardInput("input_ids", (1, 128), "float32"),)),
        ({"input_ids": ((1, 128), "int64")}, (ForwardInput("input_ids", (1, 128), "int64"),)),
        ({"mask": ((1, 4), torch.bool)}, (ForwardInput("mask", (1, 4), "bool"),)),
        (
            "input_ids:1x128:int64 attention_mask:1x128:int64",
            (
                ForwardInput("input_ids", (1, 128), "int64"),
                ForwardInput("attention_mask", (1, 128), "int64"),
            ),
        ),
        ("1x4 2x4:float16", (ForwardInput("0", (1, 4)), ForwardInput("1", (2, 4), "float16"))),
    ],
)
def test_every_spelling_of_inputs(raw: object, expected: object) -> None:
    assert parse_inputs(raw, "t") == expected


@pytest.mark.parametrize("raw", ["1x", "x:1x2:int64:more", "", (1, -3), (1.5,), {"0x": (1,)}])
def test_bad_inputs_say_what_is_allowed(raw: object) -> None:
    with pytest.raises(SettingsError, match=r"^t: inputs"):
        parse_inputs(raw, "t")


def test_an_unknown_dtype_is_named() -> None:
    with pytest.raises(SourceError, match=r"'float33' .* is not a torch dtype"):
        build_report(nn.Linear(2, 2), inputs=parse_inputs("1x2:float33", "t"))


def _names(module: nn.Module) -> Iterator[str]:
    return (name for name, _ in modules_to_depth(module, 0))


def test_depth_zero_is_the_model_alone() -> None:
    assert list(_names(torchvision.models.resnet18(weights=None))) == [""]


def test_the_cli_records_and_checks_a_forward_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    golden = tmp_path / "r18.yaml"
    spec = "torchvision:resnet18"
    forward = ["--input", "1x3x32x32", "--depth", "1"]
    assert main(["report", spec, *forward, "--output", str(golden)]) == 0
    text = golden.read_text()
    assert "  - {name: layer4, output: [1, 512, 1, 1], flops: " in text
    assert "layer4.0" not in text.split("forward:")[1]
    assert main(["check", spec, str(golden), "--input", "1x3x32x32", "--depth", "1"]) == 0
    capsys.readouterr()
    assert main(["check", spec, str(golden), "--input", "1x3x64x64", "--depth", "1"]) == 1
    out = capsys.readouterr().out
    assert "  ~ layer4 output (1, 512, 1, 1) -> (1, 512, 2, 2)   FLOPs " in out
    assert re.search(r"^  FLOPs [0-9.]+M -> [0-9.]+M \(\+29[0-9.]+%\)$", out, re.MULTILINE)
    assert f"paramform report {spec} --input=1x3x64x64 --depth=1 --format yaml" in out


def test_diff_takes_the_inputs_a_golden_was_recorded_with(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    golden = tmp_path / "r18.yaml"
    spec = "torchvision:resnet18"
    assert main(["report", spec, "--input", "1x3x32x32", "--output", str(golden)]) == 0
    assert main(["diff", str(golden), spec, "--input", "1x3x32x32"]) == 0
    assert main(["diff", str(golden), spec, "--input", "1x3x64x64"]) == 1
    assert "  ~ layer4 output (1, 512, 1, 1) -> (1, 512, 2, 2)" in capsys.readouterr().out


class Gate(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if x.sum() > 0 else -x  # a Python branch on a value


class Pick(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[torch.nonzero(x, as_tuple=True)]


class Item(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * x.max().item()


class Holder(nn.Module):
    def __init__(self, part: nn.Module) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.block = nn.Sequential(nn.ReLU(), part)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(self.lin(x))


class Window(nn.Module):
    """Reads values twice: a width from a buffer with ``.item()``, positions from a mask
    with ``nonzero``. Shapes follow those values, not the input's."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("width", torch.tensor(3))
        self.register_buffer("mask", torch.tensor([True, False, True, True, False, True]))
        self.lin = nn.Linear(6, 6)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.lin(x)
        return y[:, : int(self.width.item())], y[:, torch.nonzero(self.mask).squeeze(1)]


@pytest.mark.parametrize("part", [Gate, Pick, Item, Window])
def test_a_forward_that_reads_values_runs_again_with_real_memory(part: type[nn.Module]) -> None:
    """Like a build that reads values: the same section as a real forward pass of the
    same inputs (zeros for a shape), the model left as it was."""
    model = Holder(part()).train()
    model.lin = nn.Linear(4, 6) if part is Window else model.lin
    report = build_report(model, inputs=(2, 4))
    assert model.training, "the model's flags are put back"
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())
    assert recorded(report) == real_outputs(model, 2, torch.zeros(2, 4))
    total, per_module = real_flops(model, 2, torch.zeros(2, 4))
    assert report.forward is not None
    assert report.forward.flops == total > 0
    assert {row.name: row.flops for row in report.forward.modules} == per_module


def test_a_pass_with_real_memory_over_the_budget_says_what_to_do() -> None:
    """A model built without weights has no values: its weights stand in as zeros, and
    16,000 x 40,000 float32 (2.4 GiB) is refused before it is allocated."""

    class Huge(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = nn.Sequential(nn.Linear(40_000, 16_000), Item())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(x)

    with pytest.raises(SourceError) as caught:
        build_report(Huge, inputs=(1, 40_000))
    text = str(caught.value)
    assert text.startswith(
        "the forward pass of Huge reads values in head.1 (Item) at Tensor.item(), and a "
        "forward pass on meta has none"
    )
    assert "more than 2.0 GiB of tensors" in text
    assert "pass that submodule), use smaller inputs, or leave out inputs=" in text


def test_inputs_over_the_budget_are_refused_before_they_are_made() -> None:
    """20,000 x 40,000 float32 zeros would be 3.0 GiB: counted before they are allocated."""
    with pytest.raises(SourceError, match=r"^the forward pass of Item reads values .* more than"):
        build_report(Item(), inputs=(20_000, 40_000))


def test_a_pass_that_fails_with_real_memory_too_names_the_module_and_the_call() -> None:
    class Strict(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.sum() >= 0:
                raise ValueError("a batch of values")
            return x

    with pytest.raises(SourceError) as caught:
        build_report(Holder(Strict()), inputs=(2, 4))
    text = str(caught.value)
    assert text.startswith(
        "the forward pass of Holder failed in block.1 (Strict): ValueError: a batch of values"
    )
    assert "it ran with real memory, because it reads values" in text


def test_inputs_that_do_not_fit_name_the_module() -> None:
    with pytest.raises(SourceError, match=r"^the forward pass of Holder failed in lin \(Linear\)"):
        build_report(Holder(nn.ReLU()), inputs=(2, 3))


def test_norm_layers_answered_on_meta_still_refuse_what_does_not_fit() -> None:
    """The shortcut for norms on meta never records a shape a real pass would refuse."""
    for norm in (nn.BatchNorm2d(5), nn.LayerNorm(7), nn.GroupNorm(3, 6)):
        with pytest.raises(SourceError, match=r"^the forward pass of .* failed"):
            build_report(nn.Sequential(norm), inputs=(1, 4, 8, 8))
    fits = build_report(nn.Sequential(nn.BatchNorm2d(4), nn.GroupNorm(2, 4)), inputs=(1, 4, 8, 8))
    assert fits.forward is not None
    assert fits.forward.modules[0].outputs == (("", (1, 4, 8, 8)),)


def test_a_timm_vision_transformer_output_shapes_equal_a_real_forward_pass() -> None:
    timm = pytest.importorskip("timm")
    make = functools.partial(timm.create_model, "vit_tiny_patch16_224", pretrained=False)
    report = build_report(make, inputs=(1, 3, 224, 224))
    real = real_outputs(make(), 2, torch.randn(1, 3, 224, 224))
    assert recorded(report) == real
    assert recorded(report)["blocks.11"] == (("", (1, 197, 192)),)


def meta_flop_counter(module: nn.Module, *args: Any, **kwargs: Any) -> int:
    """FlopCounterMode itself, over a pass on meta stand-ins."""
    counter = FlopCounterMode(display=False)
    with stand_ins(module, real=False), torch.no_grad(), counter:
        module.eval()(*args, **kwargs)
    return int(counter.get_total_flops())


ZOO_SAMPLE = ["resnet18", "mobilenet_v3_small", "efficientnet_b0", "swin_t", "vit_b_32"]


@pytest.mark.parametrize("name", ZOO_SAMPLE)
def test_our_flop_count_equals_flop_counter_mode_on_meta(name: str) -> None:
    """Our counter (torch's formulas, meta results remembered) gives FlopCounterMode's
    figure to the FLOP, the second time (every result remembered) as the first."""
    builder = torchvision.models.get_model_builder(name)
    module, _ = build(functools.partial(builder, weights=None))
    first = build_report(module, inputs=(1, 3, 224, 224)).forward
    again = build_report(module, inputs=(1, 3, 224, 224)).forward
    expected = meta_flop_counter(module, torch.empty(1, 3, 224, 224, device="meta"))
    assert first is not None
    assert first.flops == expected > 0
    assert again == first


@TRANSFORMERS_FORWARD
def test_our_flop_count_equals_flop_counter_mode_on_meta_for_attention() -> None:
    """Grouped-query attention through scaled_dot_product_attention, on meta."""
    config = transformers.LlamaConfig(**TINY_LLAMA)
    module, _ = build(lambda: transformers.LlamaForCausalLM(config))
    section = build_report(module, inputs={"input_ids": ((1, 16), "int64")}).forward
    ids = torch.zeros(1, 16, dtype=torch.int64, device="meta")
    assert section is not None
    assert section.flops == meta_flop_counter(module, input_ids=ids) > 0


def test_an_in_place_call_that_reshapes_its_argument_is_never_answered_from_memory() -> None:
    """torch's meta kernels resize their ``out`` tensor in place (``_resize_output_``): the
    second identical call must resize it again, not hand back the unresized tensor."""
    from pytest_paramform.sources.flop_counting import CountingMode

    resize = torch.ops.aten._resize_output_.default
    results = []
    for _ in range(2):
        out = torch.empty(0, device="meta")
        with CountingMode():
            resize(out, [3, 4], torch.device("meta"))
        results.append(tuple(out.shape))
    assert results == [(3, 4), (3, 4)]


class Counter(nn.Module):
    """Writes into its buffers as it runs (a step counter, a cache), then reads a value."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("steps", torch.tensor(0))
        self.register_buffer("cache", torch.ones(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.steps += 1
        self.cache.mul_(2)
        return x[:, : int(self.cache.sum().item()) % 4 + 1]


def test_a_pass_with_real_memory_leaves_the_models_buffers_as_they_were() -> None:
    model = Counter()
    report = build_report(model, inputs=(1, 4))
    assert report.forward is not None
    assert model.steps.item() == 0
    assert model.cache.tolist() == [1.0, 1.0, 1.0]

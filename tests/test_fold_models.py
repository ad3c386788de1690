"""Folded drifts of the changes users make to the models they ship, through the CLI and the
fixture alike: a Llama-7B-shaped config made deeper, grouped-query or wider, resnet50 grown
into resnet101, a renamed ``ModuleList``, and what a dropped pooling or grouped-query
attention does to the forward pass. Each reads in a few lines with nothing left out;
``--no-fold`` and ``-vv`` list every tensor and module."""

from __future__ import annotations

from pathlib import Path

import pytest
import transformers
from test_forward import TRANSFORMERS_FORWARD

from pytest_paramform.cli import main

from suites import run

pytest_plugins = ["pytester"]

# pytester's in-process runs drop the modules first imported inside them, and transformers'
# lazy modules break when imported twice: the class the inner suites build loads here.
LOADED_HERE = (transformers.LlamaForCausalLM,)

LLAMA_7B = {
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 32,
    "vocab_size": 32000,
}
DEEPER = "+ model.layers.{32..39}: 8 blocks like model.layers.31"
GQA = "~ model.layers.{0..31}.self_attn.k_proj.weight   shape (4096, 4096) -> (1024, 4096)"
WIDER = "~ model.layers.{0..31}.mlp.gate_proj.weight   shape (11008, 4096) -> (14336, 4096)"


def llama(folder: Path, **changes: int) -> str:
    config = transformers.LlamaConfig(**{**LLAMA_7B, **changes})
    config.architectures = ["LlamaForCausalLM"]
    config.save_pretrained(str(folder))
    return f"hf:{folder}"


def tensor_lines(out: str) -> list[str]:
    """The message's lines about tensors: between its first line and the totals."""
    lines = out.splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("  totals: "))
    return lines[1:end]


@pytest.mark.parametrize(
    ("changes", "first"),
    [
        ({"num_hidden_layers": 40}, DEEPER + " (9 tensors, +202,383,360 parameters each)"),
        ({"num_key_value_heads": 8}, GQA),
        ({"intermediate_size": 14336}, WIDER),
    ],
    ids=["deeper", "grouped-query", "wider"],
)
def test_the_three_everyday_llama_changes_read_in_a_few_lines(
    changes: dict[str, int], first: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, changed = llama(tmp_path / "base"), llama(tmp_path / "changed", **changes)
    assert main(["diff", base, changed]) == 1
    lines = tensor_lines(capsys.readouterr().out)
    assert lines[0].startswith(f"  {first}")
    assert 1 <= len(lines) <= 3
    assert not any("..." in line for line in lines)


def test_no_fold_lists_every_tensor_uncapped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, deeper = llama(tmp_path / "base"), llama(tmp_path / "deeper", num_hidden_layers=40)
    assert main(["diff", base, deeper, "--no-fold"]) == 1
    lines = tensor_lines(capsys.readouterr().out)
    assert len(lines) == 72
    assert lines[-1].startswith("  + model.layers.39.post_attention_layernorm.weight   (4096,)")


def test_resnet50_to_resnet101_is_the_inserted_bottlenecks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["diff", "torchvision:resnet50", "torchvision:resnet101"]) == 1
    assert tensor_lines(capsys.readouterr().out) == [
        "  + layer3.{6..22}: 17 blocks like layer3.5 (9 tensors, +1,117,184 parameters each)"
    ]


RENAMED = """
from torch import nn


def layers(depth=6):
    return nn.Sequential(nn.Linear(8, 8), nn.LayerNorm(8), nn.Linear(8, 32), nn.Linear(32, 8))


class Layers(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 8)
        self.layers = nn.ModuleList(layers() for _ in range(4))
        self.head = nn.Linear(8, 100)


class Blocks(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 8)
        self.blocks = nn.ModuleList(layers() for _ in range(4))
        self.head = nn.Linear(8, 100)
"""


def test_a_renamed_module_list_is_said_once_through_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "renamed_net.py").write_text(RENAMED)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(tmp_path)
    assert main(["diff", "renamed_net:Layers", "renamed_net:Blocks"]) == 1
    assert tensor_lines(capsys.readouterr().out) == [
        "  renamed: layers.* -> blocks.* (32 tensors, shapes unchanged)"
    ]


def test_check_folds_and_no_fold_lists_every_tensor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    golden = tmp_path / "llama.paramform.yaml"
    base, gqa = llama(tmp_path / "base"), llama(tmp_path / "gqa", num_key_value_heads=8)
    assert main(["report", base, "--output", str(golden)]) == 0
    assert main(["check", gqa, str(golden)]) == 1
    folded = tensor_lines(capsys.readouterr().out)
    assert folded[0].startswith(f"  {GQA}")
    assert len(folded) == 2
    assert main(["check", gqa, str(golden), "--no-fold"]) == 1
    every = tensor_lines(capsys.readouterr().out)
    assert len(every) == 64
    assert every[0].startswith("  ~ model.layers.0.self_attn.k_proj.weight ")


def test_markdown_diff_holds_the_folded_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, deeper = llama(tmp_path / "base"), llama(tmp_path / "deeper", num_hidden_layers=40)
    assert main(["diff", deeper, base, "--format", "markdown"]) == 1
    out = capsys.readouterr().out
    removed = DEEPER.replace("+", "-", 1) + " (9 tensors, -202,383,360 parameters each)"
    assert f"```text\nparamform: base differs from {deeper}\n  {removed}\n  totals: " in out


UNPOOLED = """
import torchvision
from torch import nn


def resnet50():
    model = torchvision.models.resnet50()
    model.maxpool = nn.Identity()
    return model
"""
LAYER3 = "~ layer3.{1..5} output (1, 1024, 14, 14) -> (1, 1024, 28, 28)   FLOPs 436.73M -> 1.75G"


def test_a_dropped_pooling_says_each_stage_and_its_repeated_blocks_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every bottleneck after the stem now sees 4x the pixels: one line per stage, its
    first block (it downsamples) and its repeated blocks; ``--no-fold`` lists each."""
    (tmp_path / "unpooled.py").write_text(UNPOOLED)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(tmp_path)
    diff = ["diff", "torchvision:resnet50", "unpooled:resnet50", "--input", "1x3x224x224"]
    assert main(diff) == 1
    lines = tensor_lines(capsys.readouterr().out)
    assert f"  {LAYER3} (+300.0%)   5 modules, FLOPs each" in lines
    layer2 = "  ~ layer2.{1..3} output (1, 512, 28, 28) -> (1, 512, 56, 56)   FLOPs "
    assert any(line.startswith(layer2) for line in lines)
    assert len(lines) == 1 + 4 * 3 + 1  # maxpool, each stage (3 lines), total FLOPs
    assert main([*diff, "--no-fold"]) == 1
    every = tensor_lines(capsys.readouterr().out)
    assert len(every) == 1 + (3 + 4 + 6 + 3) + 4 + 1  # maxpool, blocks, stages, total
    assert [line for line in every if line.startswith("  ~ layer3.5 ")] == [
        f"  {LAYER3.replace('{1..5}', '5')} (+300.0%)"
    ]


K_PROJ = (
    "  ~ model.layers.{0..31}.self_attn.k_proj output (1, 16, 4096) -> (1, 16, 1024)"
    "   FLOPs 536.87M -> 134.22M (-75.0%)   32 modules, FLOPs each"
)


@TRANSFORMERS_FORWARD
def test_grouped_query_attention_says_what_each_layer_computes_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, gqa = llama(tmp_path / "base"), llama(tmp_path / "gqa", num_key_value_heads=8)
    forward = ["--input", "input_ids:1x16:int64", "--depth", "5"]
    assert main(["diff", base, gqa, *forward]) == 1
    lines = tensor_lines(capsys.readouterr().out)
    assert K_PROJ in lines
    modules = [line for line in lines if line.startswith("  ~ model")]
    assert len(modules) == 2 + 5  # k_proj and v_proj weights; model, layers, self_attn, k, v
    assert not any(".layers.7." in line for line in lines)


SUITE = """
def test_llm(paramform_snapshot):
    paramform_snapshot("hf:llama")
"""


def test_the_fixture_folds_and_lists_every_tensor_under_vv(pytester: pytest.Pytester) -> None:
    """Through pytest as users run it: the failure, the --paramform-summary <details>;
    and -vv, as pytest users expect, shows every tensor line."""
    llama(pytester.path / "llama")
    pytester.makepyfile(test_llm=SUITE)
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    llama(pytester.path / "llama", num_hidden_layers=40)

    result = run(pytester, "--paramform-summary", "summary.md")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "paramform: llama differs from __snapshots__/test_llm/test_llm.paramform.yaml",
            f"  {DEEPER} (9 tensors, +202,383,360 parameters each)",
            "  totals: layers 291 -> 363, *",
        ]
    )
    assert "+ model.layers.32.self_attn" not in result.stdout.str()
    summary = (pytester.path / "summary.md").read_text()
    assert "<details><summary>drifted: test_llm.py::test_llm</summary>" in summary
    assert f"\n  {DEEPER} (9 tensors," in summary

    every = run(pytester, "-vv")
    every.assert_outcomes(failed=1)
    out = every.stdout.str()
    # pytest's -vv repeats the message in the short summary: count distinct lines
    assert len({line for line in out.splitlines() if line.startswith("  + model.layers.")}) == 72
    assert "  + model.layers.39.post_attention_layernorm.weight" in out
    assert DEEPER not in out
    assert "... and" not in out


EVERYDAY = """
from pathlib import Path

from torch import nn


def changed():
    return Path("changed").exists()


def layer():
    return nn.Sequential(nn.Linear(8, 8), nn.LayerNorm(8), nn.Linear(8, 32), nn.Linear(32, 8))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 8)
        stack = nn.ModuleList(layer() for _ in range(4))
        if changed():
            self.blocks = stack
        else:
            self.layers = stack
        self.head = nn.Linear(8, 100)


def test_net(paramform_snapshot):
    paramform_snapshot(Net)


def test_resnet(paramform_snapshot):
    paramform_snapshot(f"torchvision:resnet{101 if changed() else 50}", name="resnet")


def test_llm(paramform_snapshot):
    paramform_snapshot("hf:llama")
"""


def test_the_fixture_says_a_rename_inserted_blocks_and_a_grouped_query_change_in_a_line_each(
    pytester: pytest.Pytester,
) -> None:
    llama(pytester.path / "llama")
    pytester.makepyfile(test_everyday=EVERYDAY)
    run(pytester, "--paramform-update").assert_outcomes(passed=3)
    (pytester.path / "changed").touch()
    llama(pytester.path / "llama", num_key_value_heads=8, num_hidden_layers=40)

    result = run(pytester)
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            "paramform: Net differs from __snapshots__/test_everyday/test_net.paramform.yaml",
            "  renamed: layers.* -> blocks.* (32 tensors, shapes unchanged)",
            "  totals: layers 35 -> 35, *",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "paramform: resnet differs from *test_resnet?resnet?.paramform.yaml",
            "  + layer3.{6..22}: 17 blocks like layer3.5 (9 tensors, +1,117,184 parameters each)",
            "  totals: layers 161 -> 314, *",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "paramform: llama differs from __snapshots__/test_everyday/test_llm.paramform.yaml",
            f"  {GQA}   numel 16,777,216 -> 4,194,304   32 tensors, -402,653,184 parameters",
            "  ~ model.layers.{0..31}.self_attn.v_proj.weight *",
            "  + model.layers.{32..39}: 8 blocks like model.layers.31 (9 tensors, *",
            "  totals: layers 291 -> 363, *",
        ]
    )
    assert "... and " not in result.stdout.str()  # nothing capped

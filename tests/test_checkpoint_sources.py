"""Ties, frozen parameters, buffers, dtypes and checkpoints, read from real torch objects."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision
from safetensors.torch import save_file
from torch import nn

from pytest_paramform import SourceError, build_report
from pytest_paramform.comparison.core import compare
from pytest_paramform.formats import from_markdown, from_yaml, to_markdown, to_yaml
from pytest_paramform.report import Alias

import toy_models


def frozen_backbone() -> nn.Module:
    model = torchvision.models.resnet18()
    for name, param in model.named_parameters():
        param.requires_grad = name.startswith("fc.")
    return model


def test_tied_weights_are_an_alias_counted_once() -> None:
    report = build_report(toy_models.TiedLM)
    assert report.aliases == (Alias("lm_head.weight", "wte.weight"),)
    assert report.num_parameters == 50 * 8 + 8 * 8 + 8
    for text, parse in (
        (to_yaml(report), from_yaml),
        (to_markdown(report), from_markdown),
    ):
        assert parse(text) == report


def test_untying_fails_with_a_tying_line() -> None:
    class Untied(toy_models.TiedLM):
        def __init__(self) -> None:
            super().__init__()
            self.lm_head.weight = nn.Parameter(torch.zeros(50, 8))

    lines = [d.text for d in compare(build_report(toy_models.TiedLM), build_report(Untied))]
    assert "tying broken: lm_head.weight no longer shares wte.weight (+400 parameters)" in lines


def test_frozen_parameters_and_the_trainable_total() -> None:
    report = build_report(frozen_backbone)
    assert report.num_trainable == 512 * 1000 + 1000
    assert [r.name for r in report.rows if not r.frozen] == ["fc.weight", "fc.bias"]
    markdown = to_markdown(report)
    assert "**Number of trainable parameters: [ 513.00K ]**" in markdown
    assert "| Name | Shape | Squeezed shape | Number of parameters | Form | Frozen |" in markdown
    assert from_markdown(markdown) == report
    assert from_yaml(to_yaml(report)) == report


def test_a_backbone_that_becomes_trainable_is_one_grouped_line() -> None:
    lines = [
        d.text
        for d in compare(build_report(frozen_backbone), build_report(torchvision.models.resnet18))
    ]
    assert lines[0].startswith(
        "now trainable: conv1.weight (9,408 parameters in 1 tensors), bn1.* "
    )
    assert "layer{1..4}.* (11,166,976 parameters in 57 tensors)" in lines[0]
    assert lines[1].endswith("trainable 513,000 -> 11,689,512")


def test_buffers_and_dtype_are_opt_in_and_change_no_figure() -> None:
    plain = build_report(torchvision.models.resnet18)
    extra = build_report(torchvision.models.resnet18, buffers=True, dtype=True)
    assert plain.buffers is None
    assert {r.dtype for r in plain.rows} == {None}
    assert extra.buffers is not None
    assert len(extra.buffers) == 3 * 20  # running_mean, running_var, num_batches_tracked
    assert {r.dtype for r in extra.rows} == {"float32"}
    assert extra.buffers[2].dtype == "int64"
    assert (extra.num_parameters, extra.layer_shares) == (plain.num_parameters, plain.layer_shares)
    assert from_yaml(to_yaml(extra)) == extra
    assert from_markdown(to_markdown(extra)) == extra


def test_a_state_dict_is_a_checkpoint_report_with_its_ties() -> None:
    report = build_report(toy_models.TiedLM().state_dict())
    assert report.source == "checkpoint"
    assert report.aliases == (Alias("lm_head.weight", "wte.weight"),)


@pytest.fixture(scope="module")
def resnet18_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("ckpt")
    state = torchvision.models.resnet18().state_dict()
    files = {"safetensors": folder / "r18.safetensors", "pt": folder / "r18.pt"}
    save_file(state, files["safetensors"])
    torch.save({"state_dict": state, "epoch": 3}, files["pt"])
    return files


@pytest.mark.parametrize("kind", ["safetensors", "pt"])
def test_a_checkpoint_matches_its_model_with_buffers(
    resnet18_files: dict[str, Path], kind: str
) -> None:
    checkpoint = build_report(resnet18_files[kind])
    assert (checkpoint.name, checkpoint.source) == ("r18", "checkpoint")
    model = build_report(torchvision.models.resnet18, buffers=True)
    assert compare(model, checkpoint) == []
    assert from_yaml(to_yaml(checkpoint)) == checkpoint


def test_a_checkpoint_of_another_model_differs(resnet18_files: dict[str, Path]) -> None:
    model = build_report(torchvision.models.resnet34, buffers=True)
    drifts = compare(model, build_report(resnet18_files["safetensors"]))
    assert any(d.text.startswith("- layer3.5.conv1.weight") for d in drifts)


def test_a_pickle_that_would_run_code_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            import os

            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    torch.save({"w": Evil()}, path)
    with pytest.raises(SourceError, match=r"evil\.pt"):
        build_report(path)
    assert not marker.exists()


def test_a_missing_checkpoint_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"nothing\.safetensors"):
        build_report(str(tmp_path / "nothing.safetensors"))


def test_a_tied_model_matches_its_safetensors_file(tmp_path: Path) -> None:
    from safetensors.torch import save_model

    model = toy_models.TiedLM()
    path = tmp_path / "tied.safetensors"
    save_model(model, str(path))  # keeps one name of the tied pair
    assert compare(build_report(model, buffers=True), build_report(path)) == []
    assert compare(build_report(model, buffers=True), build_report(model.state_dict())) == []


def test_non_persistent_buffers_are_not_recorded() -> None:
    class Rotary(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Linear(4, 4)
            self.register_buffer("inv_freq", torch.ones(2), persistent=False)
            self.register_buffer("position_ids", torch.arange(8))

    model = Rotary()
    report = build_report(model, buffers=True)
    assert [b.name for b in report.buffers or ()] == ["position_ids"]
    assert compare(report, build_report(model.state_dict())) == []

"""Models as users really hold them: wrapped, compiled, parametrized, odd (issue 6).

The rule: the report shows the tensors the model trains and saves, under the names the
unwrapped model gives them, so one architecture has one golden whichever wrapper holds it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrizations, parametrize

from pytest_paramform import build_report
from pytest_paramform.formats import from_markdown, from_yaml, to_markdown, to_yaml

import toy_models


def net() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


def test_data_parallel_gives_the_same_golden() -> None:
    plain = build_report(net(), name="net")
    assert build_report(nn.DataParallel(net()), name="net") == plain


def test_torch_compile_gives_the_same_golden() -> None:
    plain = build_report(net(), name="net")
    compiled = torch.compile(net())
    assert next(n for n, _ in compiled.named_parameters()).startswith("_orig_mod.")
    assert build_report(compiled, name="net") == plain


@pytest.mark.parametrize("prefix", ["module.", "_orig_mod.", "module._orig_mod."])
def test_a_checkpoint_saved_from_a_wrapper_loses_the_prefix(tmp_path: Path, prefix: str) -> None:
    state = {prefix + k: v for k, v in net().state_dict().items()}
    path = tmp_path / "wrapped.pt"
    torch.save(state, path)
    names = [r.name for r in build_report(path).rows]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_a_prefix_on_only_some_keys_is_kept() -> None:
    state = {"module.w": torch.zeros(2), "head.b": torch.zeros(1)}
    assert [r.name for r in build_report(state).rows] == ["module.w", "head.b"]


def test_weight_norm_reports_the_tensors_it_trains() -> None:
    model = parametrizations.weight_norm(nn.Linear(3, 4))
    names = {r.name: r.shape for r in build_report(model).rows}
    assert names == {
        "bias": (4,),
        "parametrizations.weight.original0": (4, 1),
        "parametrizations.weight.original1": (4, 3),
    }


def test_a_parametrized_model_builds_without_weights() -> None:
    class Symmetric(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.triu() + x.triu(1).transpose(-1, -2)

    def factory() -> nn.Module:
        layer = nn.Linear(5, 5)
        parametrize.register_parametrization(layer, "weight", Symmetric())
        return layer

    report = build_report(factory)
    assert [r.name for r in report.rows] == ["bias", "parametrizations.weight.original"]
    assert report.num_parameters == 30


def test_an_overridden_named_parameters_is_respected() -> None:
    class OnlyHead(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Linear(4, 4)
            self.head = nn.Linear(4, 2)

        def named_parameters(self):  # type: ignore[no-untyped-def, override]
            return self.head.named_parameters(prefix="head")

    report = build_report(OnlyHead())
    assert [r.name for r in report.rows] == ["head.weight", "head.bias"]


@pytest.mark.parametrize("rank", [5, 6, 7, 8])
def test_high_rank_tensors(rank: int) -> None:
    model = nn.Module()
    model.register_parameter("t", nn.Parameter(torch.zeros((2,) * rank)))
    report = build_report(model)
    assert report.forms == ("Vector", "Matrix", f"Tensor rank {rank}")
    assert from_markdown(to_markdown(report)) == report


def test_only_scalars_and_nothing_at_all() -> None:
    only = nn.Module()
    only.a = nn.Parameter(torch.tensor(1.0))
    only.b = nn.Parameter(torch.ones(1, 1))
    report = build_report(only)
    assert (report.forms, report.num_parameters) == (("Vector", "Matrix", "Scalar"), 2)
    assert report.parameter_shares == {"Vector": 0.0, "Matrix": 0.0, "Scalar": 100.0}
    empty = build_report(toy_models.NoParameters)
    assert from_yaml(to_yaml(empty)) == empty


def test_names_of_a_thousand_characters_round_trip() -> None:
    model = nn.Module()
    long_name = "x" * 1000
    model.register_parameter(long_name, nn.Parameter(torch.zeros(3)))
    report = build_report(model)
    assert from_yaml(to_yaml(report)).rows[0].name == long_name
    assert from_markdown(to_markdown(report)).rows[0].name == long_name


def test_a_wrapped_model_keeps_its_own_name() -> None:
    assert build_report(torch.compile(net())).name == "Sequential"
    assert build_report(nn.DataParallel(net())).name == "Sequential"

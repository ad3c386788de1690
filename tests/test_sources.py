"""Reading real models: torchvision's zoo and models built here, all without weights."""

from __future__ import annotations

import functools
import warnings
from collections import Counter
from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn

from pytest_paramform import SourceError, build_report, empty_weights
from pytest_paramform.formats import from_markdown, from_yaml, to_markdown, to_yaml
from pytest_paramform.sources.specs import torchvision_factory

import toy_models

CLASSIFIERS = torchvision.models.list_models(module=torchvision.models)
REPRESENTATIVE = [
    "resnet50",
    "vit_b_16",
    "convnext_tiny",
    "regnet_y_400mf",
    "efficientnet_b0",
    "swin_t",
    "squeezenet1_0",
    "googlenet",
]


def independent_figures(
    model: nn.Module,
) -> tuple[list[tuple[str, tuple[int, ...]]], Counter[int], Counter[int]]:
    """The seed's figures computed with torch's own ops on a really built model."""
    layers: Counter[int] = Counter()
    params: Counter[int] = Counter()
    for p in model.parameters():
        rank = p.squeeze().dim()
        layers[rank] += 1
        params[rank] += p.numel()
    rows = [(n, tuple(p.shape)) for n, p in model.named_parameters()]
    return rows, layers, params


@pytest.mark.parametrize("name", REPRESENTATIVE)
def test_figures_match_an_independent_count_on_the_real_model(name: str) -> None:
    real = torchvision.models.get_model(name, weights=None)
    rows, layers, params = independent_figures(real)
    report = build_report(torchvision_factory(name))
    assert [(r.name, r.shape) for r in report.rows] == rows
    assert report.num_parameters == sum(p.numel() for p in real.parameters())
    for form in report.forms:
        rank = {"Scalar": 0, "Vector": 1, "Matrix": 2}.get(form) or int(form.split()[-1])
        assert report.layers_of(form) == layers[rank]
        assert report.parameters_of(form) == params[rank]
    assert from_yaml(to_yaml(report)) == report
    assert from_markdown(to_markdown(report)) == report


def test_mobilenet_v2_is_exactly_the_seed(seed_without_chart: str) -> None:
    report = build_report(torchvision.models.mobilenet_v2)
    assert report.name == "mobilenet_v2"
    assert to_markdown(report) == seed_without_chart


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_every_torchvision_classifier_builds_on_meta_and_round_trips(name: str) -> None:
    with empty_weights():
        model = torchvision.models.get_model(name, weights=None)
    assert {p.device.type for p in model.parameters()} == {"meta"}
    report = build_report(model, name=name)
    assert report.num_parameters > 1_000_000
    assert from_yaml(to_yaml(report)) == report


def test_regnet_builds_where_a_meta_device_context_fails() -> None:
    with pytest.raises(Exception, match=r"meta|item\(\)|data-dependent"), torch.device("meta"):
        torchvision.models.regnet_y_400mf()
    assert build_report(torchvision.models.regnet_y_400mf).num_parameters == 4_344_144


def test_empty_weights_keeps_tied_weights_tied() -> None:
    with empty_weights():
        model = toy_models.TiedLM()
    assert model.lm_head.weight is model.wte.weight
    assert model.lm_head.weight.device.type == "meta"
    names = [r.name for r in build_report(model).rows]
    assert names == ["wte.weight", "block.weight", "block.bias"]


def test_empty_weights_keeps_requires_grad() -> None:
    class Frozen(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.ones(3), requires_grad=False)

    with empty_weights():
        model = Frozen()
    assert model.w.requires_grad is False


def test_a_factory_that_downloads_is_refused_not_run() -> None:
    def downloading() -> nn.Module:
        model = nn.Linear(2, 2)
        model.load_state_dict(torch.hub.load_state_dict_from_url("https://example.invalid/w.pth"))
        return model

    with pytest.raises(SourceError, match="never downloads"):
        build_report(downloading)


def test_detection_model_that_runs_its_backbone_while_building_still_reports() -> None:
    report = build_report(torchvision_factory("ssdlite320_mobilenet_v3_large"))
    assert report.num_layers > 100


def test_a_module_is_read_not_moved_run_or_changed() -> None:
    class Untouchable(nn.Linear):
        def forward(self, *args: object) -> torch.Tensor:
            raise AssertionError("a report must never run the model")

    with torch.device("meta"):
        model = Untouchable(4, 3)
    model.eval()
    before = [(id(p), p.device, p.requires_grad) for p in model.parameters()]
    report = build_report(model)
    assert [(id(p), p.device, p.requires_grad) for p in model.parameters()] == before
    assert model.training is False
    assert report.name == "Untouchable"
    assert [(r.name, r.shape) for r in report.rows] == [("weight", (3, 4)), ("bias", (3,))]


@pytest.mark.parametrize(
    ("factory", "forms", "layers", "parameters"),
    [
        (toy_models.Scalars, ("Vector", "Matrix", "Scalar"), 4, 12),
        (toy_models.Rank5, ("Vector", "Matrix", "Tensor rank 5"), 3, 220 + 720),
        (toy_models.ZeroSize, ("Vector", "Matrix"), 4, 8),
        (toy_models.NoParameters, ("Vector", "Matrix"), 0, 0),
        (toy_models.OddNames, ("Vector", "Matrix"), 8, 72),
    ],
)
def test_models_built_here_report_and_round_trip(
    factory: type[nn.Module], forms: tuple[str, ...], layers: int, parameters: int
) -> None:
    report = build_report(factory)
    assert (report.forms, report.num_layers, report.num_parameters) == (forms, layers, parameters)
    assert from_yaml(to_yaml(report)) == report
    assert from_markdown(to_markdown(report)) == report


def test_odd_names_keep_their_characters() -> None:
    report = build_report(toy_models.OddNames)
    assert [r.name for r in report.rows] == list(toy_models.OddNames.NAMES)


def test_a_module_class_a_function_a_lambda_and_a_partial_are_factories() -> None:
    assert build_report(toy_models.Scalars).name == "Scalars"
    assert build_report(toy_models.make_scalars).name == "make_scalars"
    assert build_report(lambda: nn.Linear(2, 3)).num_parameters == 9
    assert build_report(functools.partial(nn.Linear, 2, 3)).name == "Linear"
    assert build_report(nn.Linear(2, 3), name="head").name == "head"


@pytest.mark.parametrize("how", ["module", "factory"])
def test_a_lazy_module_asks_for_a_forward_pass(how: str) -> None:
    def lazy() -> nn.Module:
        return nn.Sequential(nn.LazyLinear(4))

    if how == "module":  # torch < 2.4 warns that lazy modules are new, in the caller's code
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            source: object = lazy()
    else:  # built inside paramform: torch's own notice is not the caller's to fix
        source = lazy
    with pytest.raises(SourceError, match=r"'0.weight' .* not initialised .* forward pass"):
        build_report(source)


@pytest.mark.parametrize("bad", [42, torch.zeros(3), None])
def test_not_a_model_says_what_is_accepted(bad: object) -> None:
    with pytest.raises(SourceError, match=r"expected an nn\.Module, a factory"):
        build_report(bad)


def test_spec_strings_are_sources_in_python_as_in_the_cli(tmp_path: Path) -> None:
    assert build_report("torchvision:resnet18") == build_report(torchvision.models.resnet18)
    assert build_report("toy_models:Scalars", buffers=True) == build_report(
        toy_models.Scalars, buffers=True
    )
    (tmp_path / "torchvision:resnet18").mkdir()  # a folder named like the spec
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        assert build_report("torchvision:resnet18").name == "resnet18"
        with pytest.raises(SourceError, match="is a folder without a checkpoint"):
            build_report("./torchvision:resnet18")


@pytest.mark.parametrize("text", ["resnet50", "./models:Net", "my models:Net"])
def test_a_string_that_is_no_spec_says_what_a_spec_is(text: str) -> None:
    with pytest.raises(SourceError, match=r"cannot read model spec .* expected torchvision:NAME"):
        build_report(text)


def test_a_factory_that_returns_something_else_says_so() -> None:
    with pytest.raises(SourceError, match=r"returned dict .* not an nn\.Module"):
        build_report(dict)


def test_a_factory_that_needs_arguments_says_how_to_pass_them() -> None:
    with pytest.raises(SourceError, match=r"without arguments .* functools\.partial"):
        build_report(nn.Linear)


def test_unknown_torchvision_name_lists_the_closest() -> None:
    with pytest.raises(
        SourceError, match="unknown torchvision model 'resnet5'; did you mean resnet50"
    ):
        torchvision_factory("resnet5")


def test_an_error_inside_the_model_is_the_models_own() -> None:
    class Broken(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            raise TypeError("in_features must be an int")

    with pytest.raises(TypeError, match="in_features must be an int"):
        build_report(Broken)


def test_a_cached_download_through_torchvision_is_refused_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from torchvision.models import _api

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cached = tmp_path / "hub" / "checkpoints" / "lin.pth"
    cached.parent.mkdir(parents=True)
    torch.save(nn.Linear(2, 2).state_dict(), cached)

    def cached_weights() -> nn.Module:
        model = nn.Linear(2, 2)
        model.load_state_dict(_api.load_state_dict_from_url("https://example.invalid/lin.pth"))
        return model

    with pytest.raises(SourceError, match="never downloads"):
        build_report(cached_weights)


OTHER_MODELS = sorted(set(torchvision.models.list_models()) - set(CLASSIFIERS))


@pytest.mark.parametrize("name", OTHER_MODELS)
def test_every_other_torchvision_model_builds_from_its_spec(name: str) -> None:
    """Detection, segmentation, video, optical flow, quantized: no weights, no downloads
    (detection builders would fetch a pretrained backbone by default)."""
    report = build_report(torchvision_factory(name))
    assert report.num_layers > 0

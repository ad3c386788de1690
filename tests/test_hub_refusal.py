"""No weights from any hub, ever: every loader fails at once, without touching the network
or a download cache, and is back in place after the build."""

from __future__ import annotations

import functools
import subprocess
import sys
import types
from pathlib import Path

import huggingface_hub
import pytest
import timm
import torch
import transformers
from torch import nn

from pytest_paramform import DownloadRefused, SourceError, build_report
from pytest_paramform.sources.building.hub_guard import refusal, refusal_behind

REFUSED = "never downloads or reads weights"
TINY_GPT2 = {"n_layer": 1, "n_embd": 32, "n_head": 2, "vocab_size": 100, "n_positions": 16,
             "bos_token_id": 0, "eos_token_id": 0}


def test_timm_pretrained_is_refused_and_says_how_to_build_without_weights() -> None:
    with pytest.raises(SourceError) as info:
        build_report(functools.partial(timm.create_model, "resnet18", pretrained=True))
    message = str(info.value)
    assert "timm.models._builder.load_pretrained" in message
    assert REFUSED in message
    assert "pretrained=False" in message


def test_from_pretrained_is_refused_even_when_the_weights_are_on_disk(tmp_path: Path) -> None:
    """A populated cache or a local folder: from_pretrained reads weights either way."""
    saved = tmp_path / "gpt2-saved"
    transformers.GPT2LMHeadModel(transformers.GPT2Config(**TINY_GPT2)).save_pretrained(saved)
    assert any(saved.glob("*.safetensors"))
    with pytest.raises(SourceError, match=r"PreTrainedModel\.from_pretrained.*from_config"):
        build_report(lambda: transformers.GPT2LMHeadModel.from_pretrained(saved))
    with pytest.raises(SourceError, match=r"\.from_pretrained\) while it was built"):
        build_report(lambda: transformers.AutoModelForCausalLM.from_pretrained(saved))


@pytest.mark.parametrize(
    "fetch",
    [
        lambda: huggingface_hub.hf_hub_download("openai-community/gpt2", "model.safetensors"),
        lambda: huggingface_hub.hf_hub_download(
            "openai-community/gpt2", "config.json", local_files_only=True
        ),
        lambda: huggingface_hub.snapshot_download("openai-community/gpt2"),
        lambda: transformers.AutoConfig.from_pretrained("openai-community/gpt2"),
        lambda: torch.hub.load_state_dict_from_url("https://example.invalid/w.pth"),
    ],
    ids=["download", "cache", "snapshot", "hub-config", "torch-hub"],
)
def test_every_hub_access_fails_at_once_with_one_clear_line(fetch: object) -> None:
    def factory() -> nn.Module:
        fetch()  # type: ignore[operator]
        return nn.Linear(2, 2)

    with pytest.raises(DownloadRefused) as info:
        build_report(factory)
    assert REFUSED in str(info.value)
    assert f"({info.value.loader})" in str(info.value)
    assert "\n" not in str(info.value)


def test_the_refusal_is_known_by_its_type_behind_a_librarys_own_error() -> None:
    def fetch() -> None:
        try:
            refusal("torch.hub.load")()
        except SourceError as exc:
            raise OSError("could not fetch the config") from exc

    with pytest.raises(OSError, match="could not fetch") as info:
        fetch()
    behind = refusal_behind(info.value)
    assert behind is not None
    assert behind.loader == "torch.hub.load"
    assert REFUSED in behind.problem


def test_an_error_that_only_reads_like_the_refusal_is_not_taken_for_it() -> None:
    assert refusal_behind(SourceError(f"a model of our own that {REFUSED}")) is None


def test_a_refusal_placed_in_a_file_keeps_its_type_and_its_loader() -> None:
    with pytest.raises(DownloadRefused) as info:
        refusal("timm.models._hub.download_cached_file")()
    placed = info.value.at("tests/test_models.py")
    assert isinstance(placed, DownloadRefused)
    assert placed.loader == "timm.models._hub.download_cached_file"
    assert str(placed) == f"tests/test_models.py: {info.value}"


def test_a_config_read_from_a_local_folder_is_allowed(tmp_path: Path) -> None:
    transformers.GPT2Config(**TINY_GPT2).save_pretrained(tmp_path)

    def from_local_config() -> nn.Module:
        config = transformers.AutoConfig.from_pretrained(tmp_path)
        return transformers.AutoModelForCausalLM.from_config(config)

    assert build_report(from_local_config).num_layers == 16


def test_the_loaders_are_restored_after_the_build() -> None:
    originals = (
        huggingface_hub.hf_hub_download,
        huggingface_hub.file_download.hf_hub_download,
        transformers.modeling_utils.PreTrainedModel.__dict__["from_pretrained"],
        timm.models._builder.load_pretrained,
        torch.hub.load_state_dict_from_url,
    )
    with pytest.raises(SourceError):
        build_report(functools.partial(timm.create_model, "resnet18", pretrained=True))
    assert originals == (
        huggingface_hub.hf_hub_download,
        huggingface_hub.file_download.hf_hub_download,
        transformers.modeling_utils.PreTrainedModel.__dict__["from_pretrained"],
        timm.models._builder.load_pretrained,
        torch.hub.load_state_dict_from_url,
    )


def test_a_module_imported_between_two_builds_has_its_loader_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second build looks only at the modules imported since the first: this one is."""
    build_report(lambda: nn.Linear(4, 4))
    binder = types.ModuleType("paramform_loader_binder")
    binder.load_state_dict_from_url = torch.hub.load_state_dict_from_url  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, binder.__name__, binder)

    def downloads() -> nn.Module:
        binder.load_state_dict_from_url("https://example.invalid/weights.pth")
        return nn.Linear(4, 4)

    with pytest.raises(DownloadRefused) as refused:  # by name, before any socket is opened
        build_report(downloads)
    assert refused.value.loader == "torch.hub.load_state_dict_from_url"
    assert binder.load_state_dict_from_url is torch.hub.load_state_dict_from_url
    # One module removed and another imported, as many as before: the next scan is whole.
    monkeypatch.delitem(sys.modules, binder.__name__)
    other = types.ModuleType("paramform_loader_binder_2")
    other.download_url_to_file = torch.hub.download_url_to_file  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, other.__name__, other)

    def downloads_again() -> nn.Module:
        other.download_url_to_file("https://example.invalid/w.pth", "w.pth")
        return nn.Linear(4, 4)

    with pytest.raises(DownloadRefused) as refused:
        build_report(downloads_again)
    assert refused.value.loader == "torch.hub.download_url_to_file"


INIT_AFTER_A_BUILD = """
import transformers, torch
from torch import nn
from pytest_paramform import build_report

build_report(lambda: nn.Linear(4, 4))   # transformers' lazy submodules are not loaded yet
from transformers import initialization
print(initialization.TORCH_INIT_FUNCTIONS["normal_"] is torch.nn.init.normal_)
model = transformers.GPT2Model(transformers.GPT2Config(n_layer=1, n_embd=64, n_head=2))
print(round(float(model.wte.weight.std()), 2))
"""

FIRST_IMPORT_IN_A_FACTORY = """
import torch
from torch import nn
from pytest_paramform import build_report

def factory():
    import timm   # first imported here, while the loaders are refused
    return timm.create_model("resnet18")

build_report(factory)
import timm.models._builder as builder, timm.models._hub as hub
print(builder.load_state_dict_from_url is torch.hub.load_state_dict_from_url,
      hub.download_url_to_file is torch.hub.download_url_to_file,
      builder.load_pretrained.__module__)
"""


def _child(code: str) -> list[str]:
    child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert child.returncode == 0, child.stderr[-2000:]
    return child.stdout.split()


def test_a_build_leaves_transformers_initialisation_as_it_was() -> None:
    """transformers keeps a table of torch's initialisers, filled when first imported."""
    same_function, std = _child(INIT_AFTER_A_BUILD)
    assert same_function == "True"
    assert std == "0.02", "GPT-2's embeddings are initialised with std 0.02"


def test_a_library_first_imported_during_a_build_keeps_its_own_loaders() -> None:
    assert _child(FIRST_IMPORT_IN_A_FACTORY) == ["True", "True", "timm.models._builder"]

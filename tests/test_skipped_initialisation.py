"""transformers' own initialisation is skipped while a model is built without weights (it
only writes values, which a report never reads), and the report is the real build's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
import transformers
from torch import nn
from transformers import initialization

from pytest_paramform import build_report, empty_weights

from hf_tiny import FAMILIES, TEXT

BUILDERS: dict[str, Callable[[], nn.Module]] = {
    **FAMILIES,
    "gemma": lambda: transformers.GemmaForCausalLM(transformers.GemmaConfig(**TEXT)),
    "bert": lambda: transformers.BertModel(
        transformers.BertConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                intermediate_size=32, vocab_size=64)
    ),
    "t5": lambda: transformers.T5ForConditionalGeneration(
        transformers.T5Config(d_model=16, d_kv=8, d_ff=32, num_layers=2, num_heads=2,
                              vocab_size=64)
    ),
}


def _spy(calls: list[str], name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return original(*args, **kwargs)

    return spy


@pytest.mark.parametrize("family", sorted(BUILDERS))
def test_a_build_without_initialisation_reports_what_a_real_build_does(family: str) -> None:
    """Names, shapes, dtypes, ties and persistent buffers: those of the model allocated
    and initialised as transformers initialises it."""
    factory = BUILDERS[family]
    ours = build_report(factory, family, buffers=True, dtype=True)
    real = build_report(factory(), family, buffers=True, dtype=True)
    assert (ours.rows, ours.aliases, ours.buffers) == (real.rows, real.aliases, real.buffers)


def test_buffers_computed_when_built_are_the_real_builds() -> None:
    """The rotary frequencies (a buffer no checkpoint holds) come out as a real build's:
    transformers recomputes them in its initialisation, the module already did."""
    with empty_weights():
        ours = FAMILIES["llama"]()
    real = FAMILIES["llama"]()
    assert ours.model.embed_tokens.weight.is_meta
    ours_freq, real_freq = ours.model.rotary_emb.inv_freq, real.model.rotary_emb.inv_freq
    assert (ours_freq.shape, ours_freq.dtype) == (real_freq.shape, real_freq.dtype)
    assert torch.equal(ours_freq, real_freq)


def test_transformers_initialisation_is_skipped_while_building_and_back_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    model = transformers.PreTrainedModel
    for owner, name in ((model, "initialize_weights"), (initialization, "normal_")):
        monkeypatch.setattr(owner, name, _spy(calls, name, getattr(owner, name)))
    spies = (model.__dict__["initialize_weights"], initialization.normal_)
    build_report(FAMILIES["llama"])
    assert calls == []
    assert (model.__dict__["initialize_weights"], initialization.normal_) == spies
    FAMILIES["llama"]()
    assert {"initialize_weights", "normal_"} <= set(calls)


class CallsTransformersInitialiser(nn.Module):
    """A module that initialises its own parameter through transformers' initialisers."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(8, 4))
        initialization.normal_(self.weight, std=0.02)


def test_transformers_initialisers_called_by_a_module_leave_it_as_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(initialization, "normal_", _spy(calls, "normal_", initialization.normal_))
    report = build_report(CallsTransformersInitialiser)
    assert [row.shape for row in report.rows] == [(8, 4)]
    assert calls == []
    CallsTransformersInitialiser()
    assert calls == ["normal_"]

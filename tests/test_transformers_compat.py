"""Every assumption paramform makes about transformers' internals, one test each.

When transformers changes, these fail first and point at ``transformers_compat.py``, the
only module that relies on them (how ``from_pretrained`` renames and fuses a checkpoint, how
``hf:`` specs build a model class, which classmethods load weights, which functions
initialise weights).
"""

from __future__ import annotations

import copy
import importlib
import inspect
import sys
from pathlib import Path

import pytest
import torch
import transformers
from transformers import conversion_mapping, core_model_loading

from pytest_paramform.sources.transformers_compat import (
    WEIGHT_LOADERS,
    Named,
    as_loaded,
    auto_model_base,
    converted_tensors,
    from_config,
    initialisers,
    is_transformers_model,
    loading_rules,
)

from checkpoint_reads import read_file
from hf_tiny import FAMILIES, TEXT, llama, mixtral, save

EXPERT_W1 = "model.layers.0.block_sparse_moe.experts.0.w1.weight"
FUSED = "model.layers.0.mlp.experts.gate_up_proj"


def split(model: object) -> tuple[list[object], list[object]]:
    rules = loading_rules(model)
    renamings = [r for r in rules if isinstance(r, core_model_loading.WeightRenaming)]
    converters = [r for r in rules if isinstance(r, core_model_loading.WeightConverter)]
    assert len(renamings) + len(converters) == len(rules)
    return renamings, converters


def test_every_model_is_a_pretrained_model_and_nothing_is_imported_to_ask(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert is_transformers_model(llama())
    assert not is_transformers_model(torch.nn.Linear(2, 2))
    monkeypatch.delitem(sys.modules, "transformers")
    assert not is_transformers_model(torch.nn.Linear(2, 2))
    assert "transformers" not in sys.modules


def test_from_pretrained_takes_its_rules_from_get_model_conversion_mapping() -> None:
    loader = inspect.getsource(transformers.PreTrainedModel.from_pretrained)
    assert "get_model_conversion_mapping(model, key_mapping, hf_quantizer)" in loader
    keywords = inspect.signature(conversion_mapping.get_model_conversion_mapping).parameters
    assert list(keywords)[:3] == ["model", "key_mapping", "hf_quantizer"]


def test_the_rules_are_renamings_and_converters_with_source_patterns() -> None:
    renamings, converters = split(mixtral())
    assert renamings
    assert converters
    assert all(isinstance(p, str) for c in converters for p in c.source_patterns)


def test_rename_source_key_gives_the_fused_name_and_the_matching_pattern() -> None:
    model = mixtral()
    renamings, converters = split(model)
    targets = model.state_dict()
    key, pattern = core_model_loading.rename_source_key(
        EXPERT_W1, renamings, converters, model.base_model_prefix, targets
    )
    assert key == FUSED
    assert pattern in {p for c in converters for p in c.source_patterns}
    plain = "model.layers.0.self_attn.q_proj.weight"
    assert core_model_loading.rename_source_key(
        plain, renamings, converters, model.base_model_prefix, targets
    ) == (plain, None)


def test_rename_source_key_adds_the_base_model_prefix_the_model_wants() -> None:
    model = llama()
    renamings, converters = split(model)
    targets = model.state_dict()
    saved_by_the_base_model = "layers.0.mlp.up_proj.weight"
    key, _ = core_model_loading.rename_source_key(
        saved_by_the_base_model, renamings, converters, "model", targets
    )
    assert key == f"model.{saved_by_the_base_model}"


def test_dot_natural_key_orders_numbers_as_numbers() -> None:
    names = ["experts.10.w1", "experts.2.w1", "experts.1.w1"]
    assert sorted(names, key=core_model_loading.dot_natural_key) == [
        "experts.1.w1",
        "experts.2.w1",
        "experts.10.w1",
    ]


def _fused(model: object, experts: int) -> object:
    """Collect ``experts`` w1 and w3 meta tensors into a copy of their converter."""
    renamings, converters = split(model)
    targets = model.state_dict()  # type: ignore[attr-defined]
    rule = None
    for expert in range(experts):
        for w in ("w1", "w3"):
            name = EXPERT_W1.replace("0.w1", f"{expert}.{w}")
            key, pattern = core_model_loading.rename_source_key(
                name, renamings, converters, "model", targets
            )
            if rule is None:
                rule = copy.deepcopy(next(c for c in converters if pattern in c.source_patterns))
            tensor = torch.empty(32, 16, device="meta")
            rule.add_tensor(key, name, pattern, tensor)  # type: ignore[attr-defined]
    return rule


def test_a_converter_fuses_collected_meta_tensors_into_the_models_shape() -> None:
    model = mixtral()
    converted = _fused(model, 4).convert(FUSED, model=model, config=model.config)  # type: ignore[attr-defined]
    made = converted_tensors(converted)  # transformers 5.0 adds the errors it logged
    assert made is not None
    [(name, value)] = made.items()
    tensor = value[0] if isinstance(value, list) else value
    assert name == FUSED
    assert tensor.device.type == "meta"
    assert tuple(tensor.shape) == tuple(model.state_dict()[FUSED].shape) == (4, 64, 16)


def test_a_converter_without_loading_info_raises_what_it_cannot_fuse() -> None:
    model = mixtral()
    rule = _fused(model, 2)
    rule.add_tensor(
        FUSED, "w1 of a third expert", rule.source_patterns[0], torch.empty(32, 16, device="meta")
    )  # type: ignore[attr-defined]
    with pytest.raises(Exception):  # noqa: B017, PT011 - the loader's own, whatever its type
        rule.convert(FUSED, model=model, config=model.config)  # type: ignore[attr-defined]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_as_loaded_names_and_shapes_what_from_pretrained_loads(family: str, tmp_path: Path) -> None:
    folder = save(tmp_path / family, family)
    model, info = type(FAMILIES[family]()).from_pretrained(str(folder), output_loading_info=True)
    assert not info["missing_keys"]
    assert not info["unexpected_keys"]
    saved = [Named(*t) for t in read_file(folder / "model.safetensors")[0]]
    loaded = {t.name: t.shape for t in as_loaded(model, saved)}
    state = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    tied = {k for k in state if k not in loaded}
    assert {k: state[k] for k in loaded} == loaded
    assert all(k.endswith("lm_head.weight") for k in tied)


def test_the_auto_classes_share_a_base_in_auto_factory() -> None:
    base = auto_model_base(transformers)
    assert base is not type
    for auto in (transformers.AutoModel, transformers.AutoModelForCausalLM):
        assert issubclass(auto, base)
    assert not issubclass(transformers.LlamaModel, base)


def test_a_model_class_is_built_in_its_configs_dtype_as_its_auto_class_builds_it() -> None:
    config = transformers.LlamaConfig(**TEXT, dtype="bfloat16")
    built = from_config(transformers.LlamaForCausalLM, copy.deepcopy(config))
    auto = from_config(transformers.AutoModelForCausalLM, copy.deepcopy(config))
    assert type(built) is type(auto)
    assert {p.dtype for p in built.parameters()} == {torch.bfloat16}
    assert [(n, p.shape) for n, p in built.named_parameters()] == [
        (n, p.shape) for n, p in auto.named_parameters()
    ]
    assert {p.dtype for p in transformers.LlamaForCausalLM(config).parameters()} == {
        torch.float32
    }, "the plain constructor ignores the config's dtype: why _from_config is used"


@pytest.mark.parametrize(("module", "owner", "method"), WEIGHT_LOADERS)
def test_every_weight_loader_is_a_classmethod_of_its_own_class(
    module: str, owner: str, method: str
) -> None:
    cls = getattr(importlib.import_module(module), owner)
    assert isinstance(vars(cls)[method], classmethod)
    assert issubclass(transformers.LlamaForCausalLM, cls) or issubclass(
        transformers.AutoModelForCausalLM, cls
    )


def test_transformers_initialisers_carry_torch_init_names_and_bypass_torch_init(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``transformers.initialization.normal_`` & co. keep torch's own functions: a stand-in
    put on ``torch.nn.init`` alone would not reach them, so a build names both."""
    from transformers import initialization

    model = transformers.PreTrainedModel  # loads transformers.modeling_utils: found loaded
    names = [n for n in dir(torch.nn.init) if n.endswith("_") and not n.startswith("_")]
    owners = {name: owner for owner, name in initialisers(names)}
    assert owners["normal_"] is initialization
    assert owners["initialize_weights"] is model
    monkeypatch.setattr(torch.nn.init, "normal_", lambda tensor, *a, **k: tensor)
    weight = torch.zeros(64)
    initialization.normal_(weight, std=1.0)
    assert weight.abs().sum() > 0, "transformers' normal_ went through torch.nn.init"


def test_a_model_is_initialised_by_initialize_weights_when_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    walked: list[str] = []
    original = transformers.PreTrainedModel.initialize_weights

    def spy(self: transformers.PreTrainedModel) -> None:
        walked.append(type(self).__name__)
        original(self)

    monkeypatch.setattr(transformers.PreTrainedModel, "initialize_weights", spy)
    transformers.LlamaForCausalLM(transformers.LlamaConfig(**TEXT))
    assert "LlamaForCausalLM" in walked

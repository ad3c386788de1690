"""Tiny Hugging Face models (2 layers, hidden size 16), one per family whose checkpoint
names differ from its model's, saved as ``save_pretrained`` saves them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import transformers

TEXT = {
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "vocab_size": 64,
}
VISION = {
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "image_size": 32,
    "patch_size": 8,
}


def mixtral(**changes: object) -> transformers.PreTrainedModel:
    """4 experts a layer: the model fuses them (``mlp.experts.gate_up_proj [4, 64, 16]``),
    the checkpoint keeps ``block_sparse_moe.experts.N.w1/w2/w3``."""
    config = transformers.MixtralConfig(
        **{**TEXT, **changes}, num_local_experts=4, num_experts_per_tok=2
    )
    return transformers.MixtralForCausalLM(config)


def qwen2_moe(**changes: object) -> transformers.PreTrainedModel:
    config = transformers.Qwen2MoeConfig(
        **{**TEXT, **changes},
        num_experts=4,
        num_experts_per_tok=2,
        moe_intermediate_size=8,
        shared_expert_intermediate_size=16,
    )
    return transformers.Qwen2MoeForCausalLM(config)


def vit(**changes: object) -> transformers.PreTrainedModel:
    return transformers.ViTModel(transformers.ViTConfig(**{**VISION, **changes}))


def llava(**changes: object) -> transformers.PreTrainedModel:
    text = transformers.LlamaConfig(**{**TEXT, **changes})
    vision = transformers.CLIPVisionConfig(**VISION, projection_dim=16)
    config = transformers.LlavaConfig(text_config=text, vision_config=vision, image_token_id=3)
    return transformers.LlavaForConditionalGeneration(config)


def llama(**changes: object) -> transformers.PreTrainedModel:
    """A family whose checkpoint names were already the model's."""
    return transformers.LlamaForCausalLM(transformers.LlamaConfig(**{**TEXT, **changes}))


FAMILIES: dict[str, Callable[..., transformers.PreTrainedModel]] = {
    "mixtral": mixtral,
    "qwen2_moe": qwen2_moe,
    "vit": vit,
    "llava": llava,
    "llama": llama,
}


def save(folder: Path, family: str, **changes: object) -> Path:
    """``Model(config).save_pretrained(folder)``: config.json and model.safetensors."""
    FAMILIES[family](**changes).save_pretrained(str(folder))
    return folder

"""A suite of 100 Hugging Face config goldens, and the loop a user would otherwise write.

    python benchmarks/hf_suite.py write DIR   # DIR/configs/NAME/config.json + DIR/test_configs.py
    python benchmarks/hf_suite.py bare DIR    # each model built on meta, its parameters listed
    python benchmarks/hf_suite.py loop DIR LOOP  # LOOP/test_loop.py: that loop as pytest tests

The configs are Llama, Mistral, Qwen2 and Gemma decoders of 4 to 32 layers (small widths:
the build's cost is per module, not per element). ``write`` imports nothing heavy; ``bare``
builds every config under ``torch.device("meta")`` with ``AutoModelForCausalLM.from_config``
and lists each parameter's name, shape and dtype, the check's work without the plugin.
``loop`` writes the same work as one pytest test a config, in a folder of its own: what a
suite without the plugin would run, pytest's own costs included.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FAMILIES = {
    "llama": "LlamaForCausalLM",
    "mistral": "MistralForCausalLM",
    "qwen2": "Qwen2ForCausalLM",
    "gemma": "GemmaForCausalLM",
}
COUNT = 100
TEST = '''\
from pathlib import Path

import pytest

CONFIGS = sorted(p.name for p in Path(__file__).parent.joinpath("configs").iterdir())


@pytest.mark.parametrize("name", CONFIGS)
def test_config(paramform_snapshot, name):
    paramform_snapshot(f"hf:configs/{name}")
'''


def config(number: int) -> tuple[str, dict[str, object]]:
    """The folder name and ``config.json`` of config ``number``: families in turn, layers
    4 to 32, widths 64 to 256."""
    family = list(FAMILIES)[number % len(FAMILIES)]
    layers = 4 + number * 7 % 29
    hidden = 64 * (1 + number % 4)
    return f"{family}-{number:03d}-{layers}l", {
        "model_type": family,
        "architectures": [FAMILIES[family]],
        "hidden_size": hidden,
        "intermediate_size": 2 * hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": hidden // 4,
        "vocab_size": 1024,
    }


LOOP = '''\
from pathlib import Path

import pytest
import torch
import transformers

CONFIGS = sorted(Path({configs!r}).iterdir())


@pytest.mark.parametrize("folder", CONFIGS, ids=lambda folder: folder.name)
def test_config(folder):
    config = transformers.AutoConfig.from_pretrained(str(folder))
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(config)
    assert [(n, tuple(p.shape), p.dtype) for n, p in model.named_parameters()]
'''


def write(root: Path) -> None:
    for number in range(COUNT):
        name, data = config(number)
        folder = root / "configs" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(data, indent=2))
    (root / "test_configs.py").write_text(TEST)
    (root / "pytest.ini").write_text("[pytest]\n")


def bare(root: Path) -> int:
    """Build every config on ``meta`` and list its parameters; the number listed."""
    import torch
    import transformers

    listed = 0
    for folder in sorted((root / "configs").iterdir()):
        config = transformers.AutoConfig.from_pretrained(str(folder))
        with torch.device("meta"):
            model = transformers.AutoModelForCausalLM.from_config(config)
        listed += len([(n, tuple(p.shape), p.dtype) for n, p in model.named_parameters()])
    return listed


def write_loop(root: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test_loop.py").write_text(LOOP.format(configs=str(root.resolve() / "configs")))
    (folder / "pytest.ini").write_text("[pytest]\n")


if __name__ == "__main__":
    command, where = sys.argv[1], Path(sys.argv[2])
    if command == "write":
        write(where)
    elif command == "loop":
        write_loop(where, Path(sys.argv[3]))
    else:
        print(bare(where))

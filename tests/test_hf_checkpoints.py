"""A Hugging Face model against its own checkpoint: read the way transformers loads it.

transformers 5 renames and fuses weights when it loads a checkpoint (and does the reverse
when it saves one), so ``Model(config).save_pretrained(folder)`` holds other names, and
for mixtures of experts other shapes, than the model. ``paramform diff hf:folder folder``
must still say they match, and a real change must still drift.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from pytest_paramform import as_loaded_by, build_report, compare
from pytest_paramform.cli import main

from hf_tiny import FAMILIES, save


def drop(folder: Path, *prefixes: str) -> Path:
    """Rewrite the folder's model.safetensors without the tensors under ``prefixes``."""
    file = folder / "model.safetensors"
    tensors = load_file(str(file))
    kept = {k: v for k, v in tensors.items() if not k.startswith(prefixes)}
    assert len(kept) < len(tensors)
    save_file(kept, str(file), metadata={"format": "pt"})
    return folder


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_model_and_its_save_pretrained_folder_match_both_ways(
    family: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = save(tmp_path / family, family)
    assert main(["diff", f"hf:{folder}", str(folder)]) == 0
    assert main(["diff", str(folder), f"hf:{folder}"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"paramform: {family} matches hf:{folder}",
        f"paramform: {family} matches {folder}",
    ]


def test_a_missing_expert_drifts_as_the_fused_tensor_it_shrinks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = drop(
        save(tmp_path / "mixtral", "mixtral"), "model.layers.0.block_sparse_moe.experts.3."
    )
    assert main(["diff", f"hf:{folder}", str(folder)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:3] == [
        "  ~ model.layers.0.mlp.experts.down_proj      shape (4, 16, 32) -> (3, 16, 32)"
        "   numel 2,048 -> 1,536",
        "  ~ model.layers.0.mlp.experts.gate_up_proj   shape (4, 64, 16) -> (3, 64, 16)"
        "   numel 4,096 -> 3,072",
    ]
    assert lines[3].startswith("  totals: layers 21 -> 21, parameters 16,080 -> 14,544")


def test_a_tensor_transformers_cannot_fuse_drifts_under_its_checkpoint_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expert = "model.layers.1.block_sparse_moe.experts.2."
    folder = drop(save(tmp_path / "mixtral", "mixtral"), f"{expert}w1.weight")
    assert main(["diff", f"hf:{folder}", str(folder), "--no-fold"]) == 1
    out = capsys.readouterr().out
    assert "  - model.layers.1.mlp.experts.gate_up_proj " in out
    assert f"  + {expert}w3.weight " in out
    assert "model.layers.1.mlp.experts.down_proj" not in out  # the w2s still fuse


def test_a_deleted_tensor_drifts_under_the_models_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = drop(save(tmp_path / "llava", "llava"), "language_model.model.layers.1.mlp.up_proj.")
    assert main(["diff", f"hf:{folder}", str(folder)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == [
        "-",
        "model.language_model.layers.1.mlp.up_proj.weight",
        "(32,",
        "16)",
        "Matrix",
    ]


@pytest.mark.parametrize(
    ("family", "field"),
    [
        ("mixtral", "intermediate_size"),
        ("qwen2_moe", "moe_intermediate_size"),
        ("vit", "intermediate_size"),
        ("llava", "intermediate_size"),
    ],
)
def test_a_changed_config_drifts_against_the_saved_weights(
    family: str, field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = save(tmp_path / family, family)
    config = json.loads((folder / "config.json").read_text())
    text = config.get("text_config", config)
    text[field] = 48
    (folder / "config.json").write_text(json.dumps(config))
    assert main(["diff", f"hf:{folder}", str(folder)]) == 1
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert "~" in rows  # shapes changed: the names still line up, tensor by tensor
    assert "+" not in rows
    assert "-" not in rows


def test_a_golden_recorded_from_the_checkpoint_checks_the_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = save(tmp_path / "qwen", "qwen2_moe")
    golden = tmp_path / "qwen.yaml"
    assert main(["report", str(folder), "--output", str(golden)]) == 0
    assert "experts.0.gate_proj.weight" in golden.read_text()
    assert main(["check", f"hf:{folder}", str(golden)]) == 0
    assert capsys.readouterr().out.endswith(f"matches {golden}\n")


def test_a_sharded_folder_reads_as_one_checkpoint_loaded_by_the_model(tmp_path: Path) -> None:
    model = FAMILIES["mixtral"]()
    model.save_pretrained(str(tmp_path / "m"), max_shard_size="20KB")
    assert (tmp_path / "m" / "model.safetensors.index.json").is_file()
    assert main(["diff", f"hf:{tmp_path / 'm'}", str(tmp_path / "m")]) == 0


def test_a_base_model_checkpoint_loads_into_a_model_with_a_head_under_its_prefix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    causal = FAMILIES["llama"](tie_word_embeddings=False)
    causal.save_pretrained(str(tmp_path / "causal"))
    causal.model.save_pretrained(str(tmp_path / "base"))  # keys without the "model." prefix
    assert main(["diff", f"hf:{tmp_path / 'causal'}", str(tmp_path / "base")]) == 1
    rows = capsys.readouterr().out.splitlines()[1:-2]
    assert [row.split()[:2] for row in rows] == [["-", "lm_head.weight"]]


def test_in_python_a_checkpoint_is_read_as_the_model_loads_it(tmp_path: Path) -> None:
    model = FAMILIES["mixtral"]()
    model.save_pretrained(str(tmp_path / "mixtral"))
    saved = build_report(str(tmp_path / "mixtral"))
    expected = build_report(model, buffers=True)
    assert compare(expected, saved)  # the names on disk are not the model's
    assert compare(expected, as_loaded_by(saved, model)) == []
    assert as_loaded_by(saved, torch.nn.Linear(2, 2)) is saved  # not a transformers model

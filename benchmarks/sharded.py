"""A DeepSeek-V3-shaped sharded checkpoint, built as sparse files, and the check a user would
otherwise write by hand.

    python benchmarks/sharded.py build DIR     # 163 shards, about 90,000 tensors, real headers
    python benchmarks/sharded.py by-hand DIR   # safe_open every shard, compare with a JSON golden

Each shard is a real safetensors file whose data section is a hole, so the whole
checkpoint takes almost no disk. Tensors: 61 layers of attention and 256 experts, FP8
weights with F32 block scales, as in DeepSeek-V3.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SHARDS = 163
LAYERS = 61
EXPERTS = 256
HIDDEN, MOE = 7168, 2048
WIDTH = {"F8_E4M3": 1, "BF16": 2, "F32": 4}


def tensors() -> list[tuple[str, str, list[int]]]:
    """(name, dtype, shape) in the checkpoint's order."""
    out: list[tuple[str, str, list[int]]] = [
        ("model.embed_tokens.weight", "BF16", [129280, HIDDEN])
    ]
    for layer in range(LAYERS):
        base = f"model.layers.{layer}"
        out += [
            (f"{base}.input_layernorm.weight", "BF16", [HIDDEN]),
            (f"{base}.self_attn.q_a_proj.weight", "F8_E4M3", [1536, HIDDEN]),
            (f"{base}.self_attn.q_a_proj.weight_scale_inv", "F32", [12, 56]),
            (f"{base}.self_attn.o_proj.weight", "F8_E4M3", [HIDDEN, 16384]),
            (f"{base}.self_attn.o_proj.weight_scale_inv", "F32", [56, 128]),
        ]
        for expert in range(EXPERTS if layer >= 3 else 0):
            projections = (("gate_proj", [MOE, HIDDEN]), ("up_proj", [MOE, HIDDEN]))
            for proj, shape in (*projections, ("down_proj", [HIDDEN, MOE])):
                name = f"{base}.mlp.experts.{expert}.{proj}"
                out.append((f"{name}.weight", "F8_E4M3", shape))
                out.append((f"{name}.weight_scale_inv", "F32", [16, 56]))
    out.append(("lm_head.weight", "BF16", [129280, HIDDEN]))
    return out


def build(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    everything = tensors()
    per_shard = -(-len(everything) // SHARDS)
    weight_map: dict[str, str] = {}
    total = 0
    for number in range(SHARDS):
        part = everything[number * per_shard : (number + 1) * per_shard]
        name = f"model-{number + 1:05d}-of-{SHARDS:05d}.safetensors"
        header: dict[str, object] = {"__metadata__": {"format": "pt"}}
        offset = 0
        for tensor, dtype, shape in part:
            size = WIDTH[dtype]
            for dim in shape:
                size *= dim
            header[tensor] = {
                "dtype": dtype,
                "shape": shape,
                "data_offsets": [offset, offset + size],
            }
            offset += size
            weight_map[tensor] = name
        raw = json.dumps(header, separators=(",", ":")).encode()
        raw += b" " * (-len(raw) % 8)
        with (folder / name).open("wb") as handle:
            handle.write(len(raw).to_bytes(8, "little") + raw)
            handle.truncate(8 + len(raw) + offset)  # a hole: no disk for the data
        total += offset
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))
    golden = {name: shape for name, _, shape in everything}
    (folder.parent / "golden.json").write_text(json.dumps(golden))
    return folder / "model.safetensors.index.json"


def by_hand(folder: Path) -> int:
    """What a user writes without paramform: open every shard, collect shapes, compare."""
    from safetensors import safe_open

    index = json.loads((folder / "model.safetensors.index.json").read_text())
    shapes: dict[str, list[int]] = {}
    for shard in dict.fromkeys(index["weight_map"].values()):
        with safe_open(str(folder / shard), framework="pt") as handle:
            for key in handle.keys():  # noqa: SIM118 (safe_open is not a mapping)
                shapes[key] = list(handle.get_slice(key).get_shape())
    golden = json.loads((folder.parent / "golden.json").read_text())
    changed = [name for name in golden if shapes.get(name) != golden[name]]
    print("ok" if not changed and len(shapes) == len(golden) else f"{len(changed)} changed")
    return 0


if __name__ == "__main__":
    command, where = sys.argv[1], Path(sys.argv[2])
    if command == "build":
        print(build(where))
    else:
        sys.exit(by_hand(where))

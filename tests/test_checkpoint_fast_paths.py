"""The short cuts that make a 90,000-tensor checkpoint quick to check accept and refuse
exactly what the full checks do: a safetensors entry that repeats a checked dtype and shape,
and an index whose shards are compared with its weight_map in one step."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from test_checkpoints import write_safetensors
from test_sharded import INDEX, SHARDS, write_sharded

from pytest_paramform.errors import SourceError
from pytest_paramform.sources.tensors import TensorInfo

from checkpoint_reads import read_file

FIRST = {"dtype": "F32", "shape": [1, 2], "data_offsets": [0, 8]}
REPEAT = {"dtype": "F32", "shape": [1, 2], "data_offsets": [8, 16]}


def test_entries_that_repeat_a_dtype_and_shape_read_as_the_first(tmp_path: Path) -> None:
    header = {f"w{i}": {**FIRST, "data_offsets": [8 * i, 8 * i + 8]} for i in range(4)}
    header["odd"] = {"dtype": "F4", "shape": [3], "data_offsets": [32, 35]}  # sub-byte: no width
    header["odd2"] = {"dtype": "F4", "shape": [3], "data_offsets": [35, 36]}
    path = write_safetensors(tmp_path / "m.safetensors", header, bytes(36))
    tensors = read_file(path)[0]
    assert tensors[:4] == [TensorInfo(f"w{i}", (1, 2), "float32") for i in range(4)]
    assert [t.shape for t in tensors[4:]] == [(3,), (3,)]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({**REPEAT, "shape": [True, 2]}, r"shape \[True, 2\]"),  # equal to (1, 2) in Python
        ({**REPEAT, "shape": [1.0, 2]}, r"shape \[1\.0, 2\]"),
        ({**REPEAT, "shape": "2"}, "shape '2'"),
        ({**REPEAT, "data_offsets": [16, 8]}, "data_offsets"),
        ({**REPEAT, "data_offsets": [8]}, "data_offsets"),
        ({**REPEAT, "data_offsets": [8, 16, 24]}, "data_offsets"),
        ({**REPEAT, "data_offsets": [True, 9]}, "data_offsets"),
        ({**REPEAT, "data_offsets": [8.0, 16]}, "data_offsets"),
        ({**REPEAT, "data_offsets": "ab"}, "data_offsets"),
        ({**REPEAT, "data_offsets": [8, 12]}, "needs 8 bytes"),
        ({**REPEAT, "data_offsets": [24, 32]}, "truncated"),
        ({"dtype": "F32", "shape": [1, 2]}, "has no 'data_offsets'"),
        ({**REPEAT, "dtype": ["F32"]}, r"dtype \['F32'\]"),
        ([1, 2], "entry 'w' is list"),
    ],
)
def test_a_bad_entry_after_a_good_one_of_its_shape_is_refused(
    tmp_path: Path, entry: object, message: str
) -> None:
    path = write_safetensors(tmp_path / "bad.safetensors", {"a": FIRST, "w": entry}, bytes(16))
    with pytest.raises(SourceError, match=message):
        read_file(path)[0]


def test_a_tensor_that_two_shards_hold_is_refused(tmp_path: Path) -> None:
    shards = [*SHARDS[:2], {**SHARDS[2], "layers.0.w": torch.zeros(4, 4)}]
    index = write_sharded(tmp_path / "llm", shards)
    assert index.name == INDEX
    with pytest.raises(SourceError, match=r"holds 'layers\.0\.w', which the index"):
        read_file(index)

"""Reading checkpoints: names, shapes and dtypes only, no tensor bytes, no pickled code."""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from pytest_paramform.errors import SourceError
from pytest_paramform.sources.state_dicts import tensors_of_entries
from pytest_paramform.sources.tensors import TensorInfo, Ties

from checkpoint_reads import read_file

PROC_IO = Path("/proc/self/io")


def read_safetensors(path: Path) -> list[TensorInfo]:
    return read_file(path)[0]


def tensors_of_mapping(
    state: dict[object, object], where: str = "state_dict"
) -> tuple[list[TensorInfo], Ties]:
    return tensors_of_entries(torch, state.items(), where)


GiB = 1 << 30


def infos_of(state: dict[str, torch.Tensor]) -> list[TensorInfo]:
    """What a reader should report, computed with torch's own attributes."""
    return [
        TensorInfo(name, tuple(t.shape), str(t.dtype).removeprefix("torch."))
        for name, t in state.items()
    ]


def small_model() -> nn.Module:
    """Conv, batch norm (with its int64 counter) and linear layers."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(8 * 6 * 6, 10)
    )


class Tied(nn.Module):
    """A language-model head sharing its weight with the embedding, as GPT-2 does."""

    def __init__(self) -> None:
        super().__init__()
        self.wte = nn.Embedding(50, 8)
        self.ln = nn.LayerNorm(8)
        self.lm_head = nn.Linear(8, 50, bias=False)
        self.lm_head.weight = self.wte.weight


def save_file(state: dict[str, torch.Tensor], path: Path, **kwargs: Any) -> None:
    """Write with the safetensors package itself (a test-only dependency)."""
    safetensors_torch = pytest.importorskip("safetensors.torch")
    safetensors_torch.save_file(state, path, **kwargs)


def write_safetensors(path: Path, header: Any, data: bytes = b"") -> Path:
    """A hand-made safetensors file: little-endian length, JSON header, data."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + data)
    return path


@contextmanager
def bytes_read() -> Iterator[list[int]]:
    """Bytes this process reads through system calls inside the block (Linux only)."""

    def rchar() -> int:
        lines = PROC_IO.read_text().splitlines()
        return next(int(line.split()[1]) for line in lines if line.startswith("rchar:"))

    box = [0]
    start = rchar()
    yield box
    box[0] = rchar() - start


# --- safetensors -------------------------------------------------------------------


def test_safetensors_of_a_torchvision_model(tmp_path: Path) -> None:
    torchvision = pytest.importorskip("torchvision")
    state = torchvision.models.resnet18(weights=None).state_dict()
    path = tmp_path / "resnet18.safetensors"
    save_file(state, path)

    infos = read_safetensors(path)

    assert sorted(infos, key=lambda i: i.name) == sorted(infos_of(state), key=lambda i: i.name)
    assert {i.dtype for i in infos} == {"float32", "int64"}


def test_safetensors_dtypes_written_by_the_safetensors_package(tmp_path: Path) -> None:
    state = {
        "half": torch.zeros(2, 3, dtype=torch.bfloat16),
        "f16": torch.zeros(4, dtype=torch.float16),
        "fp8": torch.zeros(5, dtype=torch.float8_e4m3fn),
        "fp8b": torch.zeros(5, dtype=torch.float8_e5m2),
        "mask": torch.zeros(3, dtype=torch.bool),
        "bytes": torch.zeros(7, dtype=torch.uint8),
        "index": torch.zeros(2, 2, dtype=torch.int64),
        "double": torch.zeros(1, dtype=torch.float64),
        "scalar": torch.tensor(1.0),
        "empty": torch.zeros(0, 3),
    }
    path = tmp_path / "mixed.safetensors"
    save_file(state, path, metadata={"format": "pt"})

    infos = {i.name: i for i in read_safetensors(path)}

    assert infos == {i.name: i for i in infos_of(state)}
    assert infos["half"] == TensorInfo("half", (2, 3), "bfloat16")
    assert infos["scalar"].shape == ()


def test_safetensors_keeps_the_header_order_and_skips_metadata(tmp_path: Path) -> None:
    header = {
        "z.weight": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "__metadata__": {"format": "pt"},
        "a.weight": {"dtype": "BF16", "shape": [3], "data_offsets": [8, 14]},
        "m.weight": {"dtype": "I8", "shape": [1, 1], "data_offsets": [14, 15]},
    }
    path = write_safetensors(tmp_path / "order.safetensors", header, bytes(15))

    assert [i.name for i in read_safetensors(path)] == ["z.weight", "a.weight", "m.weight"]


@pytest.mark.parametrize(
    ("code", "width", "expected"),
    [
        ("F64", 8, "float64"),
        ("F32", 4, "float32"),
        ("F16", 2, "float16"),
        ("BF16", 2, "bfloat16"),
        ("I64", 8, "int64"),
        ("I32", 4, "int32"),
        ("I16", 2, "int16"),
        ("I8", 1, "int8"),
        ("U64", 8, "uint64"),
        ("U32", 4, "uint32"),
        ("U16", 2, "uint16"),
        ("U8", 1, "uint8"),
        ("BOOL", 1, "bool"),
        ("F8_E4M3", 1, "float8_e4m3fn"),
        ("F8_E5M2", 1, "float8_e5m2"),
        ("F4", 1, "f4"),  # unknown width: spelled in lower case, size not checked
    ],
)
def test_safetensors_dtype_spelling(tmp_path: Path, code: str, width: int, expected: str) -> None:
    header = {"t": {"dtype": code, "shape": [2, 3], "data_offsets": [0, 6 * width]}}
    path = write_safetensors(tmp_path / "t.safetensors", header, bytes(6 * width))

    assert read_safetensors(path) == [TensorInfo("t", (2, 3), expected)]


def test_known_dtype_spellings_are_torch_dtypes() -> None:
    names = ["float8_e4m3fn", "float8_e5m2", "bfloat16", "complex64"]
    names += ["uint16"] if hasattr(torch, "uint16") else []  # torch >= 2.3
    for name in names:
        assert isinstance(getattr(torch, name), torch.dtype)


def test_safetensors_reads_the_header_only(tmp_path: Path) -> None:
    """A 1 GiB tensor whose data region is a sparse hole: reading must not touch it."""
    header = {"big": {"dtype": "F32", "shape": [GiB // 4], "data_offsets": [0, GiB]}}
    path = write_safetensors(tmp_path / "big.safetensors", header)
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size + GiB)

    assert read_safetensors(path) == [TensorInfo("big", (GiB // 4,), "float32")]


@pytest.mark.skipif(not PROC_IO.exists(), reason="needs Linux /proc/self/io")
def test_safetensors_reads_only_a_few_bytes(tmp_path: Path) -> None:
    state = {f"w{i}": torch.zeros(1024, 1024) for i in range(8)}  # 32 MiB of data
    path = tmp_path / "w.safetensors"
    save_file(state, path)

    with bytes_read() as count:
        read_safetensors(path)

    assert count[0] < 64 * 1024


def test_reading_safetensors_never_imports_torch(tmp_path: Path) -> None:
    header = {"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}
    path = write_safetensors(tmp_path / "t.safetensors", header, bytes(4))
    code = (
        "import sys\n"
        "from pytest_paramform.sources.checkpoints import read\n"
        "from pytest_paramform.sources.kinds import Kind\n"
        f"print(read(Kind.CHECKPOINT, {str(path)!r}))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "float32" in result.stdout


ENTRY = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is 0 bytes long"),
        (b"\x01\x02\x03", "8-byte header length"),
        ((1 << 40).to_bytes(8, "little"), "more than the"),
        ((500).to_bytes(8, "little") + b"{}", "truncated or not a safetensors"),
        ((4).to_bytes(8, "little") + b"\xff\xfe{}", "not UTF-8"),
        ((5).to_bytes(8, "little") + b"{'a':", "not valid JSON"),
        ((2).to_bytes(8, "little") + b"[]", "JSON list"),
    ],
    ids=["empty", "short", "huge-header", "header-past-end", "not-utf8", "bad-json", "list"],
)
def test_safetensors_damaged_prefix(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "broken.safetensors"
    path.write_bytes(content)

    with pytest.raises(SourceError, match=message) as info:
        read_safetensors(path)

    assert info.value.path == str(path)
    assert "broken.safetensors" in str(info.value)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ([1, 2], "entry 'w' is list"),
        ({"shape": [2], "data_offsets": [0, 8]}, "has no 'dtype'"),
        ({"dtype": "F32", "data_offsets": [0, 8]}, "has no 'shape'"),
        ({"dtype": "F32", "shape": [2]}, "has no 'data_offsets'"),
        ({**ENTRY, "dtype": 7}, "dtype 7"),
        ({**ENTRY, "shape": [-2]}, r"shape \[-2\]"),
        ({**ENTRY, "shape": ["2"]}, r"shape \['2'\]"),
        ({**ENTRY, "shape": [True]}, r"shape \[True\]"),
        ({**ENTRY, "shape": 2}, "shape 2"),
        ({**ENTRY, "data_offsets": [8, 0]}, "data_offsets"),
        ({**ENTRY, "data_offsets": [0]}, "data_offsets"),
        ({**ENTRY, "shape": [3]}, "needs 12 bytes"),
        ({**ENTRY, "data_offsets": [0, 80], "shape": [20]}, "truncated"),
    ],
)
def test_safetensors_bad_entry(tmp_path: Path, entry: object, message: str) -> None:
    path = write_safetensors(tmp_path / "bad.safetensors", {"w": entry}, bytes(8))

    with pytest.raises(SourceError, match=message) as info:
        read_safetensors(path)

    assert str(info.value).startswith(f"{path}: ")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            {"a": {**ENTRY, "data_offsets": [0, 8]}, "b": {**ENTRY, "data_offsets": [4, 12]}},
            r"entries 'a' and 'b' share data bytes \(data_offsets \[0, 8\] and \[4, 12\]\)",
        ),
        ({"a": ENTRY, "b": ENTRY}, "entries 'a' and 'b' share data bytes"),
        ({"w": {**ENTRY, "dtype": "Q7"}}, "dtype 'Q7', which safetensors does not know"),
        ({"w": {**ENTRY, "dtype": "f32"}}, "entry 'w' has dtype 'f32'"),
    ],
    ids=["overlap", "same-bytes", "unknown-dtype", "lower-case-dtype"],
)
def test_safetensors_headers_the_library_refuses_are_refused(
    tmp_path: Path, header: dict[str, Any], message: str
) -> None:
    path = write_safetensors(tmp_path / "bad.safetensors", header, bytes(16))
    with pytest.raises(SourceError, match=message) as info:
        read_safetensors(path)
    assert info.value.path == str(path)
    safe_open = pytest.importorskip("safetensors").safe_open
    with pytest.raises(Exception, match=r"(?i)invalid"):  # the library agrees (any version)
        safe_open(str(path), "np")


def test_safetensors_zero_size_tensors_share_an_offset(tmp_path: Path) -> None:
    empty = {"dtype": "F32", "shape": [0], "data_offsets": [8, 8]}
    header = {"a": ENTRY, "e1": empty, "e2": empty}
    path = write_safetensors(tmp_path / "ok.safetensors", header, bytes(8))
    assert [t.name for t in read_safetensors(path)] == ["a", "e1", "e2"]


def test_safetensors_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.safetensors"
    with pytest.raises(SourceError, match="does not exist") as info:
        read_safetensors(path)
    assert info.value.path == str(path)


def test_safetensors_directory(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is a directory"):
        read_safetensors(tmp_path)


# --- torch checkpoints -------------------------------------------------------------


def test_torch_checkpoint_of_a_state_dict(tmp_path: Path) -> None:
    state = small_model().state_dict()
    path = tmp_path / "model.pt"
    torch.save(state, path)

    assert read_file(path) == (infos_of(state), [])


@pytest.mark.parametrize("wrapper", ["state_dict", "model", "module"])
def test_torch_checkpoint_wrapped(tmp_path: Path, wrapper: str) -> None:
    state = small_model().state_dict()
    path = tmp_path / "ckpt.pth"
    torch.save({"epoch": 3, wrapper: state, "lr": 0.1, "arch": "small", "best": None}, path)

    assert read_file(path) == (infos_of(state), [])


def test_torch_checkpoint_bf16_and_legacy_format(tmp_path: Path) -> None:
    state = {"w": torch.zeros(2, 3, dtype=torch.bfloat16), "step": torch.tensor(5)}
    path = tmp_path / "old.bin"
    torch.save(state, path, _use_new_zipfile_serialization=False)

    assert read_file(path) == (infos_of(state), [])


def test_torch_checkpoint_reports_the_same_object_saved_twice(tmp_path: Path) -> None:
    shared = torch.zeros(4, 3)
    path = tmp_path / "tied.pt"
    torch.save({"a": shared, "b": torch.ones(2), "c": shared}, path)

    infos, ties = read_file(path)

    assert [i.name for i in infos] == ["a", "b"]
    assert ties == [("c", "a")]


def test_torch_checkpoint_reports_ties_of_a_real_state_dict(tmp_path: Path) -> None:
    """state_dict() detaches, so tied names hold distinct objects on one storage."""
    state = Tied().state_dict()
    assert state["lm_head.weight"] is not state["wte.weight"]
    path = tmp_path / "gpt.pt"
    torch.save(state, path)

    infos, ties = read_file(path)

    assert ties == [("lm_head.weight", "wte.weight")]
    assert [i.name for i in infos] == ["wte.weight", "ln.weight", "ln.bias"]


@pytest.mark.skipif(not PROC_IO.exists(), reason="needs Linux /proc/self/io")
def test_torch_checkpoint_does_not_read_tensor_bytes(tmp_path: Path) -> None:
    path = tmp_path / "big.pt"
    torch.save({"big": torch.zeros(64, 1024, 1024, dtype=torch.uint8)}, path)  # 64 MiB

    with bytes_read() as count:
        infos, _ = read_file(path)

    assert infos == [TensorInfo("big", (64, 1024, 1024), "uint8")]
    assert count[0] < 4 * 1024 * 1024


class Payload:
    """Unpickling this runs a shell command; a weights-only load must refuse it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize(
    ("protocol", "refused"),
    [
        (None, r"(GLOBAL|class) (posix|nt)\.system"),  # torch.save
        (2, r"(GLOBAL|class) (posix|nt)\.system"),  # a raw pickle, as old torch wrote them
        (pickle.DEFAULT_PROTOCOL, "Unsupported operand"),  # refused at its framing
    ],
)
def test_hostile_checkpoint_is_refused_and_never_runs(
    tmp_path: Path, protocol: int | None, refused: str
) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    hostile = {"x": Payload(marker), "weight": torch.zeros(2)}
    if protocol is None:
        torch.save(hostile, path)
    else:
        with path.open("wb") as file:
            pickle.dump(hostile, file, protocol=protocol)

    with pytest.raises(SourceError, match="not a plain weights file") as info:
        read_file(path)

    assert info.value.path == str(path)
    assert re.search(refused, str(info.value))
    assert not marker.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="the payload uses touch")
def test_hostile_payload_is_real(tmp_path: Path) -> None:
    """The payload above does run when unpickled without restriction."""
    marker = tmp_path / "pwned"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.exists()


def test_torch_checkpoint_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), path)

    with pytest.raises(SourceError, match="expected a mapping of names to tensors"):
        read_file(path)


def test_torch_checkpoint_value_not_a_tensor(tmp_path: Path) -> None:
    path = tmp_path / "odd.pt"
    torch.save({"state_dict": {"w": torch.zeros(2), "note": [1, 2]}}, path)

    with pytest.raises(SourceError, match="key 'note' holds list") as info:
        read_file(path)

    assert info.value.path == str(path)
    assert "checkpoint['state_dict']" in str(info.value)


def test_a_training_checkpoint_reports_its_model_and_ignores_the_optimizer(
    tmp_path: Path,
) -> None:
    path = tmp_path / "train.pt"
    optimizer = {"state": {0: {"exp_avg": torch.zeros(2)}}, "param_groups": [{"lr": 0.1}]}
    torch.save({"model": {"w": torch.zeros(2)}, "optimizer": optimizer, "epoch": 3}, path)

    tensors, ties = read_file(path)
    assert (tensors, ties) == ([TensorInfo("w", (2,), "float32")], [])


def test_torch_checkpoint_with_two_state_dicts(tmp_path: Path) -> None:
    path = tmp_path / "two.pt"
    torch.save({"model": {"w": torch.zeros(2)}, "state_dict": {"w": torch.zeros(2)}}, path)

    with pytest.raises(SourceError, match="several state dicts"):
        read_file(path)


@pytest.mark.parametrize(
    "content", [b"", b"hello world", b"PK\x03\x04 not really a zip"], ids=["empty", "text", "zip"]
)
def test_torch_checkpoint_garbage(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.pt"
    path.write_bytes(content)

    with pytest.raises(SourceError, match=r"junk\.pt") as info:
        read_file(path)

    assert info.value.path == str(path)


@pytest.mark.parametrize(
    ("compress", "kind"),
    [("gzip", "gzip"), ("bz2", "bzip2"), ("lzma", "xz")],
)
def test_a_compressed_checkpoint_is_named_compressed(
    tmp_path: Path, compress: str, kind: str
) -> None:
    module = __import__(compress)
    plain = tmp_path / "plain.pt"
    torch.save(small_model().state_dict(), plain)
    path = tmp_path / "packed.pt"
    path.write_bytes(module.compress(plain.read_bytes()))
    with pytest.raises(SourceError, match=f"is {kind}-compressed; .* decompress it first"):
        read_file(path)


def test_a_whole_pickled_model_asks_for_its_state_dict(tmp_path: Path) -> None:
    path = tmp_path / "pytorch_model.bin"
    torch.save(nn.Linear(2, 3), path)
    with pytest.raises(SourceError, match=r"save model\.state_dict\(\) instead"):
        read_file(path)


def test_torch_checkpoint_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        read_file(tmp_path / "nowhere.pt")


# --- in-memory mappings ------------------------------------------------------------


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_tensors_of_mapping_reports_a_tie(device: str) -> None:
    with torch.device(device):
        model = Tied()
    state = model.state_dict()

    infos, ties = tensors_of_mapping(state)

    assert ties == [("lm_head.weight", "wte.weight")]
    del state["lm_head.weight"]
    assert infos == infos_of(state)


def test_tensors_of_mapping_keep_vars_tie_by_identity() -> None:
    state = Tied().state_dict(keep_vars=True)
    assert state["lm_head.weight"] is state["wte.weight"]

    _, ties = tensors_of_mapping(state)

    assert ties == [("lm_head.weight", "wte.weight")]


def test_tensors_of_mapping_without_ties() -> None:
    base = torch.zeros(4, 4)
    state = {
        "model": base,
        "row": base[0],  # same storage, other shape
        "bits": base.view(torch.int32),  # same memory, other dtype
        "transposed": base.t(),  # same storage, other stride
        "empty_a": torch.zeros(0),
        "empty_b": torch.zeros(0),
        "meta_a": torch.empty(3, device="meta"),
        "meta_b": torch.empty(3, device="meta"),
    }

    infos, ties = tensors_of_mapping(state)

    assert ties == []
    assert infos == infos_of(state)


def test_tensors_of_mapping_does_not_copy() -> None:
    weight = nn.Parameter(torch.zeros(3))
    state = {"w": weight}
    tensors_of_mapping(state)
    assert state["w"] is weight
    assert weight.device.type == "cpu"


def test_tensors_of_mapping_value_not_a_tensor() -> None:
    with pytest.raises(SourceError, match="my_model key 'epoch' holds int 3, expected a tensor"):
        tensors_of_mapping({"w": torch.zeros(1), "epoch": 3}, where="my_model")


def test_tensors_of_mapping_key_not_a_string() -> None:
    bad: Any = {0: torch.zeros(1)}
    with pytest.raises(SourceError, match="state_dict has key 0 of type int"):
        tensors_of_mapping(bad)

"""How many bytes a model's weights take, by dtype, from the rows alone (no torch).

Stated only when every parameter row records its dtype (the ``dtype`` option), so a change
that adds 3.2 GB of weights says so. Bytes are counted as the tensors are stored: a
bfloat16 element takes 2 bytes, a float8 one 1; int4 weights packed into ``uint8`` or
``int32`` tensors (bitsandbytes, GPTQ, AWQ) count those tensors' bytes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

# Bits an element takes where it is stored, by torch's name for the dtype (safetensors'
# codes are read into these names; its sub-byte codes keep their own, in lower case).
# torch's itemsize, but for the quantized dtypes that pack two or four elements a byte.
DTYPE_BITS: dict[str, int] = {
    "float64": 64, "float32": 32, "float16": 16, "bfloat16": 16,
    "complex128": 128, "complex64": 64, "complex32": 32, "bcomplex32": 32,
    "int64": 64, "int32": 32, "int16": 16, "int8": 8,
    "uint64": 64, "uint32": 32, "uint16": 16, "uint8": 8, "bool": 8,
    "float8_e4m3fn": 8, "float8_e5m2": 8, "float8_e4m3fnuz": 8, "float8_e5m2fnuz": 8,
    "float8_e8m0fnu": 8,
    "float4_e2m1fn_x2": 8,  # two values an element: its shape counts bytes
    "qint8": 8, "quint8": 8, "qint32": 32, "quint4x2": 4, "quint2x4": 2,
    "bits8": 8, "bits16": 16, "bits1x8": 8, "bits2x4": 8, "bits4x2": 8,
    # torch's int1..int7 and uint1..uint7 hold one element a byte
    **{f"{sign}int{n}": 8 for sign in ("", "u") for n in range(1, 8)},
    "f4": 4, "f6_e2m3": 6, "f6_e3m2": 6,  # safetensors' sub-byte floats, packed
}  # fmt: skip


@dataclass(frozen=True)
class DtypeWeights:
    """The parameters of one dtype and the bytes they take (None: a dtype of unknown size)."""

    dtype: str
    parameters: int
    bytes: int | None


@dataclass(frozen=True)
class WeightMemory:
    """The weights' bytes by dtype, in the order the dtypes first appear in the model."""

    dtypes: tuple[DtypeWeights, ...]

    @property
    def bytes(self) -> int | None:
        """All of them; None when a dtype's size is not known (a total would be wrong)."""
        sizes = [entry.bytes for entry in self.dtypes]
        return None if None in sizes else sum(size for size in sizes if size is not None)


def tensor_bytes(dtype: str, numel: int) -> int | None:
    """Bytes of one tensor as stored: sub-byte elements share bytes, the last one rounded up."""
    bits = DTYPE_BITS.get(dtype)
    return None if bits is None else -(-numel * bits // 8)


def weight_memory(tensors: Iterable[tuple[str, int]]) -> WeightMemory:
    """``(dtype, numel)`` of every weight tensor, as bytes by dtype. A large model repeats
    a few (dtype, numel) pairs, so the sizes are worked out once per pair."""
    counts = Counter(tensors)
    parameters: dict[str, int] = {}
    sizes: dict[str, int | None] = {}
    for (dtype, numel), count in counts.items():
        parameters[dtype] = parameters.get(dtype, 0) + numel * count
        size, before = tensor_bytes(dtype, numel), sizes.get(dtype, 0)
        sizes[dtype] = None if size is None or before is None else before + size * count
    return WeightMemory(tuple(DtypeWeights(d, parameters[d], sizes[d]) for d in parameters))

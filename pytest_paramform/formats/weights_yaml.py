"""The weights' bytes in a YAML golden: ``weight_bytes:`` after ``trainable:``, then one
line per dtype. Present only when every parameter row records its dtype; derived from
the rows, so they are checked against them on load (a golden without them still loads)."""

from __future__ import annotations

from typing import Any

from pytest_paramform.errors import GoldenError
from pytest_paramform.formats.consistency import check_weights
from pytest_paramform.formats.yaml_tokens import Lines
from pytest_paramform.formats.yaml_values import expect_keys, quote, read_int, read_str
from pytest_paramform.report import ParamFormReport
from pytest_paramform.weight_memory import DtypeWeights, WeightMemory

TOTAL_KEY, KEY = "weight_bytes", "dtypes"
_ENTRY_KEYS = ("parameters", "bytes")


def _size(value: int | None) -> str:
    return "null" if value is None else str(value)


def render_weights(weights: WeightMemory | None) -> list[str]:
    """The total and a line per dtype; ``null`` bytes for a dtype of unknown size."""
    if weights is None:
        return []
    return [
        f"{TOTAL_KEY}: {_size(weights.bytes)}",
        f"{KEY}:",
        *(
            f"  {quote(entry.dtype)}: {{parameters: {entry.parameters}, "
            f"bytes: {_size(entry.bytes)}}}"
            for entry in weights.dtypes
        ),
    ]


def check_weights_section(report: ParamFormReport, top: dict[str, Any], where: Lines) -> None:
    """The stored figures, when there are any, must be what the rows give."""
    present = [key for key in (TOTAL_KEY, KEY) if key in top]
    if not present:
        return
    line = where.keys.get(present[0])
    if len(present) == 1:
        raise GoldenError(f"{TOTAL_KEY} and {KEY} go together", line=line, field=present[0])
    data = top[KEY]
    if not isinstance(data, dict):
        raise GoldenError(f"{KEY} must be a mapping of dtype to figures", line=line, field=KEY)
    entries = [
        _entry(dtype, figures, where.dtypes.get(str(dtype))) for dtype, figures in data.items()
    ]
    total = _bytes(top[TOTAL_KEY], where.keys.get(TOTAL_KEY))
    lines = {"": where.keys.get(TOTAL_KEY), **where.dtypes}
    check_weights(report, WeightMemory(tuple(entries)), total, lines=lines, field=KEY)


def _entry(dtype: Any, figures: Any, line: int | None) -> DtypeWeights:
    fields = expect_keys(figures, _ENTRY_KEYS, what=f"dtype {dtype!r}", line=line)
    return DtypeWeights(
        read_str(dtype, field=KEY, line=line),
        read_int(fields["parameters"], field="parameters", line=line),
        _bytes(fields["bytes"], line),
    )


def _bytes(value: Any, line: int | None) -> int | None:
    return None if value is None else read_int(value, field="bytes", line=line)

"""The fast reader's part for the ``forward:`` section, in the exact layout
``forward_yaml.render_forward`` writes: the data PyYAML would build, or NotCanonical.

A forward golden of a 32-layer model at depth 5 has a few hundred module lines; without
this, one such section sent the whole golden (its tens of thousands of parameter lines
too) to PyYAML.
"""

from __future__ import annotations

import re
from typing import Any

from pytest_paramform.formats.yaml_tokens import (
    INT,
    LIST,
    SCALAR,
    SHARE,
    NotCanonical,
    ints,
    scalar,
)

_KEY = re.compile(rf"  (depth|flops): ({INT})|  (inputs|modules):( \[\])?")
_INPUT = re.compile(rf"  - \{{name: ({SCALAR}), shape: ({LIST}), dtype: ({SCALAR})\}}")
_LEAVES = rf"{SCALAR}: {LIST}(?:, {SCALAR}: {LIST})*"
_MODULE = re.compile(
    rf"  - \{{name: ({SCALAR}), (?:output: ({LIST})|outputs: \{{({_LEAVES})?\}})"
    rf"(?:, calls: ({INT}))?, flops: ({INT}), share: ({SHARE})\}}"
)
_LEAF = re.compile(rf"(?:, )?({SCALAR}): ({LIST})")


class ForwardReader:
    """Reads the section's lines one by one into ``data``, as PyYAML would read them."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self._list: str | None = None  # the list whose items come next: inputs or modules

    def take(self, line: str) -> None:
        if line.startswith("  - "):
            self._item(line)
        elif match := _KEY.fullmatch(line):
            key = match[1] or match[3]
            if key in self.data:
                raise NotCanonical
            if match[1]:
                self.data[key], self._list = int(match[2]), None
            else:  # a key with nothing under it is null in YAML, not an empty list
                self.data[key] = [] if match[4] else None
                self._list = None if match[4] else key
        else:
            raise NotCanonical

    def _item(self, line: str) -> None:
        if self._list is None:
            raise NotCanonical
        pattern, read = (_INPUT, _input) if self._list == "inputs" else (_MODULE, _module)
        if (match := pattern.fullmatch(line)) is None:
            raise NotCanonical
        if self.data[self._list] is None:
            self.data[self._list] = []
        self.data[self._list].append(read(match))


def _input(match: re.Match[str]) -> dict[str, Any]:
    return {"name": scalar(match[1]), "shape": ints(match[2]), "dtype": scalar(match[3])}


def _module(match: re.Match[str]) -> dict[str, Any]:
    name, output, leaves, calls, flops, share = match.groups()
    item: dict[str, Any] = {"name": scalar(name)}
    if output is not None:
        item["output"] = ints(output)
    else:
        item["outputs"] = _outputs(leaves or "")
    if calls is not None:
        item["calls"] = int(calls)
    item["flops"] = int(flops)
    item["share"] = float(share)
    return item


def _outputs(text: str) -> dict[str, list[int]]:
    """``a: [1, 2], "0.1": [3]`` (already matched whole) as its mapping."""
    outputs: dict[str, list[int]] = {}
    position = 0
    while position < len(text):
        match = _LEAF.match(text, position)
        assert match is not None, "the module's pattern matched the whole mapping"
        leaf = scalar(match[1])
        if leaf in outputs:  # PyYAML's loader refuses a repeated key
            raise NotCanonical
        outputs[leaf] = ints(match[2])
        position = match.end()
    return outputs

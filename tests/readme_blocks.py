"""The README's fenced blocks, each with the note that says how the tests hold it to its word.

A block is preceded by an HTML comment that a rendered README hides, for example
``<!-- readme: shell -->``; ``tests/test_readme.py`` runs each block the way its note says.
A block without a note is an error, so a new example cannot slip in untested.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).parent.parent / "README.md"

_FENCE = re.compile(r"^(?P<indent> *)(?P<ticks>`{3,})(?P<lang>\w*)\s*$")
_NOTE = re.compile(r"^\s*<!-- readme: (?P<kind>[\w-]+)(?: (?P<arg>.*?))? -->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it starts (1-based line of its fence), its language, its
    text with the list indentation taken off, and its note's kind and argument."""

    line: int
    lang: str
    text: str
    kind: str
    arg: str

    @property
    def id(self) -> str:
        return f"README.md:{self.line}:{self.kind}"


def blocks(path: Path = README) -> list[Block]:
    """Every fenced block of ``path``, in order; a block with no note has kind ``""``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        indent = len(fence["indent"])
        end = i + 1
        while lines[end].rstrip() != " " * indent + fence["ticks"]:
            end += 1
        body = "".join(line[indent:] + "\n" for line in lines[i + 1 : end])
        note = _NOTE.match(lines[i - 1]) if i else None
        kind, arg = (note["kind"], note["arg"] or "") if note else ("", "")
        found.append(Block(i + 1, fence["lang"], body, kind, arg))
        i = end + 1
    return found


def matches(shown: str, actual: str) -> bool:
    """Whether output ``actual`` is what the README ``shown`` says, line by line (trailing
    spaces aside); a line ``...`` (indented or not) in ``shown`` stands for any number of
    lines."""
    want = [line.rstrip() for line in shown.splitlines()]
    have = [line.rstrip() for line in actual.splitlines()]
    return _match(want, have)


def _match(want: list[str], have: list[str]) -> bool:
    if not want:
        return not have
    if want[0].strip() == "...":
        return any(_match(want[1:], have[i:]) for i in range(len(have) + 1))
    return bool(have) and want[0] == have[0] and _match(want[1:], have[1:])

"""Hand edits of goldens, as the tests make them."""

from __future__ import annotations


def replace_once(text: str, old: str, new: str) -> str:
    """``text`` with the first ``old`` replaced; an edit that matches nothing is a test bug."""
    assert old in text, f"{old!r} is not in the text"
    return text.replace(old, new, 1)

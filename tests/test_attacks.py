"""Attacks a regression check must survive: hostile goldens, odd names, torn writes.

Every case fails with a message that names the file (never runs code, never crashes pytest,
never passes by accident), and no golden is ever lost or half-written.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_paramform import GoldenError, ParamFormReport, ParamRow
from pytest_paramform.cli.inputs import load_golden
from pytest_paramform.files import MAX_GOLDEN_BYTES, read_text, write_text
from pytest_paramform.formats import from_yaml, to_markdown, to_yaml

REPORT = ParamFormReport("m", (ParamRow("a.weight", (4, 3)), ParamRow("a.bias", (4,))))


def golden(tmp_path: Path, content: str | bytes, name: str = "g.paramform.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "!!python/object/apply:os.system ['touch {marker}']\n",
            "could not determine a constructor",
        ),
        ("model: !!python/name:os.system\n", "could not determine a constructor"),
        ("paramform: 1\nmodel: !!binary aGVsbG8=\n", "missing layers"),
        (b"\x89PNG\r\n\x1a\n\x00\x00garbage\xff", "not UTF-8 text"),
        ("", "the file is empty"),
        ("paramform: 1\nmodel: m\nlayers: 2\n", "missing parameters, trainable, forms, params"),
        ("paramform: 1\nmodel: m\nlayers: 2\nlayers: 3\n", "duplicate key 'layers'"),
        ("paramform: 1\nmodel: 42\n", "model"),
        ("- - - [[[[", "not valid YAML"),
        ("&a [*a]", "not a paramform golden"),
    ],
)
def test_hostile_yaml_is_an_error_naming_the_file(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    marker = tmp_path / "pwned"
    if isinstance(content, str):
        content = content.replace("{marker}", str(marker))
    path = golden(tmp_path, content)
    with pytest.raises(GoldenError, match=message) as info:
        load_golden(path)
    assert info.value.path == str(path)
    assert not marker.exists()


def test_a_billion_laughs_document_is_refused_not_expanded(tmp_path: Path) -> None:
    lines = ["paramform: 1", "model: m", "layers: 0", "parameters: 0", "trainable: 0"]
    lines += ["forms: {}", "params:", "- &a [x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"- &{c} [{', '.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    # 9**9 leaves if anything expanded the anchors
    with pytest.raises(GoldenError, match="parameter row must be a mapping, got list"):
        load_golden(golden(tmp_path, "\n".join(lines) + "\n"))


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.paramform.yaml"
    with path.open("wb") as handle:
        handle.truncate(MAX_GOLDEN_BYTES + 1)  # sparse: no disk, and nothing is read
    assert path.stat().st_size > MAX_GOLDEN_BYTES
    with pytest.raises(GoldenError, match=r"too large for a paramform golden") as info:
        read_text(path)
    assert info.value.path == str(path)


def test_a_golden_for_another_model_is_drift_not_a_pass(tmp_path: Path) -> None:
    from pytest_paramform import compare

    other = ParamFormReport("other", (ParamRow("b.weight", (2, 2)),))
    assert compare(load_golden(golden(tmp_path, to_yaml(other))), REPORT) != []


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.split("**Layer information**")[0], "ends before Layer information"),
        (lambda t: t.replace("| Form |", "| Form | Extra |"), "expected columns"),
        (lambda t: t.replace("| a.bias |", "| a|bias |"), "unescaped '|'"),
        (lambda t: t.replace("| 50.00 | 50.00 | ", "| 50.00 | 50.00 | 1.00 | ", 1), "values for"),
    ],
)
def test_broken_markdown_is_an_error_naming_the_file(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    text = to_markdown(REPORT)
    path = golden(tmp_path, edit(text), "g.paramform.md")
    with pytest.raises(GoldenError, match=message) as info:
        load_golden(path)
    assert info.value.path == str(path)


def test_an_interrupted_write_leaves_the_old_golden_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "g.paramform.yaml"
    write_text(path, to_yaml(REPORT))

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    changed = ParamFormReport("m", (ParamRow("a.weight", (5, 3)),))
    with pytest.raises(KeyboardInterrupt):
        write_text(path, to_yaml(changed))
    assert from_yaml(path.read_text()) == REPORT
    assert [p.name for p in tmp_path.iterdir()] == ["g.paramform.yaml"]

"""The front door's classifier: each kind of source is told apart once, by its form."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchvision

from pytest_paramform import ParamFormReport, ParamRow, SourceError
from pytest_paramform.sources import load
from pytest_paramform.sources.kinds import (
    CHECKPOINT_SUFFIXES,
    Kind,
    classify,
    is_checkpoint_path,
    kind_of,
)
from pytest_paramform.sources.specs import is_spec, resolve


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ("model.safetensors", True),
        ("dir/model.PT", True),
        (Path("weights.pth"), True),
        ("pytorch_model.bin", True),
        ("resnet18", False),
        ("model.safetensors.json", False),
        ("notes.txt", False),
        (42, False),
        (None, False),
        (b"model.pt", False),
    ],
)
def test_is_checkpoint_path(obj: object, expected: bool) -> None:
    assert is_checkpoint_path(obj) is expected


def test_is_checkpoint_path_does_not_touch_the_disk(tmp_path: Path) -> None:
    assert is_checkpoint_path(tmp_path / "missing" / "model.safetensors")
    assert set(CHECKPOINT_SUFFIXES) == {
        ".safetensors",
        ".pt",
        ".pth",
        ".bin",
        ".safetensors.index.json",
        ".bin.index.json",
    }


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("missing/model.safetensors", Kind.CHECKPOINT),  # by its suffix: the disk is not read
        ("C:/weights/last.PT", Kind.CHECKPOINT),  # a drive, not a spec
        ("shards/model.safetensors.index.json", Kind.INDEX),
        ("pytorch_model.bin.index.json", Kind.INDEX),
        ("resnet18", Kind.TEXT),
        ("golden.paramform.yaml", Kind.TEXT),
    ],
)
def test_a_string_is_told_by_its_form(text: str, kind: Kind) -> None:
    assert kind_of(text) is kind


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("torchvision:resnet18", True),
        ("hf:configs/llama", True),
        ("my_pkg.models:build", True),
        ("C:/weights/last.PT", False),  # a drive
        ("./torchvision:resnet18", False),
        ("resnet18", False),
        ("torchvision:", False),
    ],
)
def test_a_spec_is_told_by_its_form(text: str, spec: bool) -> None:
    assert is_spec(text) is spec


def test_a_spec_is_a_spec_whatever_the_disk_holds_and_a_path_is_written_as_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "torchvision:resnet18").mkdir()
    factory, name = resolve("torchvision:resnet18", tmp_path)
    assert callable(factory)
    assert name == "resnet18"
    assert load("torchvision:resnet18").name == "resnet18"
    assert kind_of("./torchvision:resnet18") is Kind.FOLDER
    assert kind_of("./torchvision:resnet50") is Kind.TEXT  # no such folder
    assert resolve("./torchvision:resnet18") == ("./torchvision:resnet18", None)


def test_a_folder_is_a_folder_and_a_path_object_of_no_checkpoint_is_nothing(
    tmp_path: Path,
) -> None:
    assert kind_of(tmp_path) is Kind.FOLDER
    assert kind_of(str(tmp_path)) is Kind.FOLDER
    assert kind_of(tmp_path / "notes.txt") is Kind.UNKNOWN


def test_a_folder_named_like_a_checkpoint_file_is_read_as_a_folder(tmp_path: Path) -> None:
    """save_pretrained may write into a folder called ``model.pt``: it is read as the
    checkpoint folder it is, not refused as 'a directory, not a checkpoint file'."""
    folder = tmp_path / "model.pt"
    folder.mkdir()
    torch.save({"w": torch.zeros(3, 2)}, folder / "pytorch_model.bin")
    assert kind_of(folder) is Kind.FOLDER
    report = load(str(folder))
    assert report.name == "model.pt"
    assert [(row.name, row.shape) for row in report.rows] == [("w", (3, 2))]


def test_objects_are_told_apart() -> None:
    model = torchvision.models.resnet18(weights=None)
    report = ParamFormReport("m", (ParamRow("w", (2,)),))
    assert kind_of(report) is Kind.REPORT
    assert kind_of(model.state_dict()) is Kind.MAPPING
    assert kind_of(model) is Kind.MODULE
    assert kind_of(torchvision.models.resnet18) is Kind.FACTORY
    assert kind_of(torch.nn.Linear) is Kind.FACTORY  # a model class
    assert kind_of(torch.zeros(2)) is Kind.UNKNOWN  # callable in no useful way
    assert kind_of(42) is Kind.UNKNOWN


def test_a_relative_checkpoint_or_folder_is_found_under_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, here = tmp_path / "root", tmp_path / "here"
    for folder in (root / "saved", root / "configs" / "llama", here / "mine"):
        folder.mkdir(parents=True)
    monkeypatch.chdir(here)
    assert classify("ckpt/last.pt", root) == (Kind.CHECKPOINT, root / "ckpt" / "last.pt")
    assert classify("saved", root) == (Kind.FOLDER, root / "saved")
    assert classify("mine", root) == (Kind.FOLDER, "mine")  # not under the root: from here
    absolute = tmp_path / "elsewhere.pt"
    assert classify(absolute, root) == (Kind.CHECKPOINT, absolute)


def test_a_string_of_no_kind_is_refused_as_a_spec() -> None:
    with pytest.raises(SourceError, match="cannot read model spec 'resnet18': expected"):
        load("resnet18")


def test_a_report_is_taken_as_it_is_and_renamed() -> None:
    report = ParamFormReport("m", (ParamRow("w", (2,)),))
    assert load(report) is report
    assert load(report, name="other") == ParamFormReport("other", report.rows)


def test_telling_a_string_or_a_path_apart_imports_no_torch(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from pytest_paramform.sources.kinds import classify\n"
        "for source in ('torchvision:x', 'a.pt', 'x.safetensors.index.json', 'notes'):\n"
        f"    classify(source, Path({str(tmp_path)!r}))\n"
        f"classify(Path({str(tmp_path)!r}))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_what_a_spec_names_is_taken_as_an_object_not_as_text_or_a_rootdir_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spec that names a string is refused as that object (the text refusal is for the
    string the user wrote), and a path it names is read as it stands, not under the root."""
    (tmp_path / "named_things.py").write_text(
        "TEXT = 'hello'\nPATH = 'ok.safetensors'\n"
        "from pytest_paramform import ParamFormReport\nREPORT = ParamFormReport('r', ())\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    root = tmp_path / "root"
    root.mkdir()
    (root / "ok.safetensors").write_bytes(b"")  # found under the root, were it looked for
    with pytest.raises(SourceError, match=r"^cannot take a report of str 'hello': expected an"):
        load("named_things:TEXT", root=root)
    with pytest.raises(SourceError, match="does not exist") as missing:
        load("named_things:PATH", root=root)
    assert missing.value.path == "ok.safetensors"
    with pytest.raises(SourceError, match=r"^cannot take a report of ParamFormReport"):
        load("named_things:REPORT")

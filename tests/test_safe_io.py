"""Files as a user's filesystem expects them, and bad input as one clean line.

Goldens, --output files and charts get the mode a normal file would get; only regular files
are ever replaced; what an update writes, the next run reads; bad files and broken pipes
end in one line, never a traceback.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch import nn

from pytest_paramform import (
    GoldenError,
    ParamFormReport,
    ParamRow,
    SourceError,
    build_report,
    files,
)
from pytest_paramform.cli.inputs import load_golden
from pytest_paramform.files import read_text, write_text
from pytest_paramform.formats import to_markdown, to_yaml

from checkpoint_reads import read_file

REPORT = ParamFormReport("m", (ParamRow("a.weight", (4, 3)), ParamRow("a.bias", (4,))))


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask")
def test_a_new_file_gets_the_umask_and_a_rewrite_keeps_the_old_mode(tmp_path: Path) -> None:
    golden = tmp_path / "g.paramform.yaml"
    write_text(golden, to_yaml(REPORT))
    assert mode(golden) == 0o640, "0666 under umask 027, as open() would give"
    golden.chmod(0o664)
    write_text(golden, to_yaml(REPORT))
    assert mode(golden) == 0o664


KINDS = ["directory", "symlink", "fifo", "device"]


def make_special(target: Path, kind: str) -> None:
    """Something other than a regular file at ``target``; a device node of /dev/null's
    numbers, made here so that a regression can never replace the real one."""
    if kind == "directory":
        target.mkdir()
    elif kind == "symlink":
        target.symlink_to("/proc/self/fd/1")
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        try:
            os.mknod(target, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except PermissionError:
            pytest.skip("making a device node needs root")


@pytest.mark.parametrize("kind", KINDS)
def test_only_a_regular_file_is_ever_replaced(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "out.yaml"
    make_special(target, kind)
    with pytest.raises(GoldenError, match="paramform replaces only regular files") as info:
        write_text(target, "x")
    assert info.value.path == str(target)
    assert target.is_symlink() if kind == "symlink" else not target.is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["out.yaml"], "no temporary file left"


def test_temporary_files_of_a_killed_writer_are_swept_by_the_next_write(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    stale = tmp_path / f".g.paramform.yaml.paramform-tmp-{dead}-abc123"
    live = tmp_path / f".h.paramform.yaml.paramform-tmp-{os.getpid()}-def456"
    young = tmp_path / f".i.paramform.yaml.paramform-tmp-{dead}-ghi789"
    for path in (stale, live, young):
        path.write_text("half a golden")
    two_hours_ago = time.time() - 7200
    for path in (stale, live):
        os.utime(path, (two_hours_ago, two_hours_ago))
    files._SWEPT.discard(tmp_path)
    write_text(tmp_path / "g.paramform.yaml", to_yaml(REPORT))
    assert not stale.exists()
    assert live.exists(), "a running writer's temporary file is left alone"
    assert young.exists(), "a recent one may be a writer's in another container"


def test_an_update_never_writes_what_the_next_run_would_refuse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = to_yaml(REPORT)
    path = tmp_path / "g.paramform.yaml"
    monkeypatch.setattr(files, "MAX_GOLDEN_BYTES", len(text.encode()))
    files.check_golden_size(text, path)
    write_text(path, text)
    assert read_text(path) == text, "what fits the limit is written and read back"
    monkeypatch.setattr(files, "MAX_GOLDEN_BYTES", len(text.encode()) - 1)
    with pytest.raises(GoldenError, match=r"more than the .* a golden may hold"):
        files.check_golden_size(text, path)


@pytest.mark.parametrize("suffix", [".md", ".yaml"])
def test_a_golden_with_a_byte_order_mark_reads_like_one_without(
    tmp_path: Path, suffix: str
) -> None:
    text = to_markdown(REPORT) if suffix == ".md" else to_yaml(REPORT)
    path = tmp_path / f"g{suffix}"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load_golden(path) == REPORT


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("[" * 200_000 + "]" * 200_000, "nests deeper than any safetensors header"),
        ('{"a\\ud800": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}', "lone surrogate"),
        (
            '{"w": {"dtype": "F32", "shape": [' + "9" * 5000 + '], "data_offsets": [0, 0]}}',
            "cannot be read as JSON",
        ),
    ],
    ids=["deep", "surrogate-name", "long-integer"],
)
def test_a_hostile_safetensors_header_is_one_clean_error(
    tmp_path: Path, header: str, message: str
) -> None:
    path = tmp_path / "x.safetensors"
    raw = header.encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw)
    with pytest.raises(SourceError, match=message) as info:
        read_file(path)[0]
    assert info.value.path == str(path)
    done = subprocess.run(
        [sys.executable, "-m", "pytest_paramform", "report", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, "2 is bad input; 1 would mean drift"
    assert done.stderr.count("\n") == 1
    assert message in done.stderr


def test_a_pickle_declared_larger_than_any_state_dict_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_paramform.sources import torch_pickles

    path = tmp_path / "bomb.pt"
    torch.save({"w": torch.zeros(2, 2)}, path)
    monkeypatch.setattr(torch_pickles, "_MAX_PICKLE_BYTES", 16)
    loaded: list[object] = []
    monkeypatch.setattr(torch, "load", lambda *a, **k: loaded.append(a))
    with pytest.raises(SourceError, match=r"declares a .*-byte pickle .*refused unread"):
        build_report(str(path))
    assert loaded == [], "torch.load never ran"


class OddParameters(nn.Module):
    def __init__(self, yielded: object) -> None:
        super().__init__()
        self.yielded = yielded

    def named_parameters(self, *args: object, **kwargs: object) -> Iterator[object]:  # type: ignore[override]
        yield self.yielded


@pytest.mark.parametrize(
    ("yielded", "message"),
    [
        ((3, nn.Parameter(torch.zeros(2))), "has key 3 of type int, expected str"),
        (("w", [1, 2]), "key 'w' holds list [1, 2], expected a tensor"),
        (("w",), "yielded tuple ('w',), expected (name, parameter) pairs"),
        ("w", "yielded str 'w', expected (name, parameter) pairs"),
        (("w\udc80", nn.Parameter(torch.zeros(2))), "lone surrogate (U+DC80)"),
    ],
    ids=["int-name", "list-value", "one-tuple", "string", "surrogate"],
)
def test_a_model_whose_named_parameters_lie_is_a_source_error(
    yielded: object, message: str
) -> None:
    with pytest.raises(SourceError, match=re.escape(message)):
        build_report(OddParameters(yielded))


def test_a_state_dict_name_with_a_lone_surrogate_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="lone surrogate"):
        build_report({"w\udc80": torch.zeros(2)})


def run_cli(tmp_path: Path, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "m.safetensors"
    if not path.exists():
        header = {
            f"l{i}.weight": {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 0]}
            for i in range(2000)
        }
        for i, entry in enumerate(header.values()):
            entry["data_offsets"] = [48 * i, 48 * (i + 1)]
        raw = json.dumps(header).encode()
        path.write_bytes(len(raw).to_bytes(8, "little") + raw + bytes(48 * 2000))
    command = [sys.executable, "-m", "pytest_paramform", "report", str(path), *args]
    return subprocess.run(command, text=True, check=False, **kwargs)  # type: ignore[call-overload,no-any-return]


def test_a_reader_that_stops_early_gets_a_quiet_exit(tmp_path: Path) -> None:
    run_cli(tmp_path, capture_output=True)  # writes the checkpoint
    path = tmp_path / "m.safetensors"
    command = [sys.executable, "-m", "pytest_paramform", "report", str(path)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.close()  # `| head -1` that has already gone
    _, err = proc.communicate(timeout=60)
    assert err == b""
    assert proc.returncode == 141


def test_a_full_or_closed_stdout_is_one_line(tmp_path: Path) -> None:
    with open("/dev/full", "w") as full:
        done = run_cli(tmp_path, stdout=full, stderr=subprocess.PIPE)
    assert done.returncode == 2
    assert done.stderr == "paramform: error: standard output: No space left on device\n"
    closed = run_cli(
        tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=lambda: os.close(1)
    )
    assert closed.returncode == 2
    assert closed.stderr == "paramform: error: standard output is closed\n"


@pytest.mark.parametrize("kind", KINDS)
def test_output_refuses_what_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "out.md"
    make_special(target, kind)
    done = run_cli(tmp_path, "--output", str(target), capture_output=True)
    assert done.returncode == 2
    assert done.stderr.endswith("paramform replaces only regular files\n")
    assert done.stdout == ""


def test_a_failed_write_names_the_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    target = tmp_path / "out.yaml"
    with pytest.raises(GoldenError, match="cannot write: No space left on device") as info:
        write_text(target, "x")
    assert info.value.path == str(target)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_a_reader_that_leaves_part_way_gets_a_quiet_exit(tmp_path: Path, unbuffered: str) -> None:
    """`paramform report ... | head -1` on a document larger than the pipe holds: the
    reader has gone while the document is being written. With PYTHONUNBUFFERED, as in many
    containers, Python itself would drop the rest of a short write and exit 0."""
    run_cli(tmp_path, capture_output=True)  # writes the checkpoint
    command = [sys.executable, "-m", "pytest_paramform", "report", str(tmp_path / "m.safetensors")]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env.update({"PYTHONUNBUFFERED": unbuffered} if unbuffered else {})
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    assert proc.stderr is not None
    assert proc.stdout.readline().startswith(b"# m parameter information")
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141
    assert err == b""

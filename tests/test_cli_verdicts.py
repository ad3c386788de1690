"""`paramform` verdicts users act on: exit codes, the accept line, swapped arguments."""

from __future__ import annotations

import shlex
import textwrap
from pathlib import Path

import pytest

from pytest_paramform.cli import main

MODELS = """
    import torch

    def broken():
        raise RuntimeError("in_features must be positive")

    def with_buffers():
        return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))

    def warns():
        import warnings

        warnings.warn("fan_in is deprecated", UserWarning)
        return torch.nn.Linear(2, 2)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """A folder holding a model module, as the current folder; the module's name, unique
    per test (the CLI imports specs from the current folder, and imports stay cached)."""
    name = f"models_{request.node.name.replace('[', '_').replace(']', '').replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(MODELS), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def accept_line(out: str) -> list[str]:
    """The command printed under ``accept with:``, as a shell would split it."""
    lines = out.splitlines()
    return shlex.split(lines[lines.index("accept with:") + 1])


def run_printed(command: list[str]) -> int:
    assert command[0] == "paramform"
    return main(command[1:])


# --- the model's own code raising is bad input -------------------------------------


def test_an_error_in_the_models_code_is_bad_input_named_in_one_line(
    project: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = f"{project}:broken"
    assert main(["report", f"{project}:with_buffers", "--output", "golden.yaml"]) == 0
    for argv in (["report", spec], ["diff", spec, spec], ["check", spec, "golden.yaml"]):
        assert main(argv) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err == (
            f"paramform: error: {spec}: the model's code raised RuntimeError: in_features "
            "must be positive (--traceback shows where)\n"
        )


@pytest.mark.parametrize("flag", ["--traceback", "-v"])
def test_the_traceback_on_request_before_or_after_the_command(
    project: str, flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = f"{project}:broken"
    for argv in (["report", spec, flag], [flag, "report", spec]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("Traceback (most recent call last):\n")
        assert f'{project}.py", line 5, in broken' in err
        assert err.endswith(
            f"paramform: error: {spec}: the model's code raised RuntimeError: in_features "
            "must be positive\n"
        )


def test_a_module_that_raises_while_imported_is_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "raises_on_import_xyz.py").write_text("raise ValueError('no GPU found')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["report", "raises_on_import_xyz:Net"]) == 2
    assert "the model's code raised ValueError: no GPU found" in capsys.readouterr().err


def test_a_warning_of_the_models_code_is_shown_as_python_shows_it(project: str) -> None:
    with pytest.warns(UserWarning, match="fan_in is deprecated") as record:
        assert main(["report", f"{project}:warns"]) == 0
    assert len(record) == 1


# --- check with its arguments swapped --------------------------------------------


def test_swapped_check_arguments_are_named_and_nothing_named_like_a_spec_is_suggested(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report", "torchvision:resnet18", "--output", "r18.yaml"]) == 0
    assert main(["check", "r18.yaml", "torchvision:resnet18"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "paramform: error: the arguments look swapped: r18.yaml is a golden and "
        "torchvision:resnet18 a model spec; SPEC comes first: "
        "paramform check torchvision:resnet18 r18.yaml\n"
    )
    assert "--output torchvision" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r18.yaml"]
    assert main(["check", "torchvision:resnet18", "r18.yaml"]) == 0


def test_a_checkpoint_or_spec_as_golden_is_refused_not_read_or_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    torch = pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    torch.save(torch.nn.Linear(2, 3).state_dict(), "lin.pt")
    assert main(["check", "torchvision:resnet18", "lin.pt"]) == 2
    assert "GOLDEN lin.pt is a checkpoint, not a golden file" in capsys.readouterr().err
    assert main(["check", "torchvision:resnet18", "torchvision:resnet34"]) == 2
    err = capsys.readouterr().err
    assert "paramform diff torchvision:resnet18 torchvision:resnet34" in err
    assert "./torchvision:resnet34" in err


def test_a_file_named_like_a_spec_shadows_it_only_when_written_as_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report", "torchvision:resnet34", "--format", "yaml", "--output", "r34"]) == 0
    Path("r34").rename("torchvision:resnet18")
    (tmp_path / "hf:configs").mkdir()  # a folder named like an hf: spec's prefix
    capsys.readouterr()
    assert main(["diff", "torchvision:resnet18", "./torchvision:resnet18"]) == 1
    assert "paramform: resnet34 differs from torchvision:resnet18" in capsys.readouterr().out
    assert main(["check", "torchvision:resnet34", "./torchvision:resnet18"]) == 0
    assert main(["report", "hf:configs"]) == 2
    assert "error: configs: no such config file" in capsys.readouterr().err


# --- the accept line reproduces the check's settings --------------------------------


@pytest.mark.parametrize("flags", [["--buffers"], ["--dtype"], ["--buffers", "--dtype"]])
def test_running_the_printed_accept_line_makes_the_same_check_pass(
    project: str, flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = f"{project}:with_buffers"
    assert main(["report", spec, "--output", "golden.yaml"]) == 0
    check = ["check", spec, "golden.yaml", *flags]
    assert main(check) == 1
    command = accept_line(capsys.readouterr().out)
    assert [flag for flag in flags if flag not in command] == []
    assert run_printed(command) == 0
    assert main(check) == 0


def test_running_the_printed_create_line_makes_the_same_check_pass(
    project: str, capsys: pytest.CaptureFixture[str]
) -> None:
    check = ["check", f"{project}:with_buffers", "new.md", "--buffers", "--dtype"]
    assert main(check) == 2
    err = capsys.readouterr().err
    command = shlex.split(err.partition("create it with: ")[2])
    assert run_printed(command) == 0
    assert main(check) == 0


# --- smaller verdicts --------------------------------------------------------------


def test_an_output_suffix_of_no_format_needs_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.json"
    assert main(["report", "torchvision:resnet18", "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--output {out}: the suffix names no format (.yaml, .yml, .md)" in err
    assert not out.exists()
    assert main(["report", "torchvision:resnet18", "--output", str(out), "--format", "yaml"]) == 0
    assert out.read_text(encoding="utf-8").startswith("# pytest-paramform golden")


def test_diff_as_markdown_says_a_match_in_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    same = ["torchvision:resnet18", "torchvision:resnet18"]
    assert main(["diff", *same, "--format", "markdown"]) == 0
    assert capsys.readouterr().out == (
        "### paramform: resnet18 matches torchvision:resnet18\n"
        "\n"
        "| Layers | Parameters | Parameter shares |\n"
        "| --- | --- | --- |\n"
        "| 62 | 11,689,512 | Vector 0.09%, Matrix 5.85%, Tensor rank 4 94.06% |\n"
    )


def test_two_specs_with_one_name_in_output_dir_write_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report", "torchvision:resnet18", "--output", "r18.yaml"]) == 0
    out = tmp_path / "docs"
    assert main(["report", "torchvision:resnet18", "r18.yaml", "--output-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert "torchvision:resnet18 and r18.yaml are both named 'resnet18'" in err
    assert "nothing was written" in err
    assert not out.exists()

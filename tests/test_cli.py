"""`paramform report` as users run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pytest_paramform import ParamFormReport
from pytest_paramform.cli import main

BIN = Path(sys.executable).parent


def test_report_prints_the_seed_document(
    capsys: pytest.CaptureFixture[str], seed_without_chart: str
) -> None:
    assert main(["report", "torchvision:mobilenet_v2"]) == 0
    assert capsys.readouterr().out == seed_without_chart


def test_report_as_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "torchvision:mobilenet_v2", "--format", "yaml"]) == 0
    data = yaml.safe_load(capsys.readouterr().out)
    assert (data["model"], data["layers"], data["parameters"]) == ("mobilenet_v2", 158, 3_504_872)


def test_output_writes_a_file_and_nothing_to_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], seed_without_chart: str
) -> None:
    out = tmp_path / "docs" / "mnv2.md"
    assert main(["report", "torchvision:mobilenet_v2", "--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == seed_without_chart
    assert capsys.readouterr().out == ""
    assert [p.name for p in out.parent.iterdir()] == ["mnv2.md"]


def test_package_module_callable_spec_and_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "toy_models:Scalars", "--format", "yaml", "--name", "scalars"]) == 0
    report = ParamFormReport.from_yaml(capsys.readouterr().out)
    assert report.name == "scalars"
    assert "Scalar" in report.forms


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("torchvision:resnet5", "unknown torchvision model 'resnet5'; did you mean resnet50"),
        ("resnet50", "expected torchvision:NAME or package.module:callable"),
        ("no_such_module_xyz:f", "cannot import 'no_such_module_xyz'"),
        ("toy_models:Scalar", "has no attribute 'Scalar'; did you mean Scalars"),
        ("toy_models:NoParameters.act", "has no attribute 'act'"),
    ],
)
def test_bad_specs_exit_2_with_a_clear_message(
    spec: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", spec]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("paramform: error: ")
    assert message in captured.err


@pytest.mark.parametrize(
    "command",
    [[str(BIN / "paramform")], [sys.executable, "-m", "pytest_paramform"]],
    ids=["console-script", "python-m"],
)
def test_installed_commands_are_the_same_program(
    command: list[str], seed_without_chart: str
) -> None:
    done = subprocess.run(
        [*command, "report", "torchvision:mobilenet_v2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, seed_without_chart)


def test_import_does_not_import_torch() -> None:
    code = "import sys, pytest_paramform; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0

"""`paramform report` as users run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pytest_paramform.cli import main
from pytest_paramform.formats import from_markdown, from_yaml

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
    report = from_yaml(capsys.readouterr().out)
    assert report.name == "scalars"
    assert "Scalar" in report.forms


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("torchvision:resnet5", "unknown torchvision model 'resnet5'; did you mean resnet50"),
        ("resnet50", "expected torchvision:NAME, hf:PATH"),
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


def test_diff_exits_0_on_no_drift_and_1_on_drift(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "torchvision:resnet18", "torchvision:resnet18"]) == 0
    assert capsys.readouterr().out == "paramform: resnet18 matches torchvision:resnet18\n"
    assert main(["diff", "torchvision:resnet18", "torchvision:resnet34"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("paramform: resnet34 differs from torchvision:resnet18\n")
    assert "  + layer1.2: 1 block like layer1.1 (6 tensors, +73,984 parameters)" in out
    assert "accept with" not in out


def test_diff_of_a_model_and_its_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    path = tmp_path / "r18.pt"
    torch.save(torchvision.models.resnet18().state_dict(), path)
    assert main(["diff", "torchvision:resnet18", str(path)]) == 0
    assert main(["diff", "torchvision:resnet50", str(path)]) == 1
    assert main(["diff", "torchvision:resnet18", str(tmp_path / "missing.pt")]) == 2
    assert "missing.pt" in capsys.readouterr().err


def test_check_against_a_golden(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    golden = tmp_path / "mnv2.yaml"
    assert main(["check", "torchvision:mobilenet_v2", str(golden)]) == 2
    err = capsys.readouterr().err
    assert (
        f"no golden at {golden}; create it with: paramform report torchvision:mobilenet_v2" in err
    )
    assert (
        main(["report", "torchvision:mobilenet_v2", "--format", "yaml", "--output", str(golden)])
        == 0
    )
    assert main(["check", "torchvision:mobilenet_v2", str(golden)]) == 0
    assert main(["check", "torchvision:mobilenet_v3_small", str(golden)]) == 1
    out = capsys.readouterr().out
    accept = "paramform report torchvision:mobilenet_v3_small --format yaml"
    assert f"\naccept with:\n  {accept} --output {golden}\n" in out
    assert (
        main(
            [
                "check",
                "torchvision:mobilenet_v3_small",
                str(golden),
                "--level",
                "summary",
                "--tolerance",
                "100",
                "--rel-tolerance",
                "1",
            ]
        )
        == 1
    )
    assert "layers 158 -> " in capsys.readouterr().out


def test_check_a_hand_broken_golden_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], seed_text: str
) -> None:
    golden = tmp_path / "mnv2.md"
    golden.write_text(seed_text.replace("| 864 |", "| 865 |"))
    assert main(["check", "torchvision:mobilenet_v2", str(golden)]) == 2
    assert f"{golden}:27 (numel): parameter 'features.0.0.weight'" in capsys.readouterr().err


def test_report_output_dir_regenerates_a_document_set_with_charts(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    specs = ["torchvision:mobilenet_v2", "torchvision:resnet18", "torchvision:squeezenet1_0"]
    assert main(["report", *specs, "--output-dir", str(tmp_path), "--chart"]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["figs", "mobilenet_v2.md", "resnet18.md", "squeezenet1_0.md"]
    text = (tmp_path / "mobilenet_v2.md").read_text()
    assert '<img src="figs/mobilenet_v2_pie_chart.png" alt="pie_chart" width="500"/>' in text
    png = (tmp_path / "figs" / "mobilenet_v2_pie_chart.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert len(png) > 10_000
    assert from_markdown(text).num_parameters == 3_504_872


def test_report_chart_next_to_the_document(tmp_path: Path, seed_text: str) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "docs" / "mobilenet_v2.md"
    chart = tmp_path / "figs" / "mobilenet_v2_pie_chart.png"
    assert (
        main(["report", "torchvision:mobilenet_v2", "--output", str(out), "--chart", str(chart)])
        == 0
    )
    assert out.read_text() == seed_text
    assert chart.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["report", "torchvision:resnet18", "torchvision:resnet34"],
            "several SPECs need --output-dir",
        ),
        (["report", "torchvision:resnet18", "--chart"], "--chart needs a PATH"),
        (["diff", "a.yaml", "b.yaml"], "no such golden file"),
        (
            ["check", "torchvision:resnet18", "g.yaml", "--tolerance", "-1"],
            "error: tolerance must be a finite number >= 0 (percentage points), got -1.0",
        ),
        (
            ["diff", "a.yaml", "b.yaml", "--rel-tolerance", "nan"],
            "error: rel_tolerance must be a finite number >= 0 (a fraction, 0.01 = 1%), got nan",
        ),
    ],
)
def test_command_misuse_exits_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_every_public_name_resolves() -> None:
    import types

    import pytest_paramform
    import pytest_paramform.comparison.core  # a submodule must not shadow a public name

    for name in pytest_paramform.__all__:
        assert not isinstance(getattr(pytest_paramform, name), types.ModuleType), name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = pytest_paramform.nope  # type: ignore[attr-defined]


def test_name_applies_with_output_dir_and_unwritable_output_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["report", "torchvision:alexnet", "--format", "yaml", "--output-dir", str(tmp_path)]
    assert main([*argv, "--name", "my-alexnet"]) == 0
    assert (tmp_path / "my-alexnet.yaml").read_text().count("model: my-alexnet") == 1
    assert main([*argv, "--chart", "x.png"]) == 2
    assert "--chart takes no PATH" in capsys.readouterr().err
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert main(["report", "torchvision:alexnet", "--output", str(blocked / "x.md")]) == 2
    assert "paramform: error: " in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import pytest_paramform

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"paramform {pytest_paramform.__version__}\n"


@pytest.mark.parametrize("command", ["report", "diff", "check"])
def test_every_command_describes_itself(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    usage, _, rest = capsys.readouterr().out.partition("\n\n")
    description = rest.split("\n\n")[0]
    assert usage.startswith(f"usage: paramform {command}")
    assert not description.startswith(("positional arguments", "options")), description


@pytest.mark.parametrize(
    ("name", "fmt", "starts"),
    [
        ("net.yaml", None, "# pytest-paramform golden"),
        ("net.yml", None, "# pytest-paramform"),
        ("net.md", None, "# Scalars parameter information"),
        ("net.txt", "yaml", "# pytest-paramform golden"),
        ("net.txt", "markdown", "# Scalars parameter information"),
        ("net.yaml", "yaml", "# pytest-paramform golden"),
    ],
)
def test_output_suffix_picks_the_format(
    tmp_path: Path, name: str, fmt: str | None, starts: str
) -> None:
    out = tmp_path / name
    argv = ["report", "toy_models:Scalars", "--output", str(out)]
    assert main([*argv, *(["--format", fmt] if fmt else [])]) == 0
    assert out.read_text().startswith(starts)


def test_an_explicit_format_that_the_output_suffix_contradicts_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "net.yaml"
    assert main(["report", "toy_models:Scalars", "--format", "markdown", "--output", str(out)]) == 2
    assert "--format markdown does not match --output" in capsys.readouterr().err
    assert not out.exists()


MYMODELS = """
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, {out})
"""


def test_the_console_script_imports_specs_from_the_current_folder(tmp_path: Path) -> None:
    (tmp_path / "mymodels.py").write_text(MYMODELS.format(out=3))
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("PYTHONPATH", None)

    def paramform(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["paramform", *args], cwd=tmp_path, env=env, capture_output=True, text=True
        )

    done = paramform("report", "mymodels:Net", "--output", "net.yaml")
    assert done.returncode == 0, done.stderr
    report = from_yaml((tmp_path / "net.yaml").read_text())
    assert (report.name, report.num_parameters) == ("Net", 15)
    assert paramform("check", "mymodels:Net", "net.yaml").returncode == 0

    (tmp_path / "mymodels.py").write_text(MYMODELS.format(out=5))
    done = paramform("check", "mymodels:Net", "net.yaml")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    accept = lines[lines.index("accept with:") + 1]
    pasted = subprocess.run(accept, shell=True, cwd=tmp_path, env=env, capture_output=True)
    assert pasted.returncode == 0, pasted.stderr
    assert paramform("check", "mymodels:Net", "net.yaml").returncode == 0

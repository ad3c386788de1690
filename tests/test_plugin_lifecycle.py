"""The golden life cycle as users walk it: create, pass, change, fail, update, pass."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pytest_paramform import formats

from suites import ACCEPT, GOLDEN, SYRUPY_NOTE, run, walk_life_cycle, write_suite

pytest_plugins = ["pytester"]


def test_life_cycle_create_pass_change_fail_update_pass(pytester: pytest.Pytester) -> None:
    write_suite(pytester)
    result = run(pytester)
    result.stdout.fnmatch_lines(
        [
            f"paramform: no golden for Net at {GOLDEN}",
            "create it with:",
            f"  {ACCEPT}",
            SYRUPY_NOTE,
        ]
    )
    drift = [
        f"paramform: Net differs from {GOLDEN}",
        "  ~ stem.weight   shape (4, 8) -> (6, 8)   numel 32 -> 48",
        "  ~ stem.bias     shape (4,) -> (6,)   numel 4 -> 6",
        "  ~ body.weight   shape (4, 4, 3, 3) -> (6, 6, 3, 3)   numel 144 -> 324",
        "  ~ body.bias     shape (4,) -> (6,)   numel 4 -> 6",
        "  ~ head.weight   shape (2, 4) -> (2, 6)   numel 8 -> 12",
        "  totals: layers 6 -> 6, parameters 194 -> 398 (+204, +105.15%)",
        "  forms:  *",
        "accept with:",
        f"  {ACCEPT}",
        SYRUPY_NOTE,
    ]
    walk_life_cycle(pytester, golden=GOLDEN, change={"hidden": 6}, drift_lines=drift)
    assert (pytester.path / GOLDEN).read_text().count("\n- {name: ") == 6


@pytest.mark.parametrize("update", ["--paramform-update", "--snapshot-update"])
def test_life_cycle_through_either_update_flag_in_markdown(
    pytester: pytest.Pytester, update: str
) -> None:
    pytester.makeini("[pytest]\nparamform_format = markdown\n")
    write_suite(pytester)
    drift = ["  ~ stem.weight   shape (4, 8) -> (5, 8)   numel 32 -> 40"]
    golden = GOLDEN.with_suffix(".md")
    walk_life_cycle(
        pytester, golden=golden, change={"hidden": 5}, drift_lines=drift, update=(update,)
    )


RECORDED = "buffers=True, dtype=True"  # options that change what a golden holds
SUMMARY_MARK = "@pytest.mark.paramform(level='summary', tolerance=1)\n"


@pytest.mark.parametrize("fmt", formats.names())
def test_every_format_walks_the_life_cycle_with_the_recording_options(
    pytester: pytest.Pytester, fmt: str
) -> None:
    call = f"paramform_snapshot(Net, format={fmt!r}, {RECORDED})"
    tests = f"def test_net(paramform_snapshot):\n    {call}\n"
    golden = GOLDEN.with_name(f"test_net{formats.get(fmt).golden_suffix}")
    drift = [f"paramform: Net differs from {golden}", "  ~ stem.weight * (4, 8) -> (5, 8)*"]
    walk_life_cycle(pytester, golden=golden, change={"hidden": 5}, drift_lines=drift, tests=tests)
    assert "float32" in (pytester.path / golden).read_text(), "dtype recorded"


def test_the_summary_level_walks_the_life_cycle_from_a_marker(pytester: pytest.Pytester) -> None:
    tests = SUMMARY_MARK + "def test_net(paramform_snapshot):\n    paramform_snapshot(Net)\n"
    drift = [f"paramform: Net differs from {GOLDEN}", "  totals: *parameters 194 -> 287*"]
    walk_life_cycle(pytester, golden=GOLDEN, change={"hidden": 5}, drift_lines=drift, tests=tests)


def _accept(pytester: pytest.Pytester) -> None:
    write_suite(pytester)
    run(pytester, "--paramform-update").assert_outcomes(passed=1)


def test_an_inserted_block_shows_as_insertions_only(pytester: pytest.Pytester) -> None:
    _accept(pytester)
    write_suite(pytester, extra_block=True)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "  + inserted.weight   (4, 4)  Matrix",
            "  + inserted.bias     (4,)  Vector",
            "  totals: layers 6 -> 8, parameters 194 -> 214 (+20, +10.31%)",
        ]
    )
    assert "  ~ " not in result.stdout.str()


def test_a_removed_bias_and_a_form_change(pytester: pytest.Pytester) -> None:
    _accept(pytester)
    write_suite(pytester, bias=False, hidden=1)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "  ~ body.weight * shape (4, 4, 3, 3) -> (1, 1, 3, 3) * form Tensor rank 4 -> Matrix",
            "  - head.bias * (2,)  Vector",
        ]
    )


def test_several_snapshots_in_one_test(pytester: pytest.Pytester) -> None:
    tests = (
        "def test_net(paramform_snapshot):\n"
        "    paramform_snapshot(Net)\n"
        "    paramform_snapshot(nn.Linear(2, 2))\n"
        "    paramform_snapshot(nn.Linear(3, 3), name='student')\n"
    )
    write_suite(pytester, tests=tests)
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    names = sorted(p.name for p in (pytester.path / GOLDEN.parent).iterdir())
    assert names == [
        "test_net.1.paramform.yaml",
        "test_net.paramform.yaml",
        "test_net[student].paramform.yaml",
    ]
    run(pytester).assert_outcomes(passed=1)


def test_the_fixture_returns_the_report(pytester: pytest.Pytester) -> None:
    tests = (
        "def test_net(paramform_snapshot):\n"
        "    report = paramform_snapshot(Net)\n"
        "    assert report.num_parameters == 194\n"
    )
    write_suite(pytester, tests=tests)
    run(pytester, "--paramform-update").assert_outcomes(passed=1)


def test_tying_and_trainability_drifts_in_a_test(pytester: pytest.Pytester) -> None:
    tests = (
        "TIED = True\n"
        "FROZEN = True\n\n"
        "class LM(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.wte = nn.Embedding(50, 8)\n"
        "        self.backbone = nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 8))\n"
        "        self.lm_head = nn.Linear(8, 50, bias=False)\n"
        "        if TIED:\n"
        "            self.lm_head.weight = self.wte.weight\n"
        "        self.backbone.requires_grad_(not FROZEN)\n\n"
        "def test_lm(paramform_snapshot):\n"
        "    paramform_snapshot(LM)\n"
    )
    write_suite(pytester, tests=tests)
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    write_suite(
        pytester,
        tests=tests.replace("TIED = True", "TIED = False").replace(
            "FROZEN = True", "FROZEN = False"
        ),
    )
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "  tying broken: lm_head.weight no longer shares wte.weight (+400 parameters)",
            "  now trainable: backbone.* (144 parameters in 4 tensors)",
            "  totals: layers 5 -> 6, parameters 544 -> 944 (+400, +73.53%), trainable 400 -> 944",
        ]
    )


def test_a_checkpoint_path_from_the_rootdir(pytester: pytest.Pytester) -> None:
    (pytester.path / "checkpoints").mkdir()
    torch.save(
        {"w": torch.zeros(3, 4), "b": torch.zeros(3)}, pytester.path / "checkpoints/model.pt"
    )
    pytester.mkpydir("tests")
    pytester.makepyfile(
        **{
            "tests/test_ckpt": "def test_ckpt(paramform_snapshot):\n"
            "    report = paramform_snapshot('checkpoints/model.pt')\n"
            "    assert report.source == 'checkpoint'\n"
        }
    )
    pytester.makeini("[pytest]\n")
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    golden = pytester.path / "tests/__snapshots__/test_ckpt/test_ckpt.paramform.yaml"
    assert "source: checkpoint" in golden.read_text()
    torch.save(
        {"w": torch.zeros(3, 5), "b": torch.zeros(3)}, pytester.path / "checkpoints/model.pt"
    )
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  ~ w   shape (3, 4) -> (3, 5)   numel 12 -> 15"])


def test_charts_for_review(pytester: pytest.Pytester) -> None:
    pytest.importorskip("matplotlib")
    write_suite(pytester)
    run(pytester, "--paramform-update", "--paramform-charts", "charts").assert_outcomes(passed=1)
    png = pytester.path / "charts" / "test_arch" / "test_net.png"
    assert png.read_bytes().startswith(b"\x89PNG")


def test_a_model_that_raises_shows_its_own_traceback(pytester: pytest.Pytester) -> None:
    tests = (
        "class Odd(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        raise ValueError('in_features must be even')\n\n"
        "def test_net(paramform_snapshot):\n"
        "    paramform_snapshot(Odd)\n"
    )
    write_suite(pytester, tests=tests)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*raise ValueError('in_features must be even')", "E * ValueError: *"]
    )
    assert "paramform: in_features" not in result.stdout.str()


def test_loading_the_plugin_does_not_import_torch(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    code = (
        "import sys, pytest\n"
        "code = pytest.main(['--co', '-q', '-p', 'no:cacheprovider'])\n"
        "print('plugin loaded:', 'pytest_paramform.plugin' in sys.modules)\n"
        "print('torch loaded:', 'torch' in sys.modules)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=pytester.path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "plugin loaded: True" in done.stdout
    assert "torch loaded: False" in done.stdout


# A test id with a quote, a space and brackets: each breaks an unquoted or naively quoted line.
QUOTED_ID_TESTS = (
    "@pytest.mark.parametrize('variant', [\"it's a [b]\"])\n"
    "def test_net(paramform_snapshot, variant):\n    paramform_snapshot(Net)\n"
)


def test_the_accept_line_pastes_into_a_shell(pytester: pytest.Pytester) -> None:
    tests = QUOTED_ID_TESTS
    write_suite(pytester, tests=tests)
    for expect_header in ("create it with:", "accept with:"):
        result = run(pytester)
        result.assert_outcomes(failed=1)
        lines = result.stdout.lines
        command = lines[lines.index(expect_header) + 1]
        assert lines[lines.index(expect_header) + 2] == SYRUPY_NOTE
        # The whole line, as a user selects it, run by a shell with this environment's pytest.
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        done = subprocess.run(
            command, shell=True, cwd=pytester.path, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "1 passed" in done.stdout
        run(pytester).assert_outcomes(passed=1)
        write_suite(pytester, tests=tests, hidden=5)


def test_the_accept_line_pastes_from_the_folder_pytest_runs_in(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        **{
            "tests/models/test_models": "import pytest\nfrom torch import nn\n\n"
            + QUOTED_ID_TESTS.replace(
                "paramform_snapshot(Net)", "paramform_snapshot(nn.Linear(2, 2))"
            )
        }
    )
    pytester.makeini("[pytest]\n")
    here = pytester.path / "tests"
    monkeypatch.chdir(here)  # the rootdir stays at the ini file, one folder up
    result = run(pytester)
    result.assert_outcomes(failed=1)
    lines = result.stdout.lines
    command = lines[lines.index("create it with:") + 1].strip()
    assert command == "pytest --paramform-update 'models/test_models.py::test_net[it'\\''s a [b]]'"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(command, shell=True, cwd=here, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    run(pytester).assert_outcomes(passed=1)

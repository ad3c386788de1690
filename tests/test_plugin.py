"""The plugin as users run it: pytester sessions through the whole golden life cycle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from suites import ACCEPT, GOLDEN, MODEL, run, write_suite

pytest_plugins = ["pytester"]


def test_life_cycle_create_pass_change_fail_update_pass(pytester: pytest.Pytester) -> None:
    write_suite(pytester)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"paramform: no golden for Net at {GOLDEN}",
            f"create it with: {ACCEPT}",
        ]
    )
    assert not (pytester.path / GOLDEN).exists(), "a golden is never written outside an update run"

    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    assert (pytester.path / GOLDEN).read_text().count("\n- {name: ") == 6
    run(pytester).assert_outcomes(passed=1)

    write_suite(pytester, hidden=6)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"paramform: Net differs from {GOLDEN}",
            "  ~ stem.weight   shape (4, 8) -> (6, 8)   numel 32 -> 48",
            "  ~ stem.bias     shape (4,) -> (6,)   numel 4 -> 6",
            "  ~ body.weight   shape (4, 4, 3, 3) -> (6, 6, 3, 3)   numel 144 -> 324",
            "  ~ body.bias     shape (4,) -> (6,)   numel 4 -> 6",
            "  ~ head.weight   shape (2, 4) -> (2, 6)   numel 8 -> 12",
            "  totals: layers 6 -> 6, parameters 194 -> 398 (+204, +105.15%)",
            "  forms:  *",
            f"accept with: {ACCEPT}",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert "def test_net" not in result.stdout.str(), "no Python traceback for a drift"

    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    run(pytester).assert_outcomes(passed=1)


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


def test_paramform_update_leaves_other_syrupy_snapshots_alone(pytester: pytest.Pytester) -> None:
    tests = (
        "def test_net(paramform_snapshot):\n    paramform_snapshot(Net)\n\n"
        "def test_plain(snapshot):\n    assert snapshot == {'answer': 42}\n"
    )
    write_suite(pytester, tests=tests)
    result = run(pytester, "--paramform-update")
    result.assert_outcomes(passed=1, failed=1)
    assert (pytester.path / GOLDEN).exists()
    assert not (pytester.path / "__snapshots__/test_arch.ambr").exists()

    run(pytester, "--snapshot-update").assert_outcomes(passed=2)
    assert (pytester.path / "__snapshots__/test_arch.ambr").exists()
    run(pytester).assert_outcomes(passed=2)


def test_syrupy_snapshot_update_also_writes_paramform_goldens(pytester: pytest.Pytester) -> None:
    write_suite(pytester)
    run(pytester, "--snapshot-update").assert_outcomes(passed=1)
    assert (pytester.path / GOLDEN).exists()
    run(pytester).assert_outcomes(passed=1)


def test_unused_goldens_are_reported_and_removed_by_an_update_run(
    pytester: pytest.Pytester,
) -> None:
    _accept(pytester)
    write_suite(
        pytester, tests="def test_renamed(paramform_snapshot):\n    paramform_snapshot(Net)\n"
    )
    result = run(pytester, "--snapshot-update-new-only")
    result.stdout.fnmatch_lines(["*1 snapshot generated. 1 snapshot unused.*"])
    assert result.ret == 1, "an unused golden fails the run, as syrupy's own snapshots do"

    result = run(pytester, "--paramform-update")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*1 unused paramform golden(s) deleted:", f"  {GOLDEN}"])
    remaining = sorted(p.name for p in (pytester.path / GOLDEN.parent).iterdir())
    assert remaining == ["test_renamed.paramform.yaml"]
    run(pytester).assert_outcomes(passed=1)


def test_syrupy_update_removes_unused_goldens_too(pytester: pytest.Pytester) -> None:
    _accept(pytester)
    write_suite(
        pytester, tests="def test_other(paramform_snapshot):\n    paramform_snapshot(Net)\n"
    )
    run(pytester, "--snapshot-update").assert_outcomes(passed=1)
    assert not (pytester.path / GOLDEN).exists()


@pytest.mark.parametrize("how", ["ini", "marker", "call"])
def test_markdown_goldens_in_the_seed_layout(pytester: pytest.Pytester, how: str) -> None:
    call = (
        "paramform_snapshot(Net, format='markdown')" if how == "call" else "paramform_snapshot(Net)"
    )
    marker = "@pytest.mark.paramform(format='markdown')\n" if how == "marker" else ""
    write_suite(pytester, tests=f"{marker}def test_net(paramform_snapshot):\n    {call}\n")
    if how == "ini":
        pytester.makeini("[pytest]\nparamform_format = markdown\n")
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    golden = pytester.path / GOLDEN.with_suffix(".md")
    assert golden.read_text().startswith(
        "# Net parameter information\n\n**Number of layers: [ 6 ]**"
    )
    assert not (pytester.path / GOLDEN).exists()
    run(pytester).assert_outcomes(passed=1)
    write_suite(
        pytester, hidden=5, tests=f"{marker}def test_net(paramform_snapshot):\n    {call}\n"
    )
    run(pytester).stdout.fnmatch_lines(
        ["  ~ stem.weight   shape (4, 8) -> (5, 8)   numel 32 -> 40"]
    )


def test_summary_level_passes_inside_the_tolerance_and_fails_outside(
    pytester: pytest.Pytester,
) -> None:
    _accept(pytester)
    pytester.makeini(
        "[pytest]\nparamform_level = summary\n"
        "paramform_tolerance = 5\nparamform_rel_tolerance = 0.10\n"
    )
    # One more output channel: 194 -> 199 parameters (+2.58%), shares move less than 5 points.
    pytester.makepyfile(
        test_arch=MODEL.format(hidden=4, extra_block=False, bias=True).replace(
            "nn.Linear(HIDDEN, 2, bias=BIAS)", "nn.Linear(HIDDEN, 3, bias=BIAS)"
        )
        + "\n\ndef test_net(paramform_snapshot):\n    paramform_snapshot(Net)\n"
    )
    run(pytester).assert_outcomes(passed=1)

    pytester.makeini("[pytest]\nparamform_level = summary\nparamform_tolerance = 5\n")
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["  totals: layers 6 -> 6, parameters 194 -> 199 (+5, +2.58%, tolerance 0%)"]
    )

    write_suite(pytester, hidden=8)
    pytester.makeini("[pytest]\nparamform_level = summary\nparamform_rel_tolerance = 10\n")
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  forms:  * of parameters* (tolerance 0 pp)"])


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


def test_two_tests_on_one_golden_are_an_error_naming_both(pytester: pytest.Pytester) -> None:
    tests = (
        "@pytest.mark.parametrize('variant', ['a/b', 'ab'])\n"
        "def test_net(paramform_snapshot, variant):\n"
        "    paramform_snapshot(Net)\n"
    )
    write_suite(pytester, tests=tests)
    # syrupy itself warns that it cannot relate the first file name to its test id.
    result = run(pytester, "--paramform-update", "-W", "error")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "paramform: test_arch.py::test_net[[]a/b[]] and test_arch.py::test_net[[]ab[]] map to"
            " the same golden __snapshots__/test_arch/test_net[[]ab[]].paramform.yaml; *"
        ]
    )


def test_one_name_twice_in_a_test_is_an_error(pytester: pytest.Pytester) -> None:
    tests = (
        "def test_net(paramform_snapshot):\n"
        "    paramform_snapshot(Net, name='x')\n"
        "    paramform_snapshot(nn.Linear(2, 2), name='x')\n"
    )
    write_suite(pytester, tests=tests)
    run(pytester, "--paramform-update").stdout.fnmatch_lines(
        ["paramform: this test twice map to the same golden *test_net[[]x[]].paramform.yaml*"]
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("!!python/object/apply:os.system ['touch pwned']\n", "could not determine a constructor"),
        (b"\xff\xfe\x00garbage", "not UTF-8 text"),
        ("", "the file is empty"),
        ("paramform: 1\nmodel: Net\n", "missing layers, parameters, trainable, forms, params"),
    ],
)
def test_a_corrupt_golden_fails_its_test_by_name_and_the_others_run_on(
    pytester: pytest.Pytester, content: str | bytes, message: str
) -> None:
    tests = (
        "def test_net(paramform_snapshot):\n    paramform_snapshot(Net)\n\n"
        "def test_other(paramform_snapshot):\n    paramform_snapshot(nn.Linear(2, 2))\n"
    )
    write_suite(pytester, tests=tests)
    run(pytester, "--paramform-update").assert_outcomes(passed=2)
    golden = pytester.path / GOLDEN
    golden.write_bytes(content if isinstance(content, bytes) else content.encode())

    result = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([f"paramform: cannot use the golden: {GOLDEN}*{message}*"])
    assert not (pytester.path / "pwned").exists()
    assert "INTERNALERROR" not in result.stdout.str()

    run(pytester, "--paramform-update").assert_outcomes(passed=2)
    run(pytester).assert_outcomes(passed=2)


def test_a_hand_edited_golden_names_the_line(pytester: pytest.Pytester) -> None:
    _accept(pytester)
    golden = pytester.path / GOLDEN
    golden.write_text(golden.read_text().replace("numel: 32,", "numel: 33,"))
    run(pytester).stdout.fnmatch_lines(
        [f"paramform: cannot use the golden: {GOLDEN}:13 (numel): parameter 'stem.weight'*33*"]
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("42", "paramform: cannot take a report of int 42: expected an nn.Module, a factory*"),
        ("lambda: nn.Sequential(nn.LazyLinear(3))", "paramform: *not initialised yet*forward*"),
    ],
)
def test_bad_sources_fail_with_a_clear_message(
    pytester: pytest.Pytester, source: str, message: str
) -> None:
    write_suite(
        pytester, tests=f"def test_net(paramform_snapshot):\n    paramform_snapshot({source})\n"
    )
    result = run(pytester, "--paramform-update")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([message])
    assert not (pytester.path / "__snapshots__").exists()


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        ("paramform_format = json", "*format must be one of yaml, markdown, got 'json'*"),
        ("paramform_tolerance = lots", "*tolerance must be a number, got 'lots'*"),
    ],
)
def test_bad_ini_values_are_usage_errors(pytester: pytest.Pytester, ini: str, message: str) -> None:
    write_suite(pytester)
    pytester.makeini(f"[pytest]\n{ini}\n")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_the_fixture_returns_the_report(pytester: pytest.Pytester) -> None:
    tests = (
        "def test_net(paramform_snapshot):\n"
        "    report = paramform_snapshot(Net)\n"
        "    assert report.num_parameters == 194\n"
    )
    write_suite(pytester, tests=tests)
    run(pytester, "--paramform-update").assert_outcomes(passed=1)


@pytest.mark.slow
@pytest.mark.parametrize("update", ["--paramform-update", "--snapshot-update"])
def test_under_xdist_update_check_and_unused(pytester: pytest.Pytester, update: str) -> None:
    tests = "".join(
        f"def test_net{i}(paramform_snapshot):\n    paramform_snapshot(Net)\n\n" for i in range(6)
    )
    write_suite(pytester, tests=tests)
    run(pytester, "-n", "2", update).assert_outcomes(passed=6)
    assert len(list((pytester.path / GOLDEN.parent).iterdir())) == 6
    run(pytester, "-n", "2").assert_outcomes(passed=6)

    write_suite(pytester, hidden=5, tests=tests.replace("test_net5", "test_renamed"))
    result = run(pytester, "-n", "2")
    result.assert_outcomes(failed=6)
    result.stdout.fnmatch_lines(["*~ stem.weight   shape (4, 8) -> (5, 8)*"])
    run(pytester, "-n", "2", update).assert_outcomes(passed=6)
    names = sorted(p.name for p in (pytester.path / GOLDEN.parent).iterdir())
    assert "test_net5.paramform.yaml" not in names
    assert len(names) == 6
    run(pytester, "-n", "2").assert_outcomes(passed=6)


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


def test_charts_for_review(pytester: pytest.Pytester) -> None:
    pytest.importorskip("matplotlib")
    write_suite(pytester)
    run(pytester, "--paramform-update", "--paramform-charts", "charts").assert_outcomes(passed=1)
    png = pytester.path / "charts" / "test_arch" / "test_net.png"
    assert png.read_bytes().startswith(b"\x89PNG")


def test_odd_test_ids_keep_goldens_inside_snapshots(pytester: pytest.Pytester) -> None:
    tests = (
        "@pytest.mark.parametrize('variant', ['../../escape', 'ünïcödé 層', 'x' * 400, 'a\\\\b'])\n"
        "def test_net(paramform_snapshot, variant):\n"
        "    paramform_snapshot(Net)\n"
    )
    write_suite(pytester, tests=tests)
    run(pytester, "--paramform-update", "-W", "error").assert_outcomes(passed=4)
    written = sorted(p.relative_to(pytester.path) for p in pytester.path.rglob("*.paramform.yaml"))
    assert len(written) == 4
    assert all(p.parent == GOLDEN.parent for p in written)
    assert all(len(p.name) <= 255 for p in written)
    run(pytester).assert_outcomes(passed=4)


@pytest.mark.slow
def test_parallel_update_of_200_goldens(pytester: pytest.Pytester) -> None:
    tests = (
        "@pytest.mark.parametrize('i', range(200))\n"
        "def test_net(paramform_snapshot, i):\n"
        "    paramform_snapshot(nn.Linear(i + 1, 2))\n"
    )
    write_suite(pytester, tests=tests)
    run(pytester, "-n", "4", "--paramform-update").assert_outcomes(passed=200)
    goldens = list((pytester.path / GOLDEN.parent).iterdir())
    assert len(goldens) == 200
    from pytest_paramform import ParamFormReport

    assert all(ParamFormReport.from_yaml(p.read_text()).num_layers == 2 for p in goldens)
    assert not list(pytester.path.rglob(".*.tmp"))
    run(pytester, "-n", "4").assert_outcomes(passed=200)


def test_an_update_run_never_deletes_the_golden_of_a_failing_test(
    pytester: pytest.Pytester,
) -> None:
    _accept(pytester)
    broken = "def test_net(paramform_snapshot):\n    raise RuntimeError('model no longer builds')\n"
    write_suite(pytester, tests=broken)
    run(pytester, "--paramform-update").assert_outcomes(failed=1)
    assert (pytester.path / GOLDEN).exists()


def test_turning_buffers_on_fails_until_the_golden_records_them(pytester: pytest.Pytester) -> None:
    _accept(pytester)
    pytester.makeini("[pytest]\nparamform_buffers = true\n")
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  buffers: this run records them and the golden does not"])
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    assert "buffers: []" in (pytester.path / GOLDEN).read_text()
    run(pytester).assert_outcomes(passed=1)


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


@pytest.mark.slow
def test_two_ids_on_one_golden_are_found_across_xdist_workers(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    # A temporary folder of this test's own: other runs on the machine leave theirs alone.
    own_temp = tmp_path / "temp"
    own_temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(own_temp))
    monkeypatch.setenv("TMPDIR", str(own_temp))
    tests = (
        "@pytest.mark.parametrize('variant', [\n"
        "    pytest.param('a/b', marks=pytest.mark.xdist_group('one')),\n"
        "    pytest.param('ab', marks=pytest.mark.xdist_group('two')),\n"
        "])\n"
        "def test_net(paramform_snapshot, variant):\n"
        "    paramform_snapshot(Net)\n"
    )
    write_suite(pytester, tests=tests)
    args = [
        "-n",
        "2",
        "--dist",
        "loadgroup",
        "-v",
        "--paramform-update",
        "-W",
        "error",
    ]
    result = run(pytester, *args)
    workers = {line.split("]")[0] for line in result.stdout.lines if line.startswith("[gw")}
    assert workers == {"[gw0", "[gw1"}, "the two tests ran on different workers"
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*map to the same golden __snapshots__/test_arch/test_net[[]ab[]]*"]
    )
    assert not list(own_temp.glob("paramform-claims-*")), "the claims folder is removed"

"""Under pytest-xdist: updates, checks, unused goldens and claims across workers (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_paramform.formats import from_yaml

from suites import GOLDEN, run, write_suite

pytest_plugins = ["pytester"]


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

    assert all(from_yaml(p.read_text()).num_layers == 2 for p in goldens)
    assert not list(pytester.path.rglob(".*.tmp"))
    run(pytester, "-n", "4").assert_outcomes(passed=200)


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
    from pytest_paramform.plugin import claims

    made: list[str] = []
    make_folder = claims.make_folder
    monkeypatch.setattr(claims, "make_folder", lambda: made.append(make_folder()) or made[-1])
    tests = (
        "@pytest.mark.parametrize('variant', [\n"
        "    pytest.param('a/b', marks=pytest.mark.xdist_group('one')),\n"
        "    pytest.param('ab', marks=pytest.mark.xdist_group('two')),\n"
        "])\n"
        "def test_net(paramform_snapshot, variant):\n"
        "    paramform_snapshot(Net)\n"
    )
    write_suite(pytester, tests=tests)
    # In this process (claims.make_folder is watched here), without pytest-rerunfailures,
    # whose 14.0 would leave a thread spinning here on each closed worker connection.
    args = [
        "-p",
        "no:rerunfailures",
        "-n",
        "2",
        "--dist",
        "loadgroup",
        "-v",
        "--paramform-update",
        "-W",
        "error",
    ]
    result = run(pytester, *args, in_process=True)
    workers = {line.split("]")[0] for line in result.stdout.lines if line.startswith("[gw")}
    assert workers == {"[gw0", "[gw1"}, "the two tests ran on different workers"
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*map to the same golden __snapshots__/test_arch/test_net[[]ab[]]*"]
    )
    assert len(made) == 1, "one claims folder for the whole run"
    assert Path(made[0]).parent == own_temp
    assert not Path(made[0]).exists(), "the claims folder is removed"

"""Unused goldens: an update run deletes one only when the run proves its test is gone."""

from __future__ import annotations

import pytest

from suites import GOLDEN, run, write_suite

pytest_plugins = ["pytester"]

UPDATES = ["--paramform-update", "--snapshot-update"]
BACKBONES = (
    "def test_resnet(paramform_snapshot):\n    paramform_snapshot(Net)\n\n"
    "def test_backbones(paramform_snapshot):\n"
    "    paramform_snapshot(nn.Linear(2, 2), name='resnet')\n"
    "    paramform_snapshot(nn.Linear(3, 3), name='vit')\n\n"
    "@pytest.mark.slow\n"
    "def test_big(paramform_snapshot):\n    paramform_snapshot(nn.Linear(4, 4))\n"
)
FOLDER = GOLDEN.parent


def goldens(pytester: pytest.Pytester) -> list[str]:
    return sorted(p.name for p in pytester.path.rglob("*.paramform.*"))


def numbered_tests(count: int) -> str:
    return "".join(
        f"def test_net{i}(paramform_snapshot):\n    paramform_snapshot(Net)\n\n"
        for i in range(count)
    )


def accept(pytester: pytest.Pytester, tests: str, passed: int) -> list[str]:
    write_suite(pytester, tests=tests)
    pytester.makeini("[pytest]\nmarkers =\n    slow: a slow test\n")
    run(pytester, "--paramform-update").assert_outcomes(passed=passed)
    return goldens(pytester)


@pytest.mark.parametrize("update", UPDATES)
@pytest.mark.parametrize(
    "selection",
    [
        ["-k", "resnet"],
        ["-m", "not slow"],
        ["--deselect", "test_arch.py::test_backbones"],
        ["test_arch.py::test_resnet"],
        ["--collect-only"],
        ["--setup-only"],
    ],
    ids=["-k", "-m", "--deselect", "node-id", "--collect-only", "--setup-only"],
)
def test_a_selection_keeps_the_goldens_of_tests_it_left_out(
    pytester: pytest.Pytester, update: str, selection: list[str]
) -> None:
    before = accept(pytester, BACKBONES, passed=3)
    assert len(before) == 4
    result = run(pytester, update, *selection)
    assert goldens(pytester) == before
    assert result.ret in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)
    assert "deleted" not in result.stdout.str().lower()


@pytest.mark.parametrize("update", UPDATES)
def test_a_conftest_that_drops_tests_keeps_their_goldens(
    pytester: pytest.Pytester, update: str
) -> None:
    before = accept(pytester, BACKBONES, passed=3)
    pytester.makeconftest(
        "def pytest_collection_modifyitems(items):\n"
        "    items[:] = [i for i in items if i.name == 'test_resnet']\n"
    )
    run(pytester, update).assert_outcomes(passed=1)
    assert goldens(pytester) == before


@pytest.mark.parametrize("update", UPDATES)
def test_an_interrupted_update_keeps_the_goldens_of_tests_not_yet_run(
    pytester: pytest.Pytester, update: str
) -> None:
    tests = numbered_tests(5)
    before = accept(pytester, tests, passed=5)
    interrupted = tests.replace(
        "def test_net2(paramform_snapshot):\n    paramform_snapshot(Net)\n",
        "def test_net2(paramform_snapshot):\n    os.kill(os.getpid(), signal.SIGINT)\n",
    )
    write_suite(pytester, tests="import os, signal\n\n" + interrupted)
    result = run(pytester, update, ctrl_c=True)
    assert result.ret != pytest.ExitCode.OK
    assert goldens(pytester) == before
    result.stdout.fnmatch_lines(
        [
            "paramform: 3 golden(s) look unused but were kept (the run was interrupted); "
            "an update run that completes with no failure deletes those whose test is gone",
            f"  {FOLDER}/test_net2.paramform.yaml: the run was interrupted",
        ]
    )


@pytest.mark.parametrize("update", UPDATES)
def test_an_early_stop_on_failure_keeps_every_golden(
    pytester: pytest.Pytester, update: str
) -> None:
    tests = numbered_tests(4)
    before = accept(pytester, tests, passed=4)
    failing = (
        "def test_net0(paramform_snapshot):\n    assert False, 'broken'\n\n"
        + tests.split("\n\n", 1)[1]
    )
    write_suite(pytester, tests=failing)
    result = run(pytester, update, "-x")
    result.assert_outcomes(failed=1)
    assert goldens(pytester) == before


def test_both_update_flags_with_a_failing_test_delete_nothing(pytester: pytest.Pytester) -> None:
    before = accept(pytester, BACKBONES, passed=3)
    broken = BACKBONES.replace("paramform_snapshot(Net)", "raise RuntimeError('gone')")
    write_suite(pytester, tests=broken)
    result = run(pytester, "--paramform-update", "--snapshot-update")
    result.assert_outcomes(passed=2, failed=1)
    assert goldens(pytester) == before
    result.stdout.fnmatch_lines(["*kept (1 test(s) failed or did not collect)*"])


@pytest.mark.parametrize("update", UPDATES)
def test_a_module_that_is_not_collected_keeps_its_goldens(
    pytester: pytest.Pytester, update: str
) -> None:
    before = accept(pytester, BACKBONES, passed=3)
    pytester.makepyfile(test_other="def test_plain():\n    pass\n")
    run(pytester, update, "--ignore=test_arch.py").assert_outcomes(passed=1)
    assert goldens(pytester) == before
    run(pytester, update, "test_other.py").assert_outcomes(passed=1)
    assert goldens(pytester) == before

    skipping = "pytest.importorskip('a_package_this_machine_lacks')\n\n" + BACKBONES
    write_suite(pytester, tests=skipping)
    result = run(pytester, update)
    result.assert_outcomes(passed=1, skipped=1)
    assert goldens(pytester) == before
    # The whole suite ran: a second whole-suite run would change nothing.
    assert "whole suite" not in result.stdout.str()
    result.stdout.fnmatch_lines(
        ["*each stays until a run proves its test gone: delete it by hand*"]
    )


@pytest.mark.parametrize("update", UPDATES)
def test_a_deleted_test_and_a_deleted_module_lose_their_goldens_in_a_full_run(
    pytester: pytest.Pytester, update: str
) -> None:
    accept(pytester, BACKBONES, passed=3)
    write_suite(pytester, tests=BACKBONES.replace("def test_big", "def test_large"))
    result = run(pytester, update)
    result.assert_outcomes(passed=3)
    assert "test_big.paramform.yaml" not in goldens(pytester)
    assert "test_large.paramform.yaml" in goldens(pytester)
    assert "look unused but were kept" not in result.stdout.str()

    (pytester.path / "test_arch.py").unlink()
    pytester.makepyfile(test_other="def test_plain():\n    pass\n")
    run(pytester, update).assert_outcomes(passed=1)
    assert goldens(pytester) == []


@pytest.mark.slow
@pytest.mark.parametrize("update", UPDATES)
def test_under_xdist_a_deselection_keeps_and_a_full_run_deletes(
    pytester: pytest.Pytester, update: str
) -> None:
    before = accept(pytester, BACKBONES, passed=3)
    run(pytester, "-n", "2", update, "-k", "resnet").assert_outcomes(passed=1)
    assert goldens(pytester) == before
    write_suite(pytester, tests=BACKBONES.replace("def test_big", "def test_large"))
    run(pytester, "-n", "2", update).assert_outcomes(passed=3)
    after = goldens(pytester)
    assert "test_big.paramform.yaml" not in after
    assert "test_large.paramform.yaml" in after


def test_stepwise_keeps_the_goldens_of_the_tests_it_skips(pytester: pytest.Pytester) -> None:
    before = accept(pytester, BACKBONES, passed=3)
    broken = BACKBONES.replace("name='vit')", "name='vit')\n    assert False")
    write_suite(pytester, tests=broken)
    with_cache = ("-p", "no:hypothesispytest", "--sw")
    pytester.runpytest(*with_cache).assert_outcomes(passed=1, failed=1)
    write_suite(pytester, tests=BACKBONES)
    result = pytester.runpytest(*with_cache, "--paramform-update")
    result.assert_outcomes(passed=2, deselected=1)
    assert goldens(pytester) == before


ONE_CHECK = "def test_pair(paramform_snapshot):\n    paramform_snapshot(Net)\n"
TWO_CHECKS = ONE_CHECK + "    paramform_snapshot(nn.Linear(2, 2))\n"


@pytest.mark.parametrize("update", UPDATES)
def test_a_test_that_dropped_its_second_check_loses_that_golden_in_an_update(
    pytester: pytest.Pytester, update: str
) -> None:
    assert accept(pytester, TWO_CHECKS, passed=1) == [
        "test_pair.1.paramform.yaml",
        "test_pair.paramform.yaml",
    ]
    write_suite(pytester, tests=ONE_CHECK)
    result = run(pytester)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["1 paramform golden(s) unused *", f"  {FOLDER}/test_pair.1.paramform.yaml"]
    )

    result = run(pytester, update)  # the test ran to completion without that check
    result.assert_outcomes(passed=1)
    assert goldens(pytester) == ["test_pair.paramform.yaml"]
    assert "kept" not in result.stdout.str()
    assert run(pytester).ret == pytest.ExitCode.OK


def test_a_named_check_a_test_dropped_goes_too_but_not_while_its_test_fails(
    pytester: pytest.Pytester,
) -> None:
    before = accept(pytester, BACKBONES, passed=3)
    without_vit = BACKBONES.replace("    paramform_snapshot(nn.Linear(3, 3), name='vit')\n", "")
    write_suite(pytester, tests=without_vit.replace("name='resnet')", "name='resnet')\n    1/0"))
    result = run(pytester, "--paramform-update")
    result.assert_outcomes(passed=2, failed=1)
    assert goldens(pytester) == before
    result.stdout.fnmatch_lines(
        [f"  {FOLDER}/test_backbones[[]vit[]].paramform.yaml: 1 test(s) failed or did not collect"]
    )
    write_suite(pytester, tests=without_vit)
    result = run(pytester, "--paramform-update")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "1 unused paramform golden(s) deleted:",
            f"  {FOLDER}/test_backbones[[]vit[]].paramform.yaml",
        ]
    )
    assert "test_backbones[vit].paramform.yaml" not in goldens(pytester)


def write_tests_folder(pytester: pytest.Pytester, *names: str) -> None:
    """``tests/test_m.py`` with one check per test name, and an ini file at the root."""
    body = "".join(
        f"def {name}(paramform_snapshot):\n    paramform_snapshot(nn.Linear(2, 2))\n\n"
        for name in names
    )
    pytester.makepyfile(**{"tests/test_m": "from torch import nn\n\n" + body})
    pytester.makeini("[pytest]\n")


OLD = "tests/__snapshots__/test_m/test_old.paramform.yaml"


@pytest.mark.parametrize("path", ["tests", ".", "tests/test_m.py"])
def test_a_renamed_tests_golden_is_judged_alike_when_pytest_gets_a_path(
    pytester: pytest.Pytester, path: str
) -> None:
    write_tests_folder(pytester, "test_old")
    run(pytester, "--paramform-update", path).assert_outcomes(passed=1)
    write_tests_folder(pytester, "test_new")

    result = run(pytester, path)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "1 paramform golden(s) unused (the test is gone, or no longer makes that check); "
            "pytest --paramform-update deletes them:",
            f"  {OLD}",
        ]
    )
    result.stdout.fnmatch_lines(["*1 snapshot unused*"])  # syrupy's own count agrees

    result = run(pytester, "--paramform-update", path)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["1 unused paramform golden(s) deleted:", f"  {OLD}"])
    assert goldens(pytester) == ["test_new.paramform.yaml"]
    assert run(pytester, path).ret == pytest.ExitCode.OK


@pytest.mark.parametrize(
    "args",
    [
        ["--collect-only"],
        ["--collect-only", "-q", "."],
        ["--setup-only"],
        ["--paramform-update", "--collect-only"],
    ],
    ids=["collect-only", "collect-only-path", "setup-only", "update-collect-only"],
)
def test_a_run_that_runs_no_test_proves_nothing(pytester: pytest.Pytester, args: list[str]) -> None:
    before = accept(pytester, BACKBONES, passed=3)
    result = run(pytester, *args)
    assert result.ret == pytest.ExitCode.OK
    assert "unused" not in result.stdout.str()
    assert "kept" not in result.stdout.str()
    assert goldens(pytester) == before


def kept_lines(reason: str) -> list[str]:
    return [
        f"paramform: 1 golden(s) look unused but were kept ({reason}); "
        "run the whole suite with --paramform-update to delete those whose test is gone",
        f"  {OLD}: {reason}",
    ]


@pytest.mark.parametrize("update", UPDATES)
def test_a_renamed_tests_golden_is_listed_as_kept_by_a_node_id_or_lf_update(
    pytester: pytest.Pytester, update: str
) -> None:
    write_tests_folder(pytester, "test_old", "test_other")
    run(pytester, "--paramform-update").assert_outcomes(passed=2)
    write_tests_folder(pytester, "test_new", "test_other")
    module = pytester.path / "tests/test_m.py"
    check = "    paramform_snapshot(nn.Linear(2, 2))\n"
    flaky = check + "    assert (__import__('pathlib').Path(__file__).parent / 'ok').exists()\n"
    module.write_text(module.read_text().replace(check, flaky, 1))

    with_cache = ("-p", "no:hypothesispytest")
    pytester.runpytest(*with_cache, update).assert_outcomes(passed=1, failed=1)
    (module.parent / "ok").touch()
    result = pytester.runpytest(*with_cache, update, "--lf")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(kept_lines("--lf ran only the last failures"))

    result = run(pytester, update, "tests/test_m.py::test_new")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(kept_lines("tests were chosen by node id"))
    assert "test_other.paramform.yaml:" not in result.stdout.str()  # its test exists
    assert goldens(pytester) == [
        "test_new.paramform.yaml",
        "test_old.paramform.yaml",
        "test_other.paramform.yaml",
    ]
    # -k deselects tests but collects them all: test_old is proven gone, as in a bare run.
    result = run(pytester, update, "-k", "new")
    result.assert_outcomes(passed=1, deselected=1)
    assert goldens(pytester) == ["test_new.paramform.yaml", "test_other.paramform.yaml"]

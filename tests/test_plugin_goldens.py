"""Golden files: which are written, which are refused, how syrupy's own snapshots fare."""

from __future__ import annotations

import pytest

from suites import GOLDEN, run, write_suite

pytest_plugins = ["pytester"]


def _accept(pytester: pytest.Pytester) -> None:
    write_suite(pytester)
    run(pytester, "--paramform-update").assert_outcomes(passed=1)


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


def test_goldens_syrupys_update_deletes_are_listed_as_ours_are(pytester: pytest.Pytester) -> None:
    _accept(pytester)
    write_suite(
        pytester, tests="def test_renamed(paramform_snapshot):\n    paramform_snapshot(Net)\n"
    )
    result = run(pytester, "--snapshot-update")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["1 unused paramform golden(s) deleted:", f"  {GOLDEN}"])
    assert not (pytester.path / GOLDEN).exists()


def test_syrupy_update_removes_unused_goldens_too(pytester: pytest.Pytester) -> None:
    _accept(pytester)
    write_suite(
        pytester, tests="def test_other(paramform_snapshot):\n    paramform_snapshot(Net)\n"
    )
    run(pytester, "--snapshot-update").assert_outcomes(passed=1)
    assert not (pytester.path / GOLDEN).exists()


def test_an_update_run_never_deletes_the_golden_of_a_failing_test(
    pytester: pytest.Pytester,
) -> None:
    _accept(pytester)
    broken = "def test_net(paramform_snapshot):\n    raise RuntimeError('model no longer builds')\n"
    write_suite(pytester, tests=broken)
    run(pytester, "--paramform-update").assert_outcomes(failed=1)
    assert (pytester.path / GOLDEN).exists()


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

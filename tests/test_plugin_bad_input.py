"""Bad input inside a test run: one clean failure naming the file, nothing lost on disk."""

from __future__ import annotations

import os
import stat

import pytest

from suites import GOLDEN, run, write_suite

pytest_plugins = ["pytester"]


@pytest.mark.parametrize("update", [[], ["--paramform-update"]], ids=["check", "update"])
def test_a_directory_where_the_golden_should_be_is_a_clear_failure(
    pytester: pytest.Pytester, update: list[str]
) -> None:
    write_suite(pytester)
    (pytester.path / GOLDEN).mkdir(parents=True)
    result = run(pytester, *update)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"paramform: *{GOLDEN}: is a directory*"])
    assert "Traceback" not in result.stdout.str()
    assert (pytester.path / GOLDEN).is_dir()


def test_goldens_follow_the_umask_and_an_update_keeps_their_mode(
    pytester: pytest.Pytester,
) -> None:
    old = os.umask(0o022)
    try:
        write_suite(pytester)
        run(pytester, "--paramform-update").assert_outcomes(passed=1)
        golden = pytester.path / GOLDEN
        assert stat.S_IMODE(golden.stat().st_mode) == 0o644, "readable by the host user"
        golden.chmod(0o664)
        write_suite(pytester, hidden=5)
        run(pytester, "--paramform-update").assert_outcomes(passed=1)
        assert "shape: [5, 8]" in golden.read_text()
        assert stat.S_IMODE(golden.stat().st_mode) == 0o664
    finally:
        os.umask(old)


@pytest.mark.parametrize(
    "tests",
    [
        "@pytest.mark.paramform(format='json')\n"
        "def test_net(paramform_snapshot):\n    paramform_snapshot(Net)\n",
        "def test_net(paramform_snapshot):\n    paramform_snapshot(Net, level='nope')\n",
        "def test_net(paramform_snapshot):\n    paramform_snapshot(42)\n",
    ],
    ids=["marker", "keyword", "source"],
)
def test_a_setup_or_call_error_is_printed_once(pytester: pytest.Pytester, tests: str) -> None:
    write_suite(pytester, tests=tests)
    result = run(pytester)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = result.stdout.str()
    assert "During handling of the above exception" not in out
    assert sum(line.startswith("paramform: ") for line in result.stdout.lines) == 1


WARNING_SUITE = (
    "def encoder():\n"
    "    # torch warns (in its own module) that dropout on a one-layer LSTM does nothing\n"
    "    return nn.LSTM(4, 4, num_layers=1, dropout=0.5)\n\n"
    "def test_encoder(paramform_snapshot):\n    paramform_snapshot(encoder)\n\n"
    "def test_checkpoint(paramform_snapshot, tmp_path):\n"
    "    torch.save(nn.Linear(3, 2).state_dict(), tmp_path / 'm.pt')\n"
    "    paramform_snapshot(str(tmp_path / 'm.pt'))\n\n"
    "def noisy():\n"
    "    warnings.warn('this factory is deprecated', DeprecationWarning)\n"
    "    return Net()\n\n"
    "def test_noisy(paramform_snapshot):\n    paramform_snapshot(noisy)\n"
)


def test_torch_warnings_do_not_fail_a_check_under_w_error_but_the_users_do(
    pytester: pytest.Pytester,
) -> None:
    write_suite(pytester, tests="import warnings\n\n" + WARNING_SUITE)
    result = run(pytester, "--paramform-update", "-W", "error")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*DeprecationWarning: this factory is deprecated*"])
    run(pytester, "-W", "error", "-k", "not noisy").assert_outcomes(passed=2, deselected=1)


def test_a_golden_kept_as_a_symlink_is_read_but_never_replaced(pytester: pytest.Pytester) -> None:
    write_suite(pytester)
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    golden = pytester.path / GOLDEN
    real = pytester.path / "shared.paramform.yaml"
    golden.rename(real)
    golden.symlink_to(real)
    run(pytester).assert_outcomes(passed=1)
    write_suite(pytester, hidden=5)
    result = run(pytester, "--paramform-update")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"paramform: {GOLDEN}: is a symbolic link; *only regular files"])
    assert golden.is_symlink()

"""Goldens on a checkout that turned every line ending into CRLF (git ``autocrlf``)."""

from __future__ import annotations

import pytest

from suites import GOLDEN, run, write_suite

FORMATS = {"yaml": GOLDEN, "markdown": GOLDEN.with_name("test_net.paramform.md")}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_an_update_leaves_a_crlf_golden_that_matches_untouched(
    pytester: pytest.Pytester, fmt: str
) -> None:
    pytester.makeini(f"[pytest]\nparamform_format = {fmt}\n")
    write_suite(pytester)
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    golden = pytester.path / FORMATS[fmt]
    crlf = golden.read_bytes().replace(b"\n", b"\r\n")
    golden.write_bytes(crlf)
    before = golden.stat().st_mtime_ns, golden.stat().st_ino

    run(pytester).assert_outcomes(passed=1)
    result = run(pytester, "--paramform-update")
    result.assert_outcomes(passed=1)
    assert "refreshed" not in result.stdout.str()
    assert golden.read_bytes() == crlf
    assert (golden.stat().st_mtime_ns, golden.stat().st_ino) == before, "not even rewritten"

    write_suite(pytester, hidden=5)  # a real change is still written, with syrupy's newlines
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    assert b"\r\n" not in golden.read_bytes()
    run(pytester).assert_outcomes(passed=1)

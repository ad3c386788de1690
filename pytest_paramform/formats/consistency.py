"""Checks shared by both golden parsers: stored derived figures must match the rows.

A golden stores figures that follow from its rows (numel, squeezed shape, form, totals,
proportions) so that people can read it; a hand edit that changes one without the other
must fail loudly instead of passing by accident.
"""

from __future__ import annotations

from operator import attrgetter

from pytest_paramform.errors import GoldenError
from pytest_paramform.forward_report import ForwardReport, ModuleOutput
from pytest_paramform.report import SOURCES, Alias, ParamFormReport, ParamRow, Source, form_rank
from pytest_paramform.weight_memory import WeightMemory

# Percentages are stored with 2 decimals; allow their rounding and nothing more.
PERCENT_SLACK = 0.005 + 1e-9


def check_form_name(value: str, *, line: int | None, field: str) -> int:
    """The rank a stored form name stands for, or a GoldenError saying what is allowed."""
    try:
        return form_rank(value)
    except ValueError as exc:
        raise GoldenError(str(exc), line=line, field=field) from None


def check_row(
    row: ParamRow,
    *,
    line: int | None,
    squeezed: tuple[int, ...] | None,
    numel: int | None,
    form: str | None,
) -> None:
    """Compare the stored derived columns of one row with what its shape implies."""
    if squeezed is not None and squeezed != row.squeezed:
        raise GoldenError(
            f"parameter {row.name!r}: squeezed shape {squeezed} does not follow from shape"
            f" {row.shape} (expected {row.squeezed})",
            line=line,
            field="squeezed",
        )
    if numel is not None and numel != row.numel:
        raise GoldenError(
            f"parameter {row.name!r}: number of parameters {numel} does not match shape {row.shape}"
            f" (expected {row.numel})",
            line=line,
            field="numel",
        )
    if form is not None and check_form_name(form, line=line, field="form") != row.rank:
        raise GoldenError(
            f"parameter {row.name!r}: form {form!r} does not match shape {row.shape}"
            f" (expected {row.form!r})",
            line=line,
            field="form",
        )


def check_unique_names(rows: list[ParamRow], lines: list[int | None]) -> None:
    """Parameter names are unique in a model; a repeated one means a corrupt golden."""
    if len(set(map(attrgetter("name"), rows))) == len(rows):
        return
    seen: set[str] = set()
    for row, line in zip(rows, lines, strict=True):
        if row.name in seen:
            raise GoldenError(f"parameter {row.name!r} appears twice", line=line, field="name")
        seen.add(row.name)


def check_aliases(rows: list[ParamRow], aliases: list[Alias], lines: list[int | None]) -> None:
    """A tied name points at a parameter listed in the rows and is not one itself."""
    names = {row.name for row in rows}
    seen: set[str] = set()
    for alias, line in zip(aliases, lines, strict=True):
        if alias.target not in names:
            raise GoldenError(
                f"{alias.name!r} is tied to {alias.target!r}, which is not a parameter row",
                line=line,
                field="target",
            )
        if alias.name in names or alias.name in seen:
            raise GoldenError(
                f"{alias.name!r} is listed twice (as a parameter or an alias)",
                line=line,
                field="name",
            )
        seen.add(alias.name)


def check_total(stored: int, actual: int, *, what: str, line: int | None, field: str) -> None:
    if stored != actual:
        raise GoldenError(
            f"{what} is {stored} but the parameter rows add up to {actual}"
            " (a truncated or hand-edited golden?)",
            line=line,
            field=field,
        )


def check_shares(
    report: ParamFormReport,
    stored: dict[str, float],
    *,
    by: str,
    line: int | None,
    field: str,
) -> None:
    """Stored proportions must name the report's forms, in column order, to 2 decimals."""
    expected = report.layer_shares if by == "layers" else report.parameter_shares
    if list(stored) != list(expected):
        raise GoldenError(
            f"form columns {list(stored)} do not match the rows, expected {list(expected)}",
            line=line,
            field=field,
        )
    for form, value in stored.items():
        if abs(value - expected[form]) > PERCENT_SLACK:
            raise GoldenError(
                f"{form} share of {by} is {value:.2f}% but the rows give {expected[form]:.2f}%",
                line=line,
                field=field,
            )


def check_source(value: object, *, line: int | None, field: str) -> Source:
    for source in SOURCES:
        if value == source:
            return source
    raise GoldenError(
        f"source must be one of {', '.join(SOURCES)}, got {value!r}", line=line, field=field
    )


def check_weights(
    report: ParamFormReport,
    stored: WeightMemory,
    total: int | None,
    *,
    lines: dict[str, int | None],
    field: str,
) -> None:
    """The stored bytes by dtype (``lines``: where each dtype's figures stand, ``""`` the
    total) must be what the rows give; a golden may leave them out (older ones do)."""
    derived = report.weights
    if derived is None:
        raise GoldenError(
            "the weights' bytes are stated but not every parameter row records its dtype",
            line=lines.get(""),
            field=field,
        )
    names = [entry.dtype for entry in derived.dtypes]
    if [entry.dtype for entry in stored.dtypes] != names:
        raise GoldenError(
            f"weights by dtype list {[e.dtype for e in stored.dtypes]} but the rows give "
            f"{names}, in that order",
            line=lines.get(""),
            field=field,
        )
    for mine, theirs in zip(stored.dtypes, derived.dtypes, strict=True):
        if mine != theirs:
            raise GoldenError(
                f"{mine.dtype} weights are {mine.parameters} parameters in {mine.bytes} bytes "
                f"but the rows give {theirs.parameters} in {theirs.bytes} (a hand-edited golden?)",
                line=lines.get(mine.dtype),
                field=field,
            )
    if total != derived.bytes:
        raise GoldenError(
            f"the weights take {total} bytes but the rows give {derived.bytes}",
            line=lines.get(""),
            field=field,
        )


def check_share(forward: ForwardReport, row: ModuleOutput, stored: float, line: int | None) -> None:
    """A module's stored share of the FLOPs must be its FLOPs over the total, 2 decimals."""
    share = forward.share(row)
    if f"{stored:.2f}" != f"{share:.2f}":
        raise GoldenError(
            f"the share of FLOPs of {row.label} is {stored:.2f}% but its FLOPs make "
            f"{share:.2f}% of the total (a hand-edited golden?)",
            line=line,
            field="share",
        )

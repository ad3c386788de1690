"""``paramform``: reports, diffs and checks from the command line, through the same
functions the pytest plugin uses."""

from __future__ import annotations

import argparse
import contextlib
import errno
import io
import os
import re
import shlex
import sys
import traceback
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from pytest_paramform import __version__, formats
from pytest_paramform.budgets import BudgetError, check_budgets
from pytest_paramform.cli.inputs import (
    kind_of,
    load_golden,
    load_pair,
    load_with_model,
)
from pytest_paramform.comparison import CompareOptions, compare, render_drift
from pytest_paramform.comparison.markdown import COLUMNS, cell, figures, render_diff, table
from pytest_paramform.errors import ModelCodeError, ParamFormError, SettingsError
from pytest_paramform.files import relative, write_text
from pytest_paramform.forward_report import DEFAULT_DEPTH, inputs_from_text
from pytest_paramform.gc_pause import gc_paused
from pytest_paramform.options import Group, add_cli_flags, by_name, in_groups
from pytest_paramform.report import ParamFormReport
from pytest_paramform.settings import Settings
from pytest_paramform.sources.hf_loading import as_loaded_by
from pytest_paramform.sources.kinds import FILE_SUFFIXES, reads_checkpoint
from pytest_paramform.sources.specs import FORMS, is_spec

EXIT_DRIFT = 1
EXIT_BAD_INPUT = 2
EXIT_BROKEN_PIPE = 141  # as a process killed by SIGPIPE, what shells expect
SPEC_HELP = f"{FORMS}, a checkpoint ({', '.join(FILE_SUFFIXES)}) or a golden (.yaml, .md)"


DEFAULT_FORMAT = "markdown"  # the seed's document
FORMAT_HELP = "default: the format --output's suffix names (.yaml, .md), else markdown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paramform",
        description="Parameter form reports of PyTorch models, built without weights.",
    )
    parser.add_argument("--version", action="version", version=f"paramform {__version__}")
    _add_traceback_flag(parser, default=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    report = commands.add_parser(
        "report",
        help="print or write the parameter form report of models",
        description="Print or write reports; models are built without weights or downloads.",
    )
    report.add_argument("specs", nargs="+", metavar="SPEC", help=SPEC_HELP)
    add_cli_flags(report, in_groups("golden"), format=None, helps={"format": FORMAT_HELP})
    where = report.add_mutually_exclusive_group()
    where.add_argument("--output", metavar="PATH", type=Path, help="write here (one SPEC)")
    where.add_argument(
        "--output-dir", metavar="DIR", type=Path, help="write one document per SPEC here"
    )
    report.add_argument(
        "--chart",
        metavar="PATH",
        nargs="?",
        const="",
        help="write a pie chart and link it from the Markdown; with --output-dir, PATH may be "
        "left out: DIR/figs/<model>_pie_chart.png",
    )
    report.add_argument("--name", help="the model name in the report (one SPEC)")
    add_cli_flags(report, in_groups("record", "budget", "forward"))
    diff = commands.add_parser(
        "diff",
        help="the semantic diff of two models, checkpoints or goldens (exit 1 on drift)",
        description="Print what changed from A to B, tensor by tensor, with the totals and "
        "form shares. Exit 0 when nothing drifted, 1 on drift, 2 on bad input.",
    )
    diff.add_argument("expected", metavar="A", help=SPEC_HELP)
    diff.add_argument("actual", metavar="B", help=SPEC_HELP)
    add_cli_flags(diff, in_groups("compare", "record", "forward"))
    _no_fold_flag(diff)
    diff.add_argument(
        "--format",
        choices=("text", "markdown"),
        default="text",
        help="markdown: a block to paste into a pull request comment (default: text)",
    )
    check = commands.add_parser(
        "check",
        help="check a model or checkpoint against a golden file (exit 1 on drift)",
        description="Check SPEC against a golden written by paramform report (or by the "
        "pytest plugin), for CI jobs that do not run pytest. Exit 0 when it matches, 1 on "
        "drift (with the command that accepts it), 2 on bad input.",
    )
    check.add_argument("spec", metavar="SPEC", help=SPEC_HELP)
    check.add_argument("golden", metavar="GOLDEN", help="a .yaml or .md golden")
    add_cli_flags(check, in_groups("compare", "record", "budget", "forward"))
    _no_fold_flag(check)
    for command in (report, diff, check):
        _add_traceback_flag(command, default=argparse.SUPPRESS)
    return parser


def _no_fold_flag(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--no-fold",
        dest="fold",
        action="store_false",
        help="list every tensor on its own line, none left out (default: the same change "
        "in repeated blocks is one line, whole blocks and renames are said once)",
    )


def _add_traceback_flag(parser: argparse.ArgumentParser, default: object) -> None:
    """``-v``/``--traceback`` before or after the command (a command's default is
    SUPPRESS, so that it does not overwrite a flag given before the command)."""
    parser.add_argument(
        "-v",
        "--verbose",
        "--traceback",
        dest="traceback",
        action="store_true",
        default=default,
        help="on an error, print the traceback too (where the model's own code raised)",
    )


def _safe_name(name: str) -> str:
    """A file name for a report, whatever characters the model name holds."""
    cleaned = re.sub(r"[^\w.-]+", "_", name).strip("._")
    return cleaned or "model"


def _render(report: ParamFormReport, fmt: str, chart: str | None) -> str:
    return formats.render(report, fmt, chart=chart)


def _chart(report: ParamFormReport, path: Path) -> None:
    from pytest_paramform.chart import render_chart

    render_chart(report, path)


def _named(report: ParamFormReport, name: str | None) -> ParamFormReport:
    return replace(report, name=name) if name else report


def _output_format(fmt: str | None, output: Path | None) -> str:
    """``--format``, else the format ``--output``'s suffix names, else Markdown; an explicit
    ``--format`` that the suffix contradicts, or a suffix of no format without
    ``--format`` (``out.json``), is an error, not a mislabelled file."""
    named = formats.for_file(output.name) if output is not None else None
    if fmt is None and output is not None and named is None:
        suffixes = ", ".join(s for f in formats.names() for s in formats.get(f).file_suffixes)
        raise ParamFormError(
            f"--output {output}: the suffix names no format ({suffixes}); name the file "
            "for its format or give --format"
        )
    if fmt is None:
        return named.name if named is not None else DEFAULT_FORMAT
    if named is not None and named.name != fmt:
        raise ParamFormError(
            f"--format {fmt} does not match --output {output}, a {named.name} file name; "
            f"drop --format or name the file *{formats.get(fmt).file_suffixes[0]}"
        )
    return fmt


def _loaded(spec: str, args: argparse.Namespace) -> ParamFormReport:
    """The report ``report`` writes for one spec, recorded as its flags ask."""
    return load_with_model(spec, **_recorded(args))[0]


def _write_one(args: argparse.Namespace) -> None:
    if args.chart == "":
        raise ParamFormError("--chart needs a PATH unless --output-dir is given")
    fmt = _output_format(args.format, args.output)
    loaded = _loaded(args.specs[0], args)
    report = _named(loaded, args.name)
    _within_budget(report, args)
    link = None
    if args.chart is not None:
        chart = Path(args.chart)
        _chart(report, chart)
        base = args.output.parent if args.output is not None else Path.cwd()
        link = Path(relative(chart.resolve(), base.resolve())).as_posix()
    text = _render(report, fmt, link)
    if args.output is None:
        _write_stdout(text)
    else:
        write_text(args.output, text)


def _write_many(args: argparse.Namespace) -> None:
    """One document per spec; every report is built and named before the first is
    written, so two specs with one name write nothing."""
    if args.chart:
        raise ParamFormError("with --output-dir, --chart takes no PATH: DIR/figs/ holds them")
    fmt = args.format or DEFAULT_FORMAT
    suffix = formats.get(fmt).file_suffixes[0]
    out: Path = args.output_dir
    reports: dict[str, tuple[str, ParamFormReport]] = {}
    for spec in args.specs:
        loaded = _loaded(spec, args)
        report = _named(loaded, args.name)
        _within_budget(report, args)
        stem = _safe_name(report.name)
        if stem in reports:
            raise ParamFormError(
                f"{reports[stem][0]} and {spec} are both named {report.name!r}, so both would "
                f"write {out / (stem + suffix)}; nothing was written; report them separately "
                "with --name"
            )
        reports[stem] = (spec, report)
    for stem, (_, report) in reports.items():
        link = None
        if args.chart is not None:
            link = f"figs/{stem}_pie_chart.png"
            _chart(report, out / link)
        write_text(out / f"{stem}{suffix}", _render(report, fmt, link))
        print(out / f"{stem}{suffix}")


def _recorded(args: argparse.Namespace, **overrides: Any) -> dict[str, Any]:
    """The flags of the ``record`` and ``forward`` groups, as the sources' keywords (with
    ``overrides``); ``--input`` (repeated) is read from its text, and ``--depth`` needs it."""
    flags = {name: getattr(args, name) for name in in_groups("record", "forward")}
    if flags["inputs"] is None and flags["depth"] != DEFAULT_DEPTH:
        raise SettingsError("--depth needs --input: it is how deep a forward pass records")
    if flags["inputs"] is not None:
        flags["inputs"] = inputs_from_text(flags["inputs"], "--input")
    return {**flags, **overrides}


def _within_budget(report: ParamFormReport, args: argparse.Namespace) -> None:
    """A model over its budget is never written nor checked (exit 1, like a drift)."""
    check_budgets(report, **_given(args, "budget").group("budget"))


def _report(args: argparse.Namespace) -> int:
    several = len(args.specs) > 1
    if several and args.output_dir is None:
        raise ParamFormError("several SPECs need --output-dir DIR (one document each)")
    if args.name and several:
        raise ParamFormError("--name applies to one SPEC")
    if args.output_dir is not None:
        _write_many(args)
    else:
        _write_one(args)
    return 0


def _options(args: argparse.Namespace) -> CompareOptions:
    """The comparison flags, checked as ``CompareOptions`` checks them: a bad value reads
    as it always has (``tolerance must be a finite number >= 0 (percentage points), got
    -1.0``), not as an ini option does."""
    return CompareOptions(**{name: getattr(args, name) for name in in_groups("compare")})


def _given(args: argparse.Namespace, group: Group) -> Settings:
    """The flags of one option group, checked by their rows as an ini value would be."""
    flags = {name: getattr(args, name) for name in in_groups(group)}
    return Settings().updated(flags, source="command line")


def _buffers(args: argparse.Namespace, kinds: set[str]) -> bool:
    """A model set against a checkpoint records buffers, as its state_dict does."""
    return bool(args.buffers) or kinds == {"model", "checkpoint"}


def _pair(expected: str, actual: str, args: argparse.Namespace) -> tuple[ParamFormReport, ...]:
    """Both sides; a model set against a checkpoint records buffers, as a state_dict does."""
    buffers = _buffers(args, {kind_of(expected), kind_of(actual)})
    return load_pair(expected, actual, **_recorded(args, buffers=buffers))


def _verdict(
    expected: ParamFormReport,
    actual: ParamFormReport,
    options: CompareOptions,
    *,
    label: str,
    accept: str | None,
    markdown: bool = False,
    fold: bool = True,
) -> int:
    drifts = compare(expected, actual, options)
    if not drifts:
        match = f"paramform: {actual.name} matches {label}"
        print(_match_markdown(actual, label) if markdown else match)
        return 0
    message = render_drift(
        drifts,
        model=actual.name,
        golden=label,
        accept=accept,
        fold=fold,
        limit=40 if fold else None,
        expected=expected,
        actual=actual,
    )
    if markdown:
        message = render_diff(expected, actual, label=label, message=message).rstrip("\n")
    print(message)
    return EXIT_DRIFT


def _match_markdown(actual: ParamFormReport, label: str) -> str:
    """The no-drift answer as the Markdown block a drift would be: heading and figures."""
    heading = f"### paramform: {cell(actual.name)} matches {cell(label)}\n"
    rows = [[cell(text) for text in figures(None, actual)]]
    return "\n".join([heading, table(COLUMNS, rows)]).rstrip("\n")


def _diff(args: argparse.Namespace) -> int:
    options = _options(args)
    expected, actual = _pair(args.expected, args.actual, args)
    markdown = args.format == "markdown"
    return _verdict(
        expected,
        actual,
        options,
        label=args.expected,
        accept=None,
        markdown=markdown,
        fold=args.fold,
    )


def _check(args: argparse.Namespace) -> int:
    options = _options(args)
    _check_argument_order(args.spec, args.golden)
    golden = Path(args.golden)
    fmt = (formats.for_file(golden.name) or formats.get("yaml")).name
    create = _accept_command(args, fmt)
    if not golden.is_file():
        raise ParamFormError(f"no golden at {golden}; create it with: {create}")
    # A checkpoint runs no user code: the collector stays paused from the golden to the
    # verdict, rather than waking between them to scan the golden's rows (0.15 s at 90,000).
    reading = kind_of(args.spec) == "checkpoint"
    with gc_paused() if reading else contextlib.nullcontext():
        expected = load_golden(golden)
        buffers = _buffers(args, {expected.source, kind_of(args.spec)})
        actual, model = load_with_model(args.spec, **_recorded(args, buffers=buffers))
        expected = as_loaded_by(expected, model)
        _within_budget(actual, args)
        return _verdict(
            expected, actual, options, label=str(golden), accept=create, fold=args.fold
        )


def _check_argument_order(spec: str, golden: str) -> None:
    """GOLDEN must be a golden file: a spec or a checkpoint there is a mistake, most often
    SPEC and GOLDEN swapped; never answer it with a command that would write over it or
    write a file named like a spec."""
    what = "a model spec" if is_spec(golden) else "a checkpoint" if reads_checkpoint(golden) else ""
    if not what:
        return
    if kind_of(spec) == "golden":
        raise ParamFormError(
            f"the arguments look swapped: {spec} is a golden and {golden} {what}; "
            f"SPEC comes first: paramform check {shlex.join([golden, spec])}"
        )
    named = f"; a golden file of that name is written ./{golden}" if is_spec(golden) else ""
    raise ParamFormError(
        f"GOLDEN {golden} is {what}, not a golden file (a .yaml or .md file); compare two "
        f"models with: paramform diff {shlex.join([spec, golden])}{named}"
    )


def _accept_command(args: argparse.Namespace, fmt: str) -> str:
    """The report command that writes the golden this check would pass against: the
    check's spec with every flag that changes what is recorded."""
    rows, recorded = by_name(), []
    for name in in_groups("record", "forward"):
        option, value = rows[name], getattr(args, name)
        forward_only = option.group == "forward" and name != "inputs" and not args.inputs
        if value is not None and value != option.default and not forward_only:
            recorded += option.cli_words(value)
    command = ["paramform", "report", args.spec, *recorded, "--format", fmt]
    return shlex.join([*command, "--output", args.golden])


COMMANDS = {"report": _report, "diff": _diff, "check": _check}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if sys.stdout is None:
            raise ParamFormError("standard output is closed")
        with _importable_from_cwd(), _notes():
            code = COMMANDS[args.command](args)
        sys.stdout.flush()
        return code
    except BudgetError as exc:
        print(f"paramform: {exc}", file=sys.stderr)
        return EXIT_DRIFT
    except ParamFormError as exc:
        _print_error(exc, args.traceback)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # `paramform diff ... | head -1`: the reader has what it wants
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:  # an unwritable --output or a full stdout: bad input, not drift
        if exc.filename is None:
            _silence_stdout()
        where = exc.filename or "standard output"
        print(f"paramform: error: {where}: {exc.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _print_error(exc: ParamFormError, show_traceback: bool) -> None:
    """One line; the traceback (of the model's code, when it raised) on request only."""
    if show_traceback:
        cause = exc.__cause__ if isinstance(exc, ModelCodeError) else None
        traceback.print_exception(cause or exc)
    hint = " (--traceback shows where)" if isinstance(exc, ModelCodeError) else ""
    hint = "" if show_traceback else hint
    print(f"paramform: error: {exc}{hint}", file=sys.stderr)


def _write_stdout(text: str) -> None:
    """All of ``text`` on stdout, or the error writing it raised. With
    ``PYTHONUNBUFFERED`` (common in containers) ``sys.stdout`` writes straight to the file
    and ignores a short write: a pipe whose reader left part way through a large document
    (``| head -1``) would end in exit 0, the rest of the text dropped unseen. Written to
    the bytes below it in a loop instead, the next write meets the closed pipe."""
    stream = sys.stdout
    raw = getattr(stream, "buffer", None)
    # Buffered, it writes everything; replaced (capsys), it is no file; on Windows the
    # stream turns "\n" into "\r\n", which the bytes below it would not.
    if not isinstance(raw, io.RawIOBase) or os.linesep != "\n":
        stream.write(text)
        return
    stream.flush()
    rest = memoryview(text.encode(stream.encoding, stream.errors or "strict"))
    while rest:
        written = raw.write(rest)
        if not written:  # a non-blocking stdout that takes nothing now
            raise BlockingIOError(errno.EAGAIN, "writing would block")
        rest = rest[written:]


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's own flush at exit has nowhere to fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


@contextmanager
def _notes() -> Iterator[None]:
    """What paramform warns about (code shipped beside a config that was not run) as
    ``paramform: note:`` lines on stderr; any other warning as Python shows it."""
    from pytest_paramform.sources.hf_configs import ShippedCodeIgnored

    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ShippedCodeIgnored)
            yield
    finally:  # shown once the recording has stopped
        for warning in caught:
            if issubclass(warning.category, ShippedCodeIgnored):
                print(f"paramform: note: {warning.message}", file=sys.stderr)
            else:
                warnings.showwarning(
                    warning.message, warning.category, warning.filename, warning.lineno
                )


@contextmanager
def _importable_from_cwd() -> Iterator[None]:
    """``package.module:callable`` specs import from the current folder, as they do under
    ``python -m pytest_paramform`` (which puts it first on ``sys.path``); the console
    script's ``sys.path`` starts at its own bin folder instead."""
    try:
        here = os.getcwd()
    except OSError:  # the folder was removed under us: nothing to import from it
        here = ""
    if not here or sys.path[:1] in ([""], [here]):
        yield
        return
    sys.path.insert(0, here)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(here)

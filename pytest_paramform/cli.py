"""``paramform``: the report and goldens from the command line, through the same functions."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pytest_paramform.errors import ParamFormError
from pytest_paramform.golden_io import write_text
from pytest_paramform.sources import build_report
from pytest_paramform.specs import FORMS, resolve

EXIT_BAD_INPUT = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paramform",
        description="Parameter form reports of PyTorch models, built without weights.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    report = commands.add_parser(
        "report",
        help="print the parameter form report of a model",
        description="Print the report of a model, built without weights or downloads.",
    )
    report.add_argument("spec", metavar="SPEC", help=f"the model: {FORMS}")
    report.add_argument(
        "--format", choices=("markdown", "yaml"), default="markdown", help="default: markdown"
    )
    report.add_argument("--output", metavar="PATH", type=Path, help="write here instead of stdout")
    report.add_argument("--name", help="the model name in the report (default: from SPEC)")
    return parser


def _report(args: argparse.Namespace) -> None:
    source, default_name = resolve(args.spec)
    report = build_report(source, name=args.name or default_name)
    text = report.to_markdown() if args.format == "markdown" else report.to_yaml()
    if args.output is None:
        sys.stdout.write(text)
    else:
        write_text(args.output, text)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        _report(args)
    except ParamFormError as exc:
        print(f"paramform: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0

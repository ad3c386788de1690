"""How a check is configured, declared once (light to import: the plugin reads it at
every pytest start; ``settings.Settings`` holds a check's resolved values).

Each option is one row of ``OPTIONS`` (name, kind, default, help, group, allowed values),
and the rows drive everything: the ini options (``paramform_<name>``), the
``@pytest.mark.paramform`` marker text, the fixture's keywords, the CLI flags
(``--<name>``, chosen per command by group, handed on by group), ``Settings`` (a group's
values as keywords for the code that uses them) and the one validator (``Option.parse``,
over ``values``). A new option is one row, its line in :class:`CheckOptions` (the
keyword's type, for editors; a test holds the two together), plus the code that uses its
value. Values apply in order: ini options, then the marker, then the call's keywords.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from pytest_paramform import formats, values
from pytest_paramform.comparison.strictness import LEVELS
from pytest_paramform.errors import SettingsError
from pytest_paramform.forward_report import DEFAULT_DEPTH, INPUT_HELP, InputSpec, parse_inputs

Kind = Literal["choice", "number", "flag", "count", "inputs"]
# What an option is about; each CLI command takes the groups that make sense for it.
Group = Literal["golden", "compare", "record", "budget", "forward"]
Value = str | float | bool | int | InputSpec


@dataclass(frozen=True)
class Option:
    name: str
    kind: Kind
    default: str | float | bool | None
    help: str
    group: Group
    # Read when asked: the golden formats are an open registry.
    choices: Callable[[], tuple[str, ...]] | None = None

    @property
    def ini_name(self) -> str:
        return f"paramform_{self.name}"

    @property
    def flag(self) -> str:
        """The command-line flag; ``--input`` is given once per tensor, so it is singular."""
        return "--input" if self.kind == "inputs" else f"--{self.name.replace('_', '-')}"

    def cli_words(self, value: object) -> list[str]:
        """The command-line words that give ``value`` (as the flag's parser received it:
        ``--input``'s tokens as typed)."""
        if self.kind == "flag":
            return [self.flag] if value else []
        if self.kind == "inputs":
            tokens = value if isinstance(value, list | tuple) else ()
            return [f"{self.flag}={token}" for token in tokens]
        return [f"{self.flag}={value}"]

    def parse(self, raw: object, source: str) -> Value:
        """The value ``raw`` stands for (a keyword's value or an ini string), or an error
        that names ``source`` and the option and says what is allowed."""
        if self.kind == "flag":
            return values.flag(raw, self.name, source)
        if self.kind == "number":
            return values.number(raw, self.name, source)
        if self.kind == "count":
            return values.count(raw, self.name, source)
        if self.kind == "inputs":
            return parse_inputs(raw, source)
        return values.one_of(raw, self.choices() if self.choices else (), self.name, source)


OPTIONS: tuple[Option, ...] = (
    Option("format", "choice", "yaml", "golden format", "golden", formats.names),
    Option(
        "level",
        "choice",
        "layers",
        "what must match: layers (exact) or summary (totals and form shares)",
        "compare",
        lambda: LEVELS,
    ),
    Option(
        "tolerance",
        "number",
        0.0,
        "summary level: percentage points a form share may move",
        "compare",
    ),
    Option(
        "rel_tolerance",
        "number",
        0.0,
        "summary level: relative change of the parameter total",
        "compare",
    ),
    Option(
        "buffers", "flag", False, "record buffers (BatchNorm statistics and the like)", "record"
    ),
    Option("dtype", "flag", False, "record each tensor's dtype", "record"),
    Option(
        "max_parameters",
        "count",
        None,
        "budget: fail when the model has more parameters",
        "budget",
    ),
    Option(
        "max_flops", "count", None, "budget: fail when a forward pass computes more FLOPs", "budget"
    ),
    Option(
        "inputs",
        "inputs",
        None,
        f"record one forward pass on meta with inputs {INPUT_HELP}",
        "forward",
    ),
    Option(
        "depth",
        "count",
        DEFAULT_DEPTH,
        "forward pass: how deep module outputs are recorded",
        "forward",
    ),
)


class CheckOptions(TypedDict, total=False):
    """The rows as ``paramform_snapshot(...)``'s keywords, in table order; None (or no
    keyword) leaves an option as the ini options and the marker set it."""

    format: str | None
    level: str | None
    tolerance: float | None
    rel_tolerance: float | None
    buffers: bool | None
    dtype: bool | None
    max_parameters: int | None
    max_flops: int | None
    inputs: Any
    depth: int | None


def by_name() -> dict[str, Option]:
    """The rows by name (read when asked, so a row added in a test is seen everywhere)."""
    return {option.name: option for option in OPTIONS}


def in_groups(*groups: Group) -> tuple[str, ...]:
    """The names of the options in ``groups``, in table order."""
    return tuple(option.name for option in OPTIONS if option.group in groups)


def ini_help(option: Option) -> str:
    allowed = f": {', '.join(option.choices())}" if option.choices else ""
    default = option.default
    default = str(default).lower() if option.kind == "flag" or default is None else default
    return f"{option.help}{allowed} (default {default})"


def keyword_help(text: str | None) -> str | None:
    """``text`` (a docstring, None under ``python -OO``) with the line ``{keywords}``
    replaced by every option as a keyword, with its allowed values, wrapped at its indent."""
    if text is None:
        return None
    keywords = ", ".join(
        f"{o.name} ({', '.join(o.choices())})" if o.choices else o.name for o in OPTIONS
    )
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.strip() == "{keywords}":
            indent = line[: len(line) - len(line.lstrip())]
            lines[index] = textwrap.fill(
                f"{keywords}.", width=88, initial_indent=indent, subsequent_indent=indent
            )
    return "\n".join(lines)


def marker_line() -> str:
    """The marker's ``--markers`` line: every option as a keyword."""
    keywords = ", ".join(f"{option.name}=None" for option in OPTIONS)
    return f"paramform({keywords}): paramform_snapshot settings for this test"


def add_cli_flags(
    parser: argparse.ArgumentParser,
    names: tuple[str, ...],
    *,
    helps: dict[str, str] | None = None,
    **defaults: object,
) -> None:
    """The options ``names`` as command-line flags; ``defaults`` override the table's
    (None: the command decides, and ``helps`` says how)."""
    rows = by_name()
    for name in names:
        option = rows[name]
        default = defaults.get(name, option.default)
        if option.kind == "flag":
            parser.add_argument(option.flag, action="store_true", help=option.help)
        elif option.kind == "number":
            parser.add_argument(option.flag, type=float, default=default, help=option.help)
        elif option.kind == "inputs":
            parser.add_argument(
                option.flag,
                dest=option.name,
                action="append",
                metavar="[NAME:]SHAPE[:DTYPE]",
                help=f"{option.help} (repeat for several)",
            )
        elif option.kind == "count":
            parser.add_argument(
                option.flag, type=_count_flag(option.name), default=default, help=option.help
            )
        else:
            choices = option.choices() if option.choices else ()
            text = (helps or {}).get(name, f"default: {default}")
            parser.add_argument(option.flag, choices=choices, default=default, help=text)


def _count_flag(key: str) -> Callable[[str], int]:
    """An argparse ``type`` for a count flag: its error names the flag's value."""

    def parse(text: str) -> int:
        try:
            return values.count(text, key, "command line")
        except SettingsError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse

"""How a check is configured, declared once (light to import: the plugin reads it at
every pytest start; ``settings.Settings`` holds a check's resolved values).

Each option is one row of ``OPTIONS`` (name, kind, default, help, allowed values). The ini
options (``paramform_<name>``), the ``@pytest.mark.paramform`` marker text, the CLI flags
(``--<name>``) and the validation are all derived from the rows; the fixture keeps an
explicit keyword signature for editors, and a test holds it to the table. Values apply in
order: ini options, then the marker, then the call's keywords.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pytest_paramform import formats
from pytest_paramform.errors import SettingsError
from pytest_paramform.forward_report import DEFAULT_DEPTH, INPUT_HELP, InputSpec, parse_inputs

Kind = Literal["choice", "number", "flag", "count", "inputs"]
Value = str | float | bool | int | InputSpec
Level = Literal["layers", "summary"]
LEVELS: tuple[Level, ...] = ("layers", "summary")
_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


@dataclass(frozen=True)
class Option:
    name: str
    kind: Kind
    default: str | float | bool | None
    help: str
    # Read when asked: the golden formats are an open registry.
    choices: Callable[[], tuple[str, ...]] | None = None

    @property
    def ini_name(self) -> str:
        return f"paramform_{self.name}"

    @property
    def flag(self) -> str:
        return f"--{self.name.replace('_', '-')}"

    def parse(self, raw: object, source: str) -> Value:
        """The value ``raw`` stands for (a keyword's value or an ini string), or an error
        that names ``source`` and the option and says what is allowed."""
        if self.kind == "flag":
            return _flag(raw, self.name, source)
        if self.kind == "number":
            return _number(raw, self.name, source)
        if self.kind == "count":
            return count(raw, self.name, source)
        if self.kind == "inputs":
            return parse_inputs(raw, source)
        allowed = self.choices() if self.choices else ()
        if raw not in allowed:
            raise SettingsError(
                f"{source}: {self.name} must be one of {', '.join(allowed)}, got {raw!r}"
            )
        return str(raw)


OPTIONS: tuple[Option, ...] = (
    Option("format", "choice", "yaml", "golden format", formats.names),
    Option(
        "level",
        "choice",
        "layers",
        "what must match: layers (exact) or summary (totals and form shares)",
        lambda: LEVELS,
    ),
    Option("tolerance", "number", 0.0, "summary level: percentage points a form share may move"),
    Option("rel_tolerance", "number", 0.0, "summary level: relative change of the parameter total"),
    Option("buffers", "flag", False, "record buffers (BatchNorm statistics and the like)"),
    Option("dtype", "flag", False, "record each tensor's dtype"),
    Option("max_parameters", "count", None, "budget: fail when the model has more parameters"),
    Option("max_flops", "count", None, "budget: fail when a forward pass computes more FLOPs"),
    Option("inputs", "inputs", None, f"record one forward pass on meta with inputs {INPUT_HELP}"),
    Option("depth", "count", DEFAULT_DEPTH, "forward pass: how deep module outputs are recorded"),
)
BY_NAME = {option.name: option for option in OPTIONS}


def ini_help(option: Option) -> str:
    allowed = f": {', '.join(option.choices())}" if option.choices else ""
    default = option.default
    default = str(default).lower() if option.kind == "flag" or default is None else default
    return f"{option.help}{allowed} (default {default})"


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
    for name in names:
        option = BY_NAME[name]
        default = defaults.get(name, option.default)
        if option.kind == "flag":
            parser.add_argument(option.flag, action="store_true", help=option.help)
        elif option.kind == "number":
            parser.add_argument(option.flag, type=float, default=default, help=option.help)
        elif option.kind == "inputs":
            parser.add_argument(
                "--input",
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


def _flag(raw: object, key: str, source: str) -> bool:
    """A boolean from a keyword (True/False) or an ini string (true/false, yes/no, 1/0)."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE + _FALSE:
        return text in _TRUE
    raise SettingsError(f"{source}: {key} must be true or false, got {raw!r}")


def _number(raw: object, key: str, source: str) -> float:
    try:
        if isinstance(raw, bool):
            raise ValueError
        number = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SettingsError(f"{source}: {key} must be a number, got {raw!r}") from None
    if not math.isfinite(number) or number < 0:
        raise SettingsError(f"{source}: {key} must be a finite number >= 0, got {raw!r}")
    return number


def count(raw: object, key: str, source: str) -> int:
    """A whole number >= 0 from a keyword (``20_000_000``, ``2e7``) or an ini string
    (``20_000_000``, ``20,000,000``, ``2e7``): budgets are written the way people read them."""
    value: object = raw
    if isinstance(raw, str):
        text = raw.strip().replace(",", "").replace("_", "")
        try:
            value = int(text) if text.isdigit() else float(text)
        except ValueError:
            value = None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SettingsError(f"{source}: {key} must be a whole number >= 0, got {raw!r}")
    return value


def _count_flag(key: str) -> Callable[[str], int]:
    """An argparse ``type`` for a count flag: its error names the flag's value."""

    def parse(text: str) -> int:
        try:
            return count(text, key, "command line")
        except SettingsError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse

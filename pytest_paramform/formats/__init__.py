"""Golden formats: one registry that every other place derives from.

A format is a name (``yaml``), the suffix of its goldens (``.paramform.yaml``), the file
suffixes the CLI reads as that format, and a render/parse pair that round-trips a report
exactly. The syrupy extensions, the ``format`` option's allowed values, the CLI's
``--format`` choices and its suffix detection, and ``render``/``parse`` (with their short
forms ``to_yaml``, ``from_yaml``, ``to_markdown``, ``from_markdown``, also importable from
``pytest_paramform``) all ask this registry. The report is pure data: it is rendered here,
never by itself. Adding a format is one module with a ``GoldenFormat`` subclass and one
``register`` call (see ``tests/test_formats_registry.py``).

The built-in formats import their implementation on first use, so reading the registry
(as the plugin does at every pytest start) costs nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

from pytest_paramform.errors import SettingsError

if TYPE_CHECKING:
    from pytest_paramform.report import ParamFormReport

GOLDEN_STEM = ".paramform"


class GoldenFormat(ABC):
    """The seam for a golden format; subclasses set the names and implement both ways."""

    name: ClassVar[str]
    # What the CLI reads as this format, lower case: (".yaml", ".yml").
    file_suffixes: ClassVar[tuple[str, ...]]

    @property
    def golden_suffix(self) -> str:
        """``.paramform.yaml``: how syrupy names the goldens of this format."""
        return f"{GOLDEN_STEM}{self.file_suffixes[0]}"

    @abstractmethod
    def render(self, report: ParamFormReport, *, chart: str | None = None) -> str:
        """The document; ``chart`` links a chart image where the format can show one."""

    @abstractmethod
    def parse(self, text: str, *, path: str | None = None) -> ParamFormReport:
        """The report the document holds; a ``GoldenError`` naming ``path`` and the line
        when it holds none, or one whose figures disagree with its rows."""


class YamlFormat(GoldenFormat):
    name = "yaml"
    file_suffixes = (".yaml", ".yml")

    def render(self, report: ParamFormReport, *, chart: str | None = None) -> str:
        from pytest_paramform.formats.yaml_format import render_yaml

        return render_yaml(report)

    def parse(self, text: str, *, path: str | None = None) -> ParamFormReport:
        from pytest_paramform.formats.yaml_format import parse_yaml

        return parse_yaml(text, path=path)


class MarkdownFormat(GoldenFormat):
    name = "markdown"
    file_suffixes = (".md",)

    def render(self, report: ParamFormReport, *, chart: str | None = None) -> str:
        from pytest_paramform.formats.markdown_format import render_markdown

        return render_markdown(report, chart=chart)

    def parse(self, text: str, *, path: str | None = None) -> ParamFormReport:
        from pytest_paramform.formats.markdown_format import parse_markdown

        return parse_markdown(text, path=path)


_REGISTRY: dict[str, GoldenFormat] = {}


def register(fmt: GoldenFormat) -> GoldenFormat:
    """Make ``fmt`` known everywhere: option values, CLI choices, suffixes, extensions."""
    clash = [f.name for f in _REGISTRY.values() if set(f.file_suffixes) & set(fmt.file_suffixes)]
    if clash and clash != [fmt.name]:
        raise ValueError(f"format {fmt.name!r} reuses the file suffixes of {clash[0]!r}")
    _REGISTRY[fmt.name] = fmt
    return fmt


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def get(name: str) -> GoldenFormat:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise SettingsError(f"format must be one of {', '.join(_REGISTRY)}, got {name!r}") from None


def for_file(path: str) -> GoldenFormat | None:
    """The format a file's suffix names, if any (``x.md`` is Markdown)."""
    lower = path.lower()
    return next(
        (f for f in _REGISTRY.values() if lower.endswith(f.file_suffixes)),
        None,
    )


def golden_suffixes() -> tuple[str, ...]:
    return tuple(f.golden_suffix for f in _REGISTRY.values())


def render(report: ParamFormReport, fmt: str, *, chart: str | None = None) -> str:
    """``report`` as a document in a registered golden format (``yaml``, ``markdown``)."""
    return get(fmt).render(report, chart=chart)


def parse(text: str, fmt: str, *, path: str | None = None) -> ParamFormReport:
    """The report a document in a registered format holds; ``path`` names it in errors."""
    return get(fmt).parse(text, path=path)


def to_yaml(report: ParamFormReport) -> str:
    """The YAML golden: exact integers, one line per tensor, in model order."""
    return render(report, "yaml")


def to_markdown(report: ParamFormReport, chart: str | None = None) -> str:
    """The seed's Markdown document; ``chart`` links a pie chart image."""
    return render(report, "markdown", chart=chart)


def from_yaml(text: str, path: str | None = None) -> ParamFormReport:
    """The report a YAML golden holds; ``path`` names the file in errors."""
    return parse(text, "yaml", path=path)


def from_markdown(text: str, path: str | None = None) -> ParamFormReport:
    """The report a Markdown golden holds; ``path`` names the file in errors."""
    return parse(text, "markdown", path=path)


register(YamlFormat())
register(MarkdownFormat())

"""syrupy extensions for paramform goldens: syrupy names, writes and tracks the files,
paramform parses and compares them.

One extension class per registered golden format. The classes are module-level on purpose:
pytest-xdist re-imports them by name (``ParamFormYamlExtension``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from pytest_paramform import formats
from pytest_paramform.comparison import CompareOptions, Drift, compare
from pytest_paramform.errors import GoldenError
from pytest_paramform.files import (
    check_golden_size,
    not_a_regular_file,
    read_text,
    write_text,
)
from pytest_paramform.report import ParamFormReport


def is_golden(path: str) -> bool:
    return path.endswith(formats.golden_suffixes())


@dataclass(frozen=True)
class Check:
    """What the fixture asks of one comparison."""

    options: CompareOptions = field(default_factory=CompareOptions)
    # Only a run that may write needs the actual report's text: checks compare parsed
    # reports, and rendering a zoo's goldens costs a third of a second.
    render: bool = True
    # An update run writes the model as it is: a golden that passes only within a
    # tolerance (or that is laid out otherwise) is rewritten when its text differs.
    refresh: bool = False


@dataclass
class Outcome:
    """What one comparison found; a new one for every assertion."""

    actual: ParamFormReport | None = None
    expected: ParamFormReport | None = None
    drifts: list[Drift] = field(default_factory=list)
    problem: GoldenError | None = None
    refreshed: bool = False  # an update rewrote a golden that matched (within tolerance)


class ParamFormExtension(SingleFileSnapshotExtension):
    """Compares parsed reports, not text. syrupy reads the golden, serializes the report
    and calls matches in turn; the fixture sets ``check`` and a fresh ``outcome`` before
    each assertion and reads the outcome after.

    One instance serves one snapshot assertion, so the state kept here is per test.
    """

    _write_mode = WriteMode.TEXT
    format: ClassVar[str] = ""

    def __init__(self) -> None:
        self.check = Check()
        self.outcome = Outcome()

    def serialize(self, data: Any, **kwargs: Any) -> str:
        if not isinstance(data, ParamFormReport):
            raise TypeError(f"paramform goldens hold a ParamFormReport, got {type(data).__name__}")
        self.outcome.actual = data
        return formats.get(self.format).render(data) if self.check.render else ""

    def matches(self, *, serialized_data: Any, snapshot_data: Any) -> bool:
        outcome = self.outcome
        if outcome.problem is not None:
            return False
        try:
            outcome.expected = formats.get(self.format).parse(str(snapshot_data))
        except GoldenError as exc:
            outcome.problem = exc
            return False
        assert outcome.actual is not None, "serialize() runs before matches()"
        outcome.drifts = compare(outcome.expected, outcome.actual, self.check.options)
        if outcome.drifts:
            return False
        outcome.refreshed = self.check.refresh and serialized_data != snapshot_data
        return not outcome.refreshed

    @classmethod
    def matches_test_location(cls, *, test_location: Any, snapshot_location: str) -> bool:
        """A golden sits at a test's location when it is in the test module's golden folder.

        syrupy asks this about the module only, and relates a golden to a test by name
        separately: a renamed test's golden must still match its module, or a run given a
        path (``pytest tests``) never counts it unused. Comparing folders also relates ids
        such as ``meta-llama/Llama-2-7b``, which lose characters in file names.
        """
        return Path(snapshot_location).parent == Path(cls.dirname(test_location=test_location))

    def read_snapshot_data_from_location(
        self, *, snapshot_location: str, snapshot_name: str, session_id: str
    ) -> str | None:
        """The golden's text, or None when there is none; unreadable files fail in matches()."""
        path = Path(snapshot_location)
        self.outcome.problem = not_a_regular_file(path)
        if self.outcome.problem is not None:
            return ""
        if not path.is_file():
            return None
        try:
            return read_text(path)
        except GoldenError as exc:
            self.outcome.problem = exc
            return ""

    @classmethod
    def write_snapshot_collection(
        cls, *, snapshot_collection: Any, name_order: dict[str, int] | None = None
    ) -> None:
        """Atomic write: an interrupted update leaves the old golden or the new one."""
        data = str(next(iter(snapshot_collection)).data)
        path = Path(snapshot_collection.location)
        check_golden_size(data, path)
        write_text(path, data)


def extension_for(fmt: str) -> type[ParamFormExtension]:
    """The extension class of a registered format, made (module-level) on first use."""
    golden = formats.get(fmt)
    name = f"ParamForm{fmt.title().replace('_', '')}Extension"
    made = globals().get(name)
    if made is None:
        made = type(
            name,
            (ParamFormExtension,),
            {"file_extension": golden.golden_suffix[1:], "format": fmt, "__module__": __name__},
        )
        globals()[name] = made
    assert issubclass(made, ParamFormExtension)
    return made


ParamFormYamlExtension = extension_for("yaml")
ParamFormMarkdownExtension = extension_for("markdown")

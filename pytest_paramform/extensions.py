"""syrupy extensions for paramform goldens: syrupy names, writes and tracks the files,
paramform parses and compares them.

The classes are module-level on purpose: pytest-xdist workers re-import them by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from pytest_paramform.comparison import CompareOptions, compare
from pytest_paramform.deletion import GOLDEN_SUFFIXES, golden_stem, name_key
from pytest_paramform.drift import Drift
from pytest_paramform.errors import GoldenError
from pytest_paramform.golden_io import (
    check_golden_size,
    not_a_regular_file,
    read_text,
    write_text,
)
from pytest_paramform.report import ParamFormReport


def is_golden(path: str) -> bool:
    return path.endswith(GOLDEN_SUFFIXES)


class ParamFormExtension(SingleFileSnapshotExtension):
    """Compares parsed reports, not text; remembers why the last comparison failed.

    One instance serves one snapshot assertion, so the state kept here is per test.
    """

    _write_mode = WriteMode.TEXT
    format: ClassVar[str] = ""

    def __init__(self) -> None:
        self.options = CompareOptions()
        self.actual: ParamFormReport | None = None
        self.expected: ParamFormReport | None = None
        self.drifts: list[Drift] = []
        self.problem: GoldenError | None = None
        # Only a run that may write needs the actual report's text: checks compare
        # parsed reports, and rendering a zoo's goldens costs a third of a second.
        self.render_needed = True

    def render(self, report: ParamFormReport) -> str:
        raise NotImplementedError

    def parse(self, text: str) -> ParamFormReport:
        raise NotImplementedError

    def serialize(self, data: Any, **kwargs: Any) -> str:
        if not isinstance(data, ParamFormReport):
            raise TypeError(f"paramform goldens hold a ParamFormReport, got {type(data).__name__}")
        self.actual = data
        return self.render(data) if self.render_needed else ""

    def matches(self, *, serialized_data: Any, snapshot_data: Any) -> bool:
        self.expected, self.drifts = None, []
        if self.problem is not None:
            return False
        try:
            self.expected = self.parse(str(snapshot_data))
        except GoldenError as exc:
            self.problem = exc
            return False
        assert self.actual is not None, "serialize() runs before matches()"
        self.drifts = compare(self.expected, self.actual, self.options)
        return not self.drifts

    @classmethod
    def matches_test_location(cls, *, test_location: Any, snapshot_location: str) -> bool:
        """A golden belongs to a test when it sits in the test module's folder and names
        the test's function, whatever its parameters: ids such as ``meta-llama/Llama-2-7b``
        lose characters in file names, and syrupy's own check then fails (and warns)."""
        golden = Path(snapshot_location)
        if golden.parent != Path(cls.dirname(test_location=test_location)):
            return False
        return name_key(golden_stem(snapshot_location)) == name_key(test_location.snapshot_name)

    def read_snapshot_data_from_location(
        self, *, snapshot_location: str, snapshot_name: str, session_id: str
    ) -> str | None:
        """The golden's text, or None when there is none; unreadable files fail in matches()."""
        path = Path(snapshot_location)
        self.problem = not_a_regular_file(path)
        if self.problem is not None:
            return ""
        if not path.is_file():
            return None
        try:
            return read_text(path)
        except GoldenError as exc:
            self.problem = exc
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


class ParamFormYamlExtension(ParamFormExtension):
    file_extension = "paramform.yaml"
    format = "yaml"

    def render(self, report: ParamFormReport) -> str:
        return report.to_yaml()

    def parse(self, text: str) -> ParamFormReport:
        return ParamFormReport.from_yaml(text)


class ParamFormMarkdownExtension(ParamFormExtension):
    file_extension = "paramform.md"
    format = "markdown"

    def render(self, report: ParamFormReport) -> str:
        return report.to_markdown()

    def parse(self, text: str) -> ParamFormReport:
        return ParamFormReport.from_markdown(text)


EXTENSIONS: dict[str, type[ParamFormExtension]] = {
    ext.format: ext for ext in (ParamFormYamlExtension, ParamFormMarkdownExtension)
}

"""The one error family users catch: every message names what was wrong and where."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class ParamFormError(Exception):
    """Base of every error pytest-paramform raises on purpose.

    ``path``, ``line`` and ``field`` say where the problem is, when known, so that
    callers (the pytest skin, the CLI) can report it without parsing the message.
    """

    def __init__(
        self,
        problem: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.problem = problem
        self.path = path
        self.line = line
        self.field = field
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
        elif self.line is not None:
            where = f"line {self.line}"
        if self.field is not None:
            where = f"{where} ({self.field})" if where else f"field {self.field}"
        return f"{where}: {self.problem}" if where else self.problem

    def at(self, path: str) -> ParamFormError:
        """Return the same error with the file it came from, once the caller knows it."""
        return type(self)(self.problem, path=path, line=self.line, field=self.field)


class GoldenError(ParamFormError):
    """A golden document is unreadable, not ours, or inconsistent with its own rows."""


class SourceError(ParamFormError):
    """A model source cannot be turned into a report (not a model, lazy, unknown name)."""


class ModelCodeError(SourceError):
    """The model's own code (a factory, a module imported for a spec) raised while the
    model was built: bad input, not a drift. The model's error is the ``__cause__``."""


class DownloadRefused(SourceError):
    """A model build tried to fetch or read pretrained weights, or to go online, and was
    refused at once. ``loader`` names what it called (``torch.hub.load_state_dict_from_url``,
    ``PreTrainedModel.from_pretrained``, ``socket.connect``), so a caller tells the refusal
    from any other error by its type, whatever a library wrapped it in."""

    def __init__(
        self,
        problem: str,
        *,
        loader: str,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.loader = loader
        super().__init__(problem, path=path, line=line, field=field)

    def at(self, path: str) -> DownloadRefused:
        return DownloadRefused(
            self.problem, loader=self.loader, path=path, line=self.line, field=self.field
        )


class SettingsError(ParamFormError, ValueError):
    """An option has a value outside what it accepts (ini, marker or call keyword)."""


class MissingExtraError(ParamFormError):
    """An optional dependency is not installed; the message names the extra to install."""


@contextmanager
def in_file(path: str | None) -> Iterator[None]:
    """Attach ``path`` to any ParamFormError raised inside that does not name a file yet."""
    try:
        yield
    except ParamFormError as exc:
        if path is None or exc.path is not None:
            raise
        raise exc.at(path) from None


def chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the errors it was raised from or while handling, each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        yield current
        seen.add(id(current))
        current = current.__cause__ or current.__context__

"""Reading and writing golden files without ever leaving a torn one behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pytest_paramform.errors import GoldenError


def write_text(path: Path, text: str) -> None:
    """Write atomically: a temporary file in the same folder, then a rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_text(path: Path) -> str:
    """The golden's text; unreadable bytes are a GoldenError naming the file."""
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GoldenError(
            f"not UTF-8 text (byte {exc.start}): not a paramform golden", path=str(path)
        ) from None
    except OSError as exc:
        raise GoldenError(f"cannot read: {exc.strerror}", path=str(path)) from None

"""Reading and writing golden files without ever leaving a torn one behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pytest_paramform.errors import GoldenError


def write_bytes(path: Path, data: bytes) -> None:
    """Write atomically: a temporary file in the same folder, then a rename over ``path``,
    so an interrupted write leaves the old file or the new one, and no temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def relative(path: str | os.PathLike[str], base: str | os.PathLike[str]) -> str:
    """``path`` relative to ``base`` for messages; as it is where that is impossible."""
    try:
        return os.path.relpath(path, base)
    except ValueError:  # another drive on Windows
        return str(path)


# A golden of 100,000 tensors is about 12 MB; anything far larger is not one of ours.
MAX_GOLDEN_BYTES = 64 * 1024 * 1024


def read_text(path: Path) -> str:
    """The golden's text; unreadable, oversized or non-UTF-8 files are a GoldenError."""
    try:
        size = path.stat().st_size
        if size > MAX_GOLDEN_BYTES:
            raise GoldenError(
                f"{size:,} bytes is too large for a paramform golden"
                f" (limit {MAX_GOLDEN_BYTES:,}); not a paramform golden",
                path=str(path),
            )
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GoldenError(
            f"not UTF-8 text (byte {exc.start}): not a paramform golden", path=str(path)
        ) from None
    except OSError as exc:
        raise GoldenError(f"cannot read: {exc.strerror}", path=str(path)) from None

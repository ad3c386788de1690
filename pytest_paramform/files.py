"""Reading and writing golden files without ever leaving a torn one behind."""

from __future__ import annotations

import os
import stat
import tempfile
import time
from pathlib import Path

from pytest_paramform.errors import GoldenError


def write_bytes(path: Path, data: bytes) -> None:
    """Write atomically: a temporary file in the same folder, then a rename over ``path``,
    so an interrupted write leaves the old file or the new one, and no temporary file.

    The file gets the mode the one it replaces had, or what the user's umask gives a new
    file (a temporary file alone would be 0600). Only a regular file is ever replaced.
    """
    mode = _mode_for(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path.parent)
    # The name is cut so that the temporary file fits where a 255-character golden does.
    prefix = f".{path.name[:80]}.{_TMP_TAG}{os.getpid()}-"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:  # a full disk, an I/O error: say which file
        Path(tmp).unlink(missing_ok=True)
        raise GoldenError(f"cannot write: {exc.strerror or exc}", path=str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_TMP_TAG = "paramform-tmp-"


def _mode_for(path: Path) -> int:
    """The mode to give ``path``; an error when ``path`` is anything but a regular file."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return 0o666 & ~_umask()
    except OSError as exc:
        raise GoldenError(f"cannot write: {exc.strerror}", path=str(path)) from None
    if stat.S_ISREG(info.st_mode):
        return stat.S_IMODE(info.st_mode)
    raise GoldenError(_not_regular(info.st_mode), path=str(path))


def not_a_regular_file(path: Path) -> GoldenError | None:
    """Why ``path`` cannot be read as a golden, if something other than a regular file (or
    a symlink to one) is there."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    if stat.S_ISREG(info.st_mode):
        return None
    kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
    return GoldenError(f"is {kind}, not a golden file", path=str(path))


def _not_regular(st_mode: int) -> str:
    kind = _KINDS.get(stat.S_IFMT(st_mode), "not a regular file")
    return f"is {kind}; paramform replaces only regular files"


_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFSOCK: "a socket",
}


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


_SWEPT: set[Path] = set()


def _remove_stale_temporaries(folder: Path) -> None:
    """Temporary files of writers that no longer run (a killed update), once per folder."""
    if folder in _SWEPT:
        return
    _SWEPT.add(folder)
    for leftover in folder.glob(f".*.{_TMP_TAG}*-*"):
        pid = leftover.name.rsplit(_TMP_TAG, 1)[1].split("-", 1)[0]
        if pid.isdigit() and not _running(int(pid)) and _older_than_an_hour(leftover):
            leftover.unlink(missing_ok=True)


def _older_than_an_hour(path: Path) -> bool:
    """A pid seen from another container or host may belong to a live writer: age decides."""
    try:
        return time.time() - path.stat().st_mtime > 3600
    except OSError:
        return False


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def relative(path: str | os.PathLike[str], base: str | os.PathLike[str]) -> str:
    """``path`` relative to ``base`` for messages; as it is where that is impossible."""
    try:
        return os.path.relpath(path, base)
    except ValueError:  # another drive on Windows
        return str(path)


# A golden line is about 70 bytes, so 256 MiB is some 3 million tensors: beyond any
# real model, and the bound that stops a hostile file from being read into memory. An
# update refuses to write a golden above it, so no golden we write is refused on reading.
MAX_GOLDEN_BYTES = 256 * 1024 * 1024
_BOM = "\ufeff"


def check_golden_size(text: str, path: Path) -> None:
    """Never write a golden that the next run would refuse to read."""
    size = len(text.encode("utf-8"))
    if size > MAX_GOLDEN_BYTES:
        raise GoldenError(
            f"the report renders to {size:,} bytes, more than the {MAX_GOLDEN_BYTES:,} a "
            "golden may hold; check a summary of this model instead (level='summary')",
            path=str(path),
        )


def read_text(path: Path) -> str:
    """The golden's text, without a byte order mark and with CRLF line ends read as LF (a
    checkout with git's ``autocrlf``; YAML and Markdown read them alike), so an update
    leaves a golden that already says what it would write untouched, and the fast YAML
    reader takes it; unreadable, oversized or non-UTF-8 files are a GoldenError."""
    try:
        size = path.stat().st_size
        if size > MAX_GOLDEN_BYTES:
            raise GoldenError(
                f"{size:,} bytes is too large for a paramform golden"
                f" (limit {MAX_GOLDEN_BYTES:,}); not a paramform golden",
                path=str(path),
            )
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GoldenError(
            f"not UTF-8 text (byte {exc.start}): not a paramform golden", path=str(path)
        ) from None
    except OSError as exc:
        raise GoldenError(f"cannot read: {exc.strerror}", path=str(path)) from None
    return text.removeprefix(_BOM).replace("\r\n", "\n")

"""Which test owns which golden, across pytest-xdist workers.

Within one process a dict suffices. Under xdist, two tests whose ids map to one golden
file may run on different workers, so each claim is also a file in a folder the
controller creates and hands to its workers: ``os.link`` of a finished temporary file
either creates the claim whole or fails because another test holds it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

WORKERINPUT_KEY = "paramform_claims"


def make_folder() -> str:
    return tempfile.mkdtemp(prefix="paramform-claims-")


def remove_folder(folder: str) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def claim(folder: str, location: str, owner: str) -> str | None:
    """Claim ``location`` for ``owner``; the other owner if another test holds it."""
    key = Path(folder, hashlib.sha256(location.encode()).hexdigest())
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".claim.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(owner)
        os.link(tmp, key)
        return None
    except FileExistsError:
        other = key.read_text(encoding="utf-8")
        return None if other == owner else other
    finally:
        os.unlink(tmp)

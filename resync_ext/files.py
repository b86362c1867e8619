"""Files the workbench writes for itself: whole or not at all.

Review batches, report statuses and agent demos are JSON files that a crash must never leave torn:
each is written to a temporary file in the same folder, flushed to disk, renamed over the old one,
and the folder itself is synced so the rename survives a power cut.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) readable by this user only (``0700``); tighten it if it
    exists with group or other access. Everything Resync keeps (memories, review batches,
    reports, the audit trail) lives under it, so files inside are out of other users' reach
    whatever their own mode; files written here are ``0600`` besides (``atomic_write_json``)."""
    # Top down, each missing folder 0700 (mkdir's parents=True would make the parents 0755).
    for folder in reversed([p for p in (path, *path.parents) if not p.exists()]):
        folder.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(PRIVATE_DIR_MODE)
    return path


def append_private_line(path: Path, line: str) -> None:
    """Append ``line`` and a newline to ``path``, creating it ``0600`` (an audit trail)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def atomic_write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` atomically: temp file, fsync, rename, fsync the folder.

    Values JSON cannot hold (a datetime, a Path) are written as their text. The file is ``0600``
    (``mkstemp`` creates it so, and the rename keeps the mode).
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, ensure_ascii=False, default=str)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)

"""Report folders under ``<data_dir>/reports/<name>/``: names, status files, pruning.

A run's folder holds ``status.json`` (written atomically at every change), the executed
``<name>.ipynb``, its ``<name>.html`` export, the report's own ``data.json`` (what the next run
compares itself with) and ``run.log`` (the report process's messages). Every function here is
blocking file work; the runner calls them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from resync_ext.files import PRIVATE_DIR_MODE, atomic_write_json, private_dir

from .errors import BadReportName, ReportNotFound

NAME = re.compile(r"(?P<stem>[a-z][a-z0-9_]{0,63})-(?P<stamp>\d{8}T\d{6}Z)(?:-(?P<n>\d{1,3}))?")
STATUS_FILE = "status.json"
DATA_FILE = "data.json"
ACTIVE = ("queued", "running")


def utc_now() -> datetime:
    """Return the current time in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0)


def check_name(name: str) -> str:
    """Return ``name`` if it is a report name (``<notebook>-<yyyymmddThhmmssZ>``), else 400."""
    if not isinstance(name, str) or NAME.fullmatch(name) is None:
        raise BadReportName(f"{name!r} is not a report name (<notebook>-<yyyymmddThhmmssZ>)")
    return name


def _sort_key(name: str) -> tuple[str, int]:
    m = NAME.fullmatch(name)
    return (m["stamp"], int(m["n"] or 0)) if m else ("", 0)


class ReportStore:
    """The report folders of one data directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.host = socket.gethostname()

    def folder(self, name: str) -> Path:
        """Return the folder of report ``name`` (validated)."""
        return self.root / check_name(name)

    def create(self, stem: str, status: dict[str, Any]) -> tuple[str, Path]:
        """Create a new report folder named after ``stem`` and now; write its first status."""
        private_dir(self.root)
        base = f"{stem}-{utc_now():%Y%m%dT%H%M%SZ}"
        for n in range(1000):
            name = base if n == 0 else f"{base}-{n}"
            folder = self.root / name
            try:
                folder.mkdir(mode=PRIVATE_DIR_MODE)
            except FileExistsError:
                continue
            atomic_write_json(folder / STATUS_FILE, {**status, "name": name, "host": self.host})
            return name, folder
        raise BadReportName(f"too many runs of {stem} within one second")

    def read_status(self, name: str) -> dict[str, Any]:
        """Return the status of report ``name`` (404 when there is none)."""
        try:
            data: dict[str, Any] = json.loads(
                (self.folder(name) / STATUS_FILE).read_text(encoding="utf-8")
            )
        except (FileNotFoundError, NotADirectoryError) as e:
            raise ReportNotFound(f"no report named {name}") from e
        except ValueError as e:
            raise ReportNotFound(f"report {name} has an unreadable status file") from e
        return data

    def update_status(self, name: str, **changes: Any) -> dict[str, Any]:
        """Apply ``changes`` to the status of report ``name`` and return it."""
        status = {**self.read_status(name), **changes}
        atomic_write_json(self.folder(name) / STATUS_FILE, status)
        return status

    def names(self) -> list[str]:
        """Return every report name, newest first."""
        if not self.root.is_dir():
            return []
        found = [p.name for p in self.root.iterdir() if p.is_dir() and NAME.fullmatch(p.name)]
        return sorted(found, key=_sort_key, reverse=True)

    def is_orphan(self, status: dict[str, Any], active: set[str]) -> bool:
        """Whether a queued/running status belongs to no live run (the server stopped)."""
        if status.get("status") not in ACTIVE or status.get("name") in active:
            return False
        if status.get("host") != self.host:
            return False  # another machine's run: not ours to judge
        pid = status.get("server_pid")
        if pid == os.getpid() or not isinstance(pid, int):
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def previous_data(self, stem: str, before: str) -> Path | None:
        """Return the data file of the newest successful run of ``stem`` older than ``before``."""
        for name in self.names():
            if _sort_key(name) >= _sort_key(before) or NAME.fullmatch(name)["stem"] != stem:  # type: ignore[index]
                continue
            data = self.root / name / DATA_FILE
            try:
                done = self.read_status(name).get("status") == "done"
            except ReportNotFound:
                continue
            if done and data.is_file():
                return data
        return None

    def prune(self, keep: int, active: set[str]) -> list[str]:
        """Delete the oldest finished reports beyond the newest ``keep``; return their names."""
        removed = []
        for name in self.names()[max(keep, 0) :]:
            if name in active:
                continue
            shutil.rmtree(self.root / name, ignore_errors=True)
            removed.append(name)
        return removed

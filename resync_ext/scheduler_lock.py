"""Who runs the shared scheduled work (audit passes, reports): one leader lock, two kinds.

- :class:`FileLeaderLock`, the single-machine default: an exclusive ``flock`` on
  ``<data_dir>/scheduler.lock``; every server sharing the data directory competes for it and the
  kernel releases it when the holder dies.
- :class:`PostgresLeaderLock`, for replicas on several machines (``scheduler_lock_url``): a
  PostgreSQL session-level advisory lock (``pg_try_advisory_lock``) held on one dedicated
  connection through SQLAlchemy. PostgreSQL releases it when that session ends: at once when the
  holder's process dies (its socket closes), or when TCP keepalives declare a vanished machine's
  connection dead (``KEEPALIVE`` below, about 25 s). The holder checks its connection on every
  campaign and steps down when it is gone, so a holder cut off from the database stops running
  the shared work within one retry interval.

An advisory lock rather than a lease row: the database ends it with the session, so there is no
clock to trust, no expiry to tune and no stale row after a crash.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import Any, Protocol

#: libpq settings on the lock's connection: give up connecting after 5 s; probe an idle
#: connection after 10 s, then every 5 s, dropping it after 3 unanswered probes.
KEEPALIVE = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}


class SchedulerLock(Protocol):
    """A lock at most one process holds; released when the holder dies."""

    #: True when trying and checking may wait on the network (run them off the event loop).
    blocking: bool

    @property
    def held(self) -> bool:
        """Whether this process holds the lock (as far as it last knew)."""
        ...

    def try_acquire(self) -> bool:
        """Take the lock if it is free; return whether this process holds it."""
        ...

    def check(self) -> bool:
        """Confirm a held lock is still held (step down if not); return ``held``."""
        ...

    def release(self) -> None:
        """Give the lock up."""
        ...


class FileLeaderLock:
    """An exclusive, non-blocking ``flock`` on a file; released when the process dies."""

    blocking = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this process holds the lock."""
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if it is free; return whether this process holds it."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def check(self) -> bool:
        """A flock cannot be lost while the file stays open."""
        return self.held

    def release(self) -> None:
        """Give the lock up (closing the file releases the flock)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (PostgreSQL's advisory lock key is a bigint)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresLeaderLock:
    """A PostgreSQL session advisory lock on one dedicated connection (SQLAlchemy + psycopg)."""

    blocking = True

    def __init__(
        self, url: str, *, name: str = "resync-scheduler", log: logging.Logger | None = None
    ) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        self.key = advisory_key(name)
        self.log = log or logging.getLogger(__name__)
        # NullPool: the lock lives exactly as long as the one connection this object opens.
        self.engine = create_engine(_psycopg_url(url), poolclass=NullPool, connect_args=KEEPALIVE)
        self._conn: Any = None

    @property
    def held(self) -> bool:
        """Whether this process holds the lock (as of the last acquire or check)."""
        return self._conn is not None

    def try_acquire(self) -> bool:
        """Take the lock if no other session holds it; a database that cannot be reached is
        'not held' (logged), never an exception."""
        if self._conn is not None:
            return self.check()
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        try:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as e:
            self.log.warning("scheduler lock: cannot reach the database: %s", _first_line(e))
            return False
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
        except SQLAlchemyError as e:
            conn.close()
            self.log.warning("scheduler lock: cannot take the lock: %s", _first_line(e))
            return False
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def check(self) -> bool:
        """Ask the database whether this session still holds the lock; step down if not."""
        if self._conn is None:
            return False
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        try:
            still = self._conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND pid = pg_backend_pid() AND granted"
                )
            ).scalar()
        except SQLAlchemyError as e:
            self.log.warning("scheduler lock: lost the database connection: %s", _first_line(e))
            still = 0
        if not still:
            self._drop()
        return self.held

    def release(self) -> None:
        """Unlock and close the connection (closing alone would release it too)."""
        if self._conn is None:
            return
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        # A failure means the session is gone, and the lock with it.
        with contextlib.suppress(SQLAlchemyError):
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
        self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        try:
            conn.close()
        except Exception:  # a broken connection may fail to close; it is released all the same
            self.log.debug("scheduler lock: closing a broken connection failed", exc_info=True)


def _psycopg_url(url: str) -> str:
    """Use psycopg 3 for a bare ``postgresql://`` URL (SQLAlchemy would look for psycopg2)."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://") :]
    return url


def _first_line(e: BaseException) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def make_leader_lock(
    data_dir: Path, url: str = "", log: logging.Logger | None = None
) -> FileLeaderLock | PostgresLeaderLock:
    """The lock for these settings: PostgreSQL when ``url`` is set, else the data dir's file."""
    if url:
        return PostgresLeaderLock(url, log=log)
    return FileLeaderLock(Path(data_dir) / "scheduler.lock")

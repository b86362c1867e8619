"""Claims on memories being judged: a memory is judged by one task of one replica at a time.

The auditor claims each memory before it judges it and releases it after (``auditor.py``). Two
kinds of claims, one interface (:class:`Claims`):

- :class:`LocalClaims`, the single-machine default: a set in this process. Every audit (the
  scheduled pass and the chat's fresh audits) runs in the one server, so the set sees them all.
- :class:`PostgresClaims`, for replicas of a team service (``team_database_url``): a row per
  claimed memory in the team database, taken with ``INSERT ... ON CONFLICT DO UPDATE ... WHERE
  the lease expired`` so that exactly one replica gets each memory, and deleted after judging.
  A claim is a lease (``lease_s``, on the database's clock, so replicas' clocks do not matter)
  that its holder renews every third of the lease while it judges; a replica that dies stops
  renewing, and once its leases run out any replica's next pass takes those memories over. The
  auditor re-reads a memory after claiming it and judges it only if it is still ``new``, so a
  memory judged just before its judge's replica died is not judged again.

A database that cannot be reached gives no claims (logged): the memories stay ``new`` for a
later pass, rather than being judged without the guarantee.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Sequence
from typing import Protocol

from resync_ext.audit.review_queue_pg import SCHEMA, create_tables, team_engine
from resync_ext.scheduler_lock import _first_line

DEFAULT_LEASE_S = 300.0

_TABLES = (
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.audit_claims (
        memory_id text PRIMARY KEY,
        owner text NOT NULL,
        claimed_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
    )""",
)


class Claims(Protocol):
    """Who is judging which memory right now."""

    async def claim(self, memory_ids: Sequence[str]) -> set[str]:
        """Claim what is free of ``memory_ids``; return the ids this process now holds."""
        ...

    async def release(self, memory_id: str) -> None:
        """Give up the claim on ``memory_id`` (judged, or given up)."""
        ...


class LocalClaims:
    """Claims in this process's memory (one server judges everything)."""

    def __init__(self) -> None:
        self._held: set[str] = set()

    async def claim(self, memory_ids: Sequence[str]) -> set[str]:
        """Claim the ids no task of this process holds."""
        got = set(memory_ids) - self._held
        self._held |= got
        return got

    async def release(self, memory_id: str) -> None:
        """Give up the claim."""
        self._held.discard(memory_id)


class PostgresClaims:
    """Leased claims in the team database, shared by every replica (SQLAlchemy + psycopg)."""

    def __init__(
        self,
        url: str,
        *,
        lease_s: float = DEFAULT_LEASE_S,
        owner: str | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.engine = team_engine(url)
        self.lease_s = lease_s
        #: This replica's name on its claims (host, process and a random part: pids repeat).
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.log = log or logging.getLogger(__name__)
        self._held: set[str] = set()
        self._renewer: asyncio.Task[None] | None = None
        self._ready = False
        self._ready_lock = threading.Lock()

    async def claim(self, memory_ids: Sequence[str]) -> set[str]:
        """Claim the ids nobody holds or whose holder's lease ran out."""
        # Sorted: two replicas inserting the same ids take their row locks in one order.
        ids = sorted(set(memory_ids))
        if not ids:
            return set()
        try:
            got = await asyncio.to_thread(self._claim, ids)
        except Exception as e:  # no claim, no judging: they stay new for a later pass
            self.log.warning("audit claims: cannot claim %d memories: %s", len(ids), _first_line(e))
            return set()
        self._held |= got
        if got and (self._renewer is None or self._renewer.done()):
            self._renewer = asyncio.create_task(self._renew_loop(), name="resync-claims-renew")
        return got

    async def release(self, memory_id: str) -> None:
        """Delete this replica's claim (its lease would end it anyway)."""
        self._held.discard(memory_id)
        try:
            await asyncio.to_thread(self._delete, [memory_id])
        except Exception as e:
            self.log.warning("audit claims: cannot release %s: %s", memory_id, _first_line(e))

    async def close(self) -> None:
        """Stop renewing, release what is held, close the connections."""
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        held, self._held = sorted(self._held), set()
        if held:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self._delete, held)
        self.engine.dispose()

    # -- SQL, in worker threads -----------------------------------------------------------------
    def _tables(self) -> None:
        with self._ready_lock:
            if not self._ready:
                create_tables(self.engine, _TABLES)
                self._ready = True

    def _claim(self, ids: list[str]) -> set[str]:
        from sqlalchemy import text

        self._tables()
        # A conflicting row is updated (taken over) only when its lease has run out; PostgreSQL
        # locks that row first, so of two replicas taking over one claim only one sees it expired.
        sql = text(
            f"""INSERT INTO {SCHEMA}.audit_claims AS c (memory_id, owner, expires_at)
            SELECT id, :owner, now() + make_interval(secs => :lease)
            FROM unnest(CAST(:ids AS text[])) AS id ORDER BY id
            ON CONFLICT (memory_id) DO UPDATE
            SET owner = EXCLUDED.owner, claimed_at = now(), expires_at = EXCLUDED.expires_at
            WHERE c.expires_at < now()
            RETURNING c.memory_id"""
        )
        with self.engine.begin() as conn:
            rows = conn.execute(sql, {"owner": self.owner, "lease": self.lease_s, "ids": ids})
            return set(rows.scalars())

    def _renew(self, ids: list[str]) -> set[str]:
        from sqlalchemy import text

        sql = text(
            f"""UPDATE {SCHEMA}.audit_claims SET expires_at = now() + make_interval(secs => :lease)
            WHERE owner = :owner AND memory_id = ANY(CAST(:ids AS text[])) RETURNING memory_id"""
        )
        with self.engine.begin() as conn:
            params = {"owner": self.owner, "lease": self.lease_s, "ids": ids}
            return set(conn.execute(sql, params).scalars())

    def _delete(self, ids: list[str]) -> None:
        from sqlalchemy import text

        sql = text(
            f"""DELETE FROM {SCHEMA}.audit_claims
            WHERE owner = :owner AND memory_id = ANY(CAST(:ids AS text[]))"""
        )
        with self.engine.begin() as conn:
            conn.execute(sql, {"owner": self.owner, "ids": ids})

    async def _renew_loop(self) -> None:
        """Extend this replica's leases every third of a lease while it holds any."""
        while self._held:
            await asyncio.sleep(self.lease_s / 3)
            held = sorted(self._held)
            if not held:
                return
            try:
                renewed = await asyncio.to_thread(self._renew, held)
            except Exception as e:  # the next round tries again; the lease has two more thirds
                self.log.warning("audit claims: cannot renew leases: %s", _first_line(e))
                continue
            lost = (set(held) - renewed) & self._held  # not released meanwhile
            if lost:
                self.log.warning(
                    "audit claims: %d claim(s) were taken over after their lease ran out: %s",
                    len(lost),
                    ", ".join(sorted(lost)[:5]),
                )

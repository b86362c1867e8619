"""The review queue in PostgreSQL: one queue for every replica of a team service.

:class:`PostgresReviewQueue` has the interface and the semantics of the file queue
(``review_queue.ReviewQueue``) and reuses its pure parts: the decision rules (``_opinion``,
``_apply``, ``_check_standing``), the masking of reviewers' texts and the batch names. What
changes is where a batch lives and what serialises two decisions:

- a batch is a row of ``review_batches`` and each of its items a row of ``review_items`` holding
  the item's JSON (``jsonb``), in filing order;
- a decision runs in one transaction that locks the item's row (``SELECT ... FOR UPDATE``): two
  replicas deciding the same item queue up on that lock, and the second one applies its decision
  to what the first one wrote, so it gets the answer the file queue gives to a second decision
  (idempotent repeat, second opinion, or DecisionConflict);
- filing joins the pass's batch through ``INSERT ... ON CONFLICT``, which also locks the batch
  row, so a concurrent archive waits for the filing to commit and then sees the new items.

The tables live in the schema :data:`SCHEMA`, created on first use (``CREATE ... IF NOT
EXISTS`` under a transaction-level advisory lock, since two replicas creating them at once would
otherwise collide in PostgreSQL's catalog). A change of the tables' shape takes a new schema name.
Every database call runs in a worker thread; a database that cannot be reached is
``QueueUnavailable`` (503).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from resync_ext.audit.errors import BatchNotFound, BatchPending, ItemNotFound, QueueUnavailable
from resync_ext.audit.review_queue import (
    Action,
    Batch,
    ReviewItem,
    _apply,
    _check_standing,
    _opinion,
    batch_name,
    check_batch_name,
)
from resync_ext.scheduler_lock import KEEPALIVE, _first_line, _psycopg_url, advisory_key

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

#: The PostgreSQL schema of Resync's shared tables (review queue, audit claims); versioned.
SCHEMA = "resync_v1"
T = TypeVar("T")

_TABLES = (
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.review_batches (
        id bigserial PRIMARY KEY,
        name text NOT NULL,
        created text NOT NULL,
        archived boolean NOT NULL DEFAULT false
    )""",
    # One open batch per name (a later archived one may share it, as the file queue's archive).
    f"""CREATE UNIQUE INDEX IF NOT EXISTS review_batches_open_name
        ON {SCHEMA}.review_batches (name) WHERE NOT archived""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.review_items (
        id bigserial PRIMARY KEY,
        batch_id bigint NOT NULL REFERENCES {SCHEMA}.review_batches (id),
        memory_id text NOT NULL,
        item jsonb NOT NULL,
        UNIQUE (batch_id, memory_id)
    )""",
    f"CREATE INDEX IF NOT EXISTS review_items_memory ON {SCHEMA}.review_items (memory_id)",
)

_ITEMS = f"""FROM {SCHEMA}.review_items i JOIN {SCHEMA}.review_batches b ON b.id = i.batch_id"""
#: Open batches first, each batch by name (as the file queue reads its folders), filing order.
_ORDER = 'ORDER BY b.archived, b.name COLLATE "C", i.id'


def team_engine(url: str) -> Engine:
    """A small connection pool on the team database (psycopg 3, TCP keepalives)."""
    from sqlalchemy import create_engine

    return create_engine(
        _psycopg_url(url),
        pool_size=4,
        max_overflow=4,
        pool_pre_ping=True,  # a connection the database dropped is replaced, not used
        connect_args=KEEPALIVE,
    )


def create_tables(engine: Engine, statements: Sequence[str]) -> None:
    """Run ``statements`` (``IF NOT EXISTS`` DDL) once at a time across every replica."""
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key(SCHEMA)})
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        for statement in statements:
            conn.execute(text(statement))


class PostgresReviewQueue:
    """Review batches in PostgreSQL tables; all methods are async and run SQL in a thread."""

    def __init__(self, url: str) -> None:
        self.engine = team_engine(url)  # no connection yet: the tables are made on first use
        self._ready = False
        self._ready_lock = threading.Lock()

    def close(self) -> None:
        """Close the pool's connections."""
        self.engine.dispose()

    # -- plumbing -------------------------------------------------------------------------------
    async def _run(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in one transaction in a worker thread."""
        return await asyncio.to_thread(self._transaction, fn)

    def _transaction(self, fn: Callable[[Connection], T]) -> T:
        from sqlalchemy.exc import InterfaceError, OperationalError

        try:
            with self._ready_lock:
                if not self._ready:
                    create_tables(self.engine, _TABLES)
                    self._ready = True
            with self.engine.begin() as conn:
                return fn(conn)
        except (OperationalError, InterfaceError) as e:
            raise QueueUnavailable(
                f"the review queue's database is unavailable: {_first_line(e)}"
            ) from e

    # -- reading --------------------------------------------------------------------------------
    async def list_batches(self) -> list[dict[str, Any]]:
        """Summaries of the open (not archived) batches, oldest first (``Batch.summary``)."""
        from sqlalchemy import text

        def count(status: str) -> str:
            return f"count(i.id) FILTER (WHERE i.item->>'status' = '{status}') AS {status}"

        sql = text(
            f"""SELECT b.name, b.created, count(i.id) AS total, {count("pending")},
            {count("approved")}, {count("rejected")},
            count(i.id) FILTER (WHERE i.item->>'corrected_answer' IS NOT NULL) AS corrected
            FROM {SCHEMA}.review_batches b LEFT JOIN {SCHEMA}.review_items i ON i.batch_id = b.id
            WHERE NOT b.archived GROUP BY b.id ORDER BY b.name COLLATE "C" """
        )
        rows = await self._run(lambda conn: conn.execute(sql).mappings().all())
        return [dict(row) for row in rows]

    async def get_batch(self, name: str) -> Batch:
        """One open batch by name."""
        from sqlalchemy import text

        check_batch_name(name)

        def read(conn: Connection) -> Batch:
            head = conn.execute(
                text(
                    f"SELECT id, created FROM {SCHEMA}.review_batches "
                    "WHERE name = :n AND NOT archived"
                ),
                {"n": name},
            ).first()
            if head is None:
                raise BatchNotFound(f"no batch named {name}")
            items = conn.execute(
                text(f"SELECT item FROM {SCHEMA}.review_items WHERE batch_id = :b ORDER BY id"),
                {"b": head.id},
            ).scalars()
            return Batch(
                name=name, created=head.created, items=[ReviewItem.model_validate(i) for i in items]
            )

        return await self._run(read)

    async def memory_ids(self) -> set[str]:
        """Ids of every memory in any batch, open or archived (for reconciliation)."""
        from sqlalchemy import text

        sql = text(f"SELECT DISTINCT memory_id FROM {SCHEMA}.review_items")
        return await self._run(lambda conn: set(conn.execute(sql).scalars()))

    async def find(self, memory_id: str) -> ReviewItem | None:
        """The review item of a memory, open or archived (None when it was never filed)."""
        from sqlalchemy import text

        sql = text(f"SELECT i.item {_ITEMS} WHERE i.memory_id = :m {_ORDER} LIMIT 1")
        raw = await self._run(lambda conn: conn.execute(sql, {"m": memory_id}).scalar())
        return None if raw is None else ReviewItem.model_validate(raw)

    async def decisions(self) -> list[ReviewItem]:
        """Every decided item, open and archived (for metrics and reconciliation)."""
        from sqlalchemy import text

        sql = text(f"SELECT i.item {_ITEMS} WHERE i.item->>'status' <> 'pending' {_ORDER}")
        raws = await self._run(lambda conn: list(conn.execute(sql).scalars()))
        return [ReviewItem.model_validate(r) for r in raws]

    # -- writing --------------------------------------------------------------------------------
    async def add_items(
        self, items: Iterable[ReviewItem], *, now: datetime | None = None
    ) -> str | None:
        """Put ``items`` into the batch of this pass; return its name (None when nothing to add)."""
        from sqlalchemy import text

        new = list(items)
        if not new:
            return None
        when = now or datetime.now(UTC)
        name = batch_name(when)

        def write(conn: Connection) -> str:
            # A second pass in the same second (on any replica) joins the batch; the no-op
            # update returns its id and holds its row until this filing commits.
            batch_id = conn.execute(
                text(
                    f"""INSERT INTO {SCHEMA}.review_batches (name, created) VALUES (:n, :c)
                    ON CONFLICT (name) WHERE NOT archived DO UPDATE SET name = EXCLUDED.name
                    RETURNING id"""
                ),
                {"n": name, "c": when.strftime("%Y-%m-%dT%H:%M:%SZ")},
            ).scalar_one()
            conn.execute(
                text(
                    f"""INSERT INTO {SCHEMA}.review_items (batch_id, memory_id, item)
                    VALUES (:b, :m, CAST(:item AS jsonb))
                    ON CONFLICT (batch_id, memory_id) DO NOTHING"""
                ),
                [{"b": batch_id, "m": i.memory_id, "item": i.model_dump_json()} for i in new],
            )
            return name

        return await self._run(write)

    async def decide(
        self,
        memory_id: str,
        action: Action,
        *,
        user: str,
        comment: str | None,
        answer: str | None = None,
        wrong_claim: str | None = None,
    ) -> tuple[ReviewItem, bool]:
        """Record a decision; return the item and whether its outcome changed.

        The rules are the file queue's (``ReviewQueue.decide``); the item's row is locked for
        the transaction, so concurrent decisions on one item apply one after the other.
        """
        from sqlalchemy import text

        status, opinion = _opinion(action, user=user, comment=comment, answer=answer)

        def write(conn: Connection) -> tuple[ReviewItem, bool, bool]:
            row = conn.execute(
                text(
                    f"""SELECT i.id, i.item {_ITEMS} WHERE i.memory_id = :m AND NOT b.archived
                    {_ORDER} LIMIT 1 FOR UPDATE OF i"""
                ),
                {"m": memory_id},
            ).first()
            if row is None:
                raise ItemNotFound(f"no review item for memory {memory_id}")
            item = ReviewItem.model_validate(row.item)
            changed, opinions = _apply(item, opinion, status, answer, wrong_claim)
            if changed or opinions:
                conn.execute(
                    text(
                        f"UPDATE {SCHEMA}.review_items SET item = CAST(:item AS jsonb) "
                        "WHERE id = :i"
                    ),
                    {"item": item.model_dump_json(), "i": row.id},
                )
            return item, changed, opinions

        # The second opinion is committed before the conflict is reported, as in the file queue.
        item, changed, opinions = await self._run(write)
        _check_standing(item, status, opinions)
        return item, changed

    async def archive(self, name: str) -> None:
        """Archive a fully decided batch (409 while an item is pending)."""
        from sqlalchemy import text

        check_batch_name(name)

        def move(conn: Connection) -> None:
            batch_id = conn.execute(
                text(
                    f"SELECT id FROM {SCHEMA}.review_batches WHERE name = :n AND NOT archived "
                    "FOR UPDATE"
                ),
                {"n": name},
            ).scalar()
            if batch_id is None:
                raise BatchNotFound(f"no batch named {name}")
            pending = conn.execute(
                text(
                    f"SELECT count(*) FROM {SCHEMA}.review_items "
                    "WHERE batch_id = :b AND item->>'status' = 'pending'"
                ),
                {"b": batch_id},
            ).scalar_one()
            if pending:
                raise BatchPending(f"batch {name} still has {pending} pending item(s)")
            conn.execute(
                text(f"UPDATE {SCHEMA}.review_batches SET archived = true WHERE id = :b"),
                {"b": batch_id},
            )

        await self._run(move)

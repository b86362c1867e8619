"""Audit throughput on a backlog of new memories, and the review API's latency.

- Throughput: the auditor (claim, judge, compare-and-set, file the flagged ones) over a backlog of
  ``n`` new memories in the real embedded store, with a judge that answers at once (80 % ok,
  15 % suspicious, 5 % incorrect). Baseline: the store's own ``set_state`` rate (new →
  audited_ok, two at a time like the auditor), without judging, on the same store in the same
  run.
- Review API: ``POST /resync/api/audit/review`` p50/p95 against a real server subprocess on that
  data directory (the pass's batch holds every flagged memory of the backlog). Baseline:
  ``GET /resync/api/health`` on the same server.

Seeding: one turn goes through ``add_turn`` and gives the exact payload the store writes; the
backlog copies it through the store's vector engine (``add_turn`` embeds at ~35 turns/s on two
busy cores, so 10 000 real adds would take five minutes). Vectors are real embeddings of a few
hundred distinct turns plus small noise (paraphrase-like neighbours).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

AGENT = "tws-troubleshooter"
CONCURRENCY = 2  # the auditor's default
JOBS = [
    f"{p}_{s}"
    for p in ("PAYROLL", "GL", "AR", "BACKUP", "ETL", "BILLING")
    for s in ("EXTRACT", "LOAD", "POST", "NIGHTLY", "SYNC", "PURGE")
]
ERRORS = (
    "ORA-01017 invalid username/password",
    "AWSBHU001E the job could not be launched",
    "return code 12",
    "disk full on /var/app",
    "AWSBIA106W the workstation is not linked",
    "file not found: /data/in/feed.csv",
)
STATIONS = ("AGT_LNX01", "AGT_LNX02", "AGT_WIN01", "AGT_AIX03")


def pct(values: list[float], q: float) -> float:
    """The ``q``-th percentile of ``values``."""
    return float(np.percentile(np.array(values), q))


def turn(i: int, rng: random.Random) -> tuple[str, str]:
    """A templated troubleshooting question and answer, unique by ``i``."""
    job, err, ws = rng.choice(JOBS), rng.choice(ERRORS), rng.choice(STATIONS)
    return (
        f"Why did {job} fail on {ws} (case {i})?",
        f"Cause: {job} ended ABEND on {ws}: {err}. Next steps: 1. Check the job log. "
        "2. Fix the cause, then rerun after confirming.",
    )


async def seed_memories(
    store: Any, n: int, *, anchors: int = 200, seed: int = 7, state: str = "new"
) -> list[str]:
    """Add ``n`` memories of agent tws-troubleshooter in ``state``; return their ids."""
    from resync_ext.memory.models import turn_text

    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    first = await store.add_turn(
        agent_id=AGENT,
        question="Why did PAYROLL_EXTRACT fail?",
        answer="Cause: PAYROLL_EXTRACT abended with ORA-01017.",
        evidence=[{"tool": "get_job_log", "args": {"job": "PAYROLL_EXTRACT"}, "summary": "ORA"}],
    )
    template = (await store._run(store._mem.vector_store.get, first.id)).payload
    emb = store._mem.embedding_model
    texts = [turn_text(*turn(i, rng)) for i in range(anchors)]
    base = np.array(
        await store._run(lambda: [emb.embed(t, "add") for t in texts]), dtype=np.float32
    )
    ids, start = [first.id], datetime.now(UTC) - timedelta(days=30)
    for lo in range(0, n - 1, 500):
        size = min(500, n - 1 - lo)
        pick = nrng.integers(0, anchors, size=size)
        vecs = base[pick] + nrng.standard_normal((size, base.shape[1])).astype(np.float32) * 0.02
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        payloads, chunk_ids = [], []
        for k in range(size):
            q, a = turn(lo + k + anchors, rng)
            when = (start + timedelta(seconds=lo + k)).isoformat()
            payloads.append(
                {
                    **template,
                    "data": turn_text(q, a),
                    "hash": uuid.uuid4().hex,
                    "question": q,
                    "answer": a,
                    "created_at": when,
                    "updated_at": when,
                    "state": state,
                }
            )
            chunk_ids.append(str(uuid.uuid4()))
        await store._run(store._mem.vector_store.insert, vecs.tolist(), payloads, chunk_ids)
        ids.extend(chunk_ids)
    if state != "new":
        await store.set_state(first.id, state)
    # Flushed, as the store's own flush loop would within seconds: right after a bulk insert the
    # engine serves payload reads from its write-ahead log, 3-4x slower, which would skew timings.
    await store._run(store._mem.vector_store.flush)
    return ids


class InstantJudge:
    """A judge that answers at once: 80 % ok, 15 % suspicious, 5 % incorrect (by question)."""

    async def __call__(self, *, question: str, answer: str, evidence: list[Any]) -> dict[str, Any]:
        bucket = zlib.crc32(question.encode()) % 20
        if bucket < 16:
            return {"verdict": "ok", "confidence": 0.9, "reason": "supported by the job log"}
        if bucket < 19:
            return {"verdict": "suspicious", "confidence": 0.6, "reason": "claim not in evidence"}
        return {"verdict": "incorrect", "confidence": 0.95, "reason": "contradicts the log"}


async def _throughput(data_dir: Path, n: int, b: int) -> tuple[dict[str, Any], str | None]:
    from resync_ext.audit.auditor import Auditor
    from resync_ext.audit.review_queue import ReviewQueue
    from resync_ext.memory.factory import create_memory_store

    store = create_memory_store(data_dir=data_dir, qdrant_url=None, qdrant_api_key=None)
    await store.open()
    try:
        warm = 100
        ids = await seed_memories(store, n + b + warm)
        audit = {"verdict": "ok", "confidence": 0.9, "reason": "baseline"}
        for memory_id in ids[:warm]:
            await store.set_state(memory_id, "audited_ok", expect={"new"}, audit=audit)
        # The baseline changes state with the auditor's own concurrency (two at a time).
        sem = asyncio.Semaphore(CONCURRENCY)

        async def change(memory_id: str) -> None:
            async with sem:
                await store.set_state(memory_id, "audited_ok", expect={"new"}, audit=audit)

        t0 = time.perf_counter()
        await asyncio.gather(*(change(m) for m in ids[warm : warm + b]))
        base_rate = b / (time.perf_counter() - t0)
        queue = ReviewQueue(data_dir)
        auditor = Auditor(
            store,
            InstantJudge(),
            queue,
            reject_confidence=0.9,
            concurrency=CONCURRENCY,
            events_path=data_dir / "audit" / "passes.jsonl",
        )
        summary = await auditor.run_pass()
        if summary.audited != n or summary.errors:
            raise RuntimeError(f"the pass audited {summary.audited}/{n}: {summary}")
        counts = await store.counts()
    finally:
        await store.close()
    rate = summary.audited / summary.seconds
    row = {
        "name": "audit_throughput",
        "value": round(rate, 1),
        "unit": "mem/s",
        "baseline": round(base_rate, 1),
        "ratio": round(rate / base_rate, 3),
        "params": {
            "backlog": n,
            "memories_in_store": n + b + warm,
            "concurrency": auditor.concurrency,
            "judge": "instant, 80% ok / 15% suspicious / 5% incorrect",
            "flagged": summary.flagged,
            "rejected": summary.rejected,
            "pass_s": summary.seconds,
            "states_after": counts,
            "baseline_is": f"store.set_state new->audited_ok on {b} memories, "
            f"{CONCURRENCY} at a time (the auditor's concurrency), no judge",
        },
    }
    return row, summary.batch


def _review_latency(data_dir: Path, root: Path, batch: str, reps: int) -> list[dict[str, Any]]:
    import httpx

    from resync_ext.tws.simulator.testing import run_in_thread
    from tests.server_process import ServerProcess

    repo = Path(__file__).resolve().parent.parent
    with run_in_thread("demo") as sim:
        server = ServerProcess(
            root,
            {
                "tws_url": sim.url,
                "lm_model": "openai/bench-judge",
                "open_memory": True,
                "audit_interval_min": 0.0,
                "report_cron": "",
                "agents_config": str(repo / "config" / "runtime.json"),
            },
            data_dir=data_dir,
        )
        server.start()
        try:
            server.wait_memory_open()
            with httpx.Client(base_url=server.url, headers=server.headers, timeout=60) as http:
                items = http.get(f"/resync/api/audit/flags/{batch}").json()["items"]
                pending = [i["memory_id"] for i in items if i["status"] == "pending"][:reps]
                for _ in range(3):
                    http.get("/resync/api/health")
                health = []
                for _ in range(reps):
                    t0 = time.perf_counter()
                    r = http.get("/resync/api/health")
                    health.append((time.perf_counter() - t0) * 1000)
                    r.raise_for_status()
                review = []
                for n, memory_id in enumerate(pending):
                    body = {"memory_id": memory_id, "action": "approve" if n % 2 else "reject"}
                    t0 = time.perf_counter()
                    r = http.post("/resync/api/audit/review", json=body)
                    review.append((time.perf_counter() - t0) * 1000)
                    r.raise_for_status()
        finally:
            server.stop()
    params = {
        "decisions": len(review),
        "batch_items": len(items),
        "baseline_is": "GET /resync/api/health on the same server (TWS, memory, LM, scheduler)",
        "server": "jupyter server subprocess, loopback, sequential requests",
    }
    rows = []
    for q in (50, 95):
        value, base = pct(review, q), pct(health, q)
        rows.append(
            {
                "name": f"review_api_p{q}",
                "value": round(value, 2),
                "unit": "ms",
                "baseline": round(base, 2),
                "ratio": round(value / base, 2),
                "params": {**params, "health_median_ms": round(statistics.median(health), 2)},
            }
        )
    return rows


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Measure audit throughput and review API latency; return the figures."""
    n, b, reps = (1_000, 300, 30) if quick else (10_000, 2_000, 100)
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        data_dir = root / "data"
        data_dir.mkdir()
        row, batch = asyncio.run(_throughput(data_dir, n, b))
        rows = [row]
        if batch is not None:
            rows += _review_latency(data_dir, root, batch, reps)
    return rows

"""TWS client: cached vs uncached reads, and concurrent reads through the pool vs sequential.

Both run against the simulator (demo scenario) started in a background thread on loopback.
The concurrency figure adds a fixed engine latency (simulator fault ``latency_ms``) so that it
measures what the pool is for, overlapping waits on the engine, rather than the simulator's CPU.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from resync_ext.tws.client import TWSClient
from resync_ext.tws.simulator.testing import ThreadedSimulator, run_in_thread

QUERY = "jobruns.compositeStatus.status IN ['ABEND', 'FAIL', 'HOLD']"


async def _cached_vs_uncached(sim: ThreadedSimulator, reads: int) -> dict[str, Any]:
    async with TWSClient(sim.url, user=sim.user, password=sim.password) as c:
        await c.list_jobs(QUERY)  # warm the pool and the cache
        t0 = time.perf_counter()
        for _ in range(reads):
            await c.list_jobs(QUERY, fresh=True)
        uncached = (time.perf_counter() - t0) / reads
        t0 = time.perf_counter()
        for _ in range(reads):
            await c.list_jobs(QUERY)
        cached = (time.perf_counter() - t0) / reads
    return {
        "name": "tws_client_cached_read",
        "value": cached * 1e6,
        "unit": "us",
        "baseline": uncached * 1e6,
        "ratio": cached / uncached,
        "params": {"reads": reads, "query": QUERY, "baseline_is": "same read with fresh=True"},
    }


async def _concurrent_vs_sequential(
    sim: ThreadedSimulator, reads: int, latency_ms: int, pool: int
) -> dict[str, Any]:
    async with TWSClient(sim.url, user=sim.user, password=sim.password, max_connections=pool) as c:
        ids = [j.id or "" for j in (await c.list_jobs(limit=reads)).items]
        sim.set_faults(latency_ms=latency_ms)
        try:
            t0 = time.perf_counter()
            for job_id in ids:
                await c.get_job(job_id, fresh=True)
            sequential = time.perf_counter() - t0
            t0 = time.perf_counter()
            await asyncio.gather(*(c.get_job(job_id, fresh=True) for job_id in ids))
            concurrent = time.perf_counter() - t0
        finally:
            sim.clear_faults()
    return {
        "name": "tws_client_concurrent_reads",
        "value": concurrent,
        "unit": "s",
        "baseline": sequential,
        "ratio": concurrent / sequential,
        "params": {
            "reads": len(ids),
            "engine_latency_ms": latency_ms,
            "pool": pool,
            "baseline_is": "the same reads one after another",
        },
    }


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Measure the client against an in-process simulator; return the figures."""
    reads = 20 if quick else 100
    with run_in_thread("demo") as sim:
        cache = asyncio.run(_cached_vs_uncached(sim, reads))
        pool = asyncio.run(
            _concurrent_vs_sequential(sim, 16 if quick else 40, latency_ms=20, pool=10)
        )
    return [cache, pool]


if __name__ == "__main__":
    for row in run(quick=True):
        print(row)

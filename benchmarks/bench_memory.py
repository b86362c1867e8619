"""Memory store: Mem0 over Qdrant Edge vs qdrant-client local mode vs the raw engine, one run.

Data. Chat turns are generated from templates (jobs, workstations, errors, questions, answers) and
embedded for real with the store's own all-MiniLM-L6-v2. On 2 shared CPU cores that model embeds
about 40 turns/s, so 100 000 real embeddings would take most of an hour: the collection is built
from ``anchors`` real turn embeddings, each joined by synthetic neighbours (the anchor's vector plus
Gaussian noise, cosine ~0.9 to it, i.e. paraphrase-like) carrying the anchor's text. Queries are
real embeddings of questions that are not in the collection. Every figure says so in its params.

Figures (each beside its baseline, same data, same run):
- filtered search p50/p95 through the store (query embedding excluded: queries are pre-embedded)
  vs qdrant-client local mode, at ``n_local`` memories (local mode inserts at ~1.5 ms/point and
  scans every payload in Python for a filter, so it is measured at a smaller size);
- the same at ``n`` memories vs the raw Edge engine (Mem0's overhead as a ratio);
- add throughput through ``add_turn`` (masking, embedding, Mem0, engine) vs embedding alone;
- embedding time per query, alone;
- recall@5 of the served (indexed) search vs exact search;
- the longest event-loop stall while the index is built (in a child process, as at open).
"""

from __future__ import annotations

import asyncio
import gc
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

JOBS = [
    f"{p}_{s}"
    for p in ("PAYROLL", "GL", "AR", "BACKUP", "ETL", "BILLING", "HR", "CRM")
    for s in ("EXTRACT", "LOAD", "POST", "CLOSE", "NIGHTLY", "SYNC", "REPORT", "PURGE")
]
STATIONS = [f"AGT_{k}{i:02d}" for k in ("LNX", "WIN", "AIX") for i in range(1, 6)]
ERRORS = [
    "ORA-01017 invalid username/password",
    "AWSBHU001E the job could not be launched",
    "return code 12",
    "return code 8",
    "disk full on /var/app",
    "connection timed out to DB",
    "AWSBIA106W the workstation is not linked",
    "file not found: /data/in/feed.csv",
    "deadlock detected",
    "out of memory (java heap)",
    "permission denied on /opt/app/run.sh",
    "resource DB_SLOTS exhausted",
    "predecessor held",
    "SSL handshake failed",
]
QUESTIONS = [
    "Why did {job} fail on {ws} last night?",
    "What does '{err}' mean for {job}?",
    "Is {job} going to miss its deadline?",
    "Which jobs are waiting on {ws}?",
    "How do I fix {job} after {err}?",
    "Did {job} run successfully today?",
    "Why is {job} still in HOLD?",
    "What happened to {ws} around 02:00?",
]
ANSWERS = [
    "{job} ended ABEND on {ws}: {err}. Check the job log and rerun after fixing it.",
    "{job} waits for its predecessor; {ws} reports {err}.",
    "The last run of {job} on {ws} succeeded; the earlier one failed with {err}.",
    "{ws} is the cause: {err}. {job} will start once it is linked again.",
]
AGENTS = ("tws-troubleshooter", "sla-watch", "capacity")
STATES = (
    ("new", 0.35),
    ("audited_ok", 0.35),
    ("approved", 0.1),
    ("flagged", 0.1),
    ("rejected", 0.05),
    ("rejected_by_auditor", 0.05),
)
EXCLUDED = ["rejected", "rejected_by_auditor"]


def _turn(rng: random.Random) -> tuple[str, str]:
    fill = {"job": rng.choice(JOBS), "ws": rng.choice(STATIONS), "err": rng.choice(ERRORS)}
    return rng.choice(QUESTIONS).format(**fill), rng.choice(ANSWERS).format(**fill)


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def _synthetic(anchors: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, Any]:
    """Return ``n`` unit vectors around random anchors (cosine ~0.9) and their anchor indexes."""
    idx = rng.integers(0, len(anchors), size=n)
    noise = rng.standard_normal((n, anchors.shape[1])).astype(np.float32)
    noise *= 0.5 / np.sqrt(anchors.shape[1])
    vecs = anchors[idx] + noise
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs.astype(np.float32), idx


def _payload(q: str, a: str, rng: random.Random, when: datetime) -> dict[str, Any]:
    """A payload shaped exactly like the store's (Mem0's bookkeeping plus the record's fields)."""
    text = f"Q: {q}\nA: {a}"
    created = when.isoformat()
    state = rng.choices([s for s, _ in STATES], [w for _, w in STATES])[0]
    return {
        "data": text,
        "hash": uuid.uuid4().hex,
        "text_lemmatized": text,
        "created_at": created,
        "updated_at": created,
        "user_id": "resync",
        "agent_id": rng.choice(AGENTS),
        "role": "user",
        "kind": "conversation",
        "question": q,
        "answer": a,
        "evidence": [{"tool": "get_job", "args": {"name": q.split()[3]}, "summary": a[:60]}],
        "session": None,
        "state": state,
    }


def _bulk_insert(vector_store: Any, vecs: np.ndarray, payloads: list[dict[str, Any]]) -> float:
    t0 = time.perf_counter()
    for i in range(0, len(vecs), 1000):
        chunk = vecs[i : i + 1000]
        ids = [str(uuid.uuid4()) for _ in range(len(chunk))]
        vector_store.insert([v.tolist() for v in chunk], payloads[i : i + 1000], ids)
    return time.perf_counter() - t0


def _precomputed_queries(store: Any, queries: list[str], vectors: np.ndarray) -> None:
    """Serve the queries' embeddings from memory, so search timings exclude the embedder."""
    emb = store._mem.embedding_model
    table = {q: v.tolist() for q, v in zip(queries, vectors, strict=True)}
    original = emb.embed
    emb.embed = lambda text, memory_action=None: table.get(text) or original(text, memory_action)


async def _search_times(
    store: Any, queries: list[str], agent_of: list[str], *, warm: bool = True
) -> list[float]:
    if warm:
        await store.search(queries[0], agent_id=agent_of[0], limit=5)
    out = []
    for q, agent in zip(queries, agent_of, strict=True):
        t0 = time.perf_counter()
        await store.search(q, agent_id=agent, limit=5)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _raw_query(shard: Any, vec: np.ndarray, agent: str, *, exact: bool, ef: int) -> list[str]:
    import qdrant_edge as qe

    flt = qe.Filter(
        must=[
            qe.FieldCondition(key="user_id", match=qe.MatchValue("resync")),
            qe.FieldCondition(key="agent_id", match=qe.MatchValue(agent)),
            qe.FieldCondition(key="state", match=qe.MatchExcept(EXCLUDED)),
        ]
    )
    params = qe.SearchParams(exact=True) if exact else qe.SearchParams(hnsw_ef=ef)
    req = qe.QueryRequest(
        query=qe.Query.Nearest(vec.tolist()), limit=5, filter=flt, with_payload=True, params=params
    )
    return [str(h.id) for h in shard.query(req)]


async def _stalls_while(coro: Any) -> tuple[Any, list[float]]:
    """Run ``coro`` while a 10 ms ticker records every event-loop lag (ms)."""
    lags: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        while not done.is_set():
            t0 = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append((time.perf_counter() - t0 - 0.01) * 1000)

    ticker = asyncio.create_task(tick())
    try:
        result = await coro
    finally:
        done.set()
        await ticker
    return result, lags or [0.0]


async def _run(quick: bool) -> list[dict[str, Any]]:
    from resync_ext.memory import create_memory_store, edge_maintenance

    n, n_local = (5_000, 1_000) if quick else (100_000, 5_000)
    n_anchor, n_query, n_query_local, n_add = (300, 30, 10, 10) if quick else (1_500, 100, 20, 30)
    rng, nrng = random.Random(42), np.random.default_rng(42)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        edge = create_memory_store(
            data_dir=Path(tmp) / "edge", qdrant_url=None, qdrant_api_key=None, engine="edge"
        )
        await edge.open()
        from resync_ext.memory.edge_vector_store import _SHARDS  # after open: Mem0 env is set

        embed = edge._mem.embedding_model  # type: ignore[attr-defined]
        turns = [_turn(rng) for _ in range(n_anchor)]
        t0 = time.perf_counter()
        anchors = np.array(embed.embed_batch([f"Q: {q}\nA: {a}" for q, a in turns]), np.float32)
        embed_rate = n_anchor / (time.perf_counter() - t0)
        queries = [_turn(rng)[0] + " Please explain." for _ in range(n_query)]
        single = []
        for q in queries[:20]:
            t0 = time.perf_counter()
            embed.embed(q, "search")
            single.append((time.perf_counter() - t0) * 1000)
        qvecs = np.array(embed.embed_batch(queries), np.float32)
        agent_of = [rng.choice(AGENTS) for _ in queries]
        _precomputed_queries(edge, queries, qvecs)
        data_note = (
            f"{n_anchor} real MiniLM turn embeddings + synthetic neighbours "
            "(cos~0.9); queries: real embeddings of unseen questions"
        )

        # add throughput through the whole path (embedding included)
        t0 = time.perf_counter()
        for q, a in (_turn(rng) for _ in range(n_add)):
            await edge.add_turn(agent_id=AGENTS[0], question=q, answer=a, evidence=[])
        add_rate = n_add / (time.perf_counter() - t0)

        vecs, idx = _synthetic(anchors, n, nrng)
        payloads = [
            _payload(*turns[i], rng, base + timedelta(seconds=k))
            for k, i in enumerate(idx.tolist())
        ]
        vs = edge._mem.vector_store  # type: ignore[attr-defined]
        raw_s = _bulk_insert(vs, vecs[:n_local], payloads[:n_local])
        raw_rate = n_local / raw_s
        edge_small = await _search_times(edge, queries[:n_query_local], agent_of[:n_query_local])

        local = create_memory_store(
            data_dir=Path(tmp) / "local", qdrant_url=None, qdrant_api_key=None, engine="local"
        )
        await local.open()
        _precomputed_queries(local, queries, qvecs)
        local_insert_s = _bulk_insert(local._mem.vector_store, vecs[:n_local], payloads[:n_local])  # type: ignore[attr-defined]
        local_small = await _search_times(local, queries[:n_query_local], agent_of[:n_query_local])
        await local.close()

        _bulk_insert(vs, vecs[n_local:], payloads[n_local:])
        await edge.close()
        # Index maintenance as the store runs it at open: in a child process, waited for from a
        # worker thread, while a ticker measures how long the event loop is kept from running.
        # The bench's own 100 000 payloads are not in a server's heap: drop them first, so a
        # full garbage collection of them cannot pass for an index-maintenance stall.
        del payloads, vecs, idx
        gc.collect()
        shard_dir = Path(tmp) / "edge" / "memory" / "edge" / "memories"
        t0 = time.perf_counter()
        indexed, lags = await _stalls_while(
            asyncio.to_thread(edge_maintenance.prepare, shard_dir, index_threshold=20_000)
        )
        index_s = time.perf_counter() - t0
        stall_ms = max(lags)
        edge = create_memory_store(
            data_dir=Path(tmp) / "edge", qdrant_url=None, qdrant_api_key=None, engine="edge"
        )
        t0 = time.perf_counter()
        await edge.open()
        reopen_s = time.perf_counter() - t0
        _precomputed_queries(edge, queries, qvecs)
        info = edge._mem.vector_store.col_info()  # type: ignore[attr-defined]
        cold = await _search_times(edge, queries, agent_of)  # first pass after reopen: cold pages
        shard = next(iter(e.shard for k, e in _SHARDS.items() if k.endswith("memories")))
        ef = edge._mem.vector_store.hnsw_ef  # type: ignore[attr-defined]
        exact_served = info["points_count"] < edge._mem.vector_store.exact_below  # type: ignore[attr-defined]
        # Store and raw engine alternate query by query, so both see the same machine load.
        edge_big, raw_ms, hits = [], [], 0
        for q, v, agent in zip(queries, qvecs, agent_of, strict=True):
            edge_big += await _search_times(edge, [q], [agent], warm=False)
            t0 = time.perf_counter()
            got = _raw_query(shard, v, agent, exact=exact_served, ef=ef)
            raw_ms.append((time.perf_counter() - t0) * 1000)
            truth = _raw_query(shard, v, agent, exact=True, ef=ef)
            hits += len(set(got) & set(truth))
        recall = hits / (5 * len(qvecs))
        await edge.close()

    common = {
        "data": data_note,
        "filter": "agent_id = one of 3 AND state NOT IN rejected*",
        "limit": 5,
        "embedding": "excluded (pre-embedded queries)",
    }
    small = {
        **common,
        "n": n_local,
        "queries": n_query_local,
        "local_bulk_insert_s": round(local_insert_s, 1),
    }
    big = {
        **common,
        "n": n,
        "queries": n_query,
        "indexed_vectors": info["indexed_vectors_count"],
        "segments": info["segments_count"],
        "search": "exact" if exact_served else f"hnsw_ef={ef}",
        "store_overfetch": "Mem0 fetches max(3*limit*4, 60) candidates with payloads",
        "cold_first_pass_p50_ms": round(statistics.median(cold), 2),
        "measured": "warm (second pass), store and raw engine alternating query by query",
    }
    el50, ll50 = statistics.median(edge_small), statistics.median(local_small)
    el95, ll95 = _pct(edge_small, 95), _pct(local_small, 95)
    e50, r50 = statistics.median(edge_big), statistics.median(raw_ms)
    embed50 = statistics.median(single)
    e95, r95 = _pct(edge_big, 95), _pct(raw_ms, 95)

    def fig(
        name: str,
        value: float,
        unit: str,
        baseline: float | None,
        params: dict[str, Any],
    ) -> dict[str, Any]:
        ratio = round(value / baseline, 3) if baseline else None
        return {
            "name": name,
            "value": round(value, 3),
            "unit": unit,
            "baseline": None if baseline is None else round(baseline, 3),
            "ratio": ratio,
            "params": params,
        }

    rows += [
        fig("memory_search_p50_edge_vs_local", el50, "ms", ll50, small),
        fig("memory_search_p95_edge_vs_local", el95, "ms", ll95, small),
        fig(
            "memory_search_p50_store_vs_raw_edge",
            e50,
            "ms",
            r50,
            {**big, "target": "p50 < 5 ms at 100 000"},
        ),
        fig("memory_search_p95_store_vs_raw_edge", e95, "ms", r95, big),
        fig(
            "memory_add_turns_per_s_vs_embed_only",
            add_rate,
            "1/s",
            1000 / embed50,
            {
                "turns": n_add,
                "path": "mask + embed + Mem0 + Edge + history row",
                "baseline": "embedding one text alone, per second",
                "raw_edge_upsert_per_s": round(raw_rate),
            },
        ),
        fig(
            "memory_embed_query_p50",
            embed50,
            "ms",
            None,
            {"model": "all-MiniLM-L6-v2 (384-d, CPU)", "batch_texts_per_s": round(embed_rate, 1)},
        ),
        fig(
            "memory_recall_at5_served_vs_exact", recall, "ratio", 1.0, {**big, "target": ">= 0.95"}
        ),
        fig(
            "memory_index_max_loop_stall",
            stall_ms,
            "ms",
            100.0,
            {
                "n": n,
                "indexed_in_child": indexed,
                "loop_lag_p99_ms": round(_pct(lags, 99), 1),
                "lags_over_100ms": sum(1 for x in lags if x > 100),
                "ticks": len(lags),
                "index_s": round(index_s, 1),
                "reopen_s": round(reopen_s, 1),
                "rule": "index in a child process when >= 20 000 points are unindexed",
                "target": "< 100 ms",
            },
        ),
    ]
    return rows


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Build the memories, measure every figure, and return them."""
    return asyncio.run(_run(quick))

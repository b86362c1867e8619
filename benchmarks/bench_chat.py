"""Chat overhead per turn, one socket and 100 sockets at once, at 10 000 memories.

A real ``jupyter server`` subprocess with Resync serves the chat; the TWS simulator (demo plan)
and a loopback OpenAI-compatible LM that answers at once (tests/llm/openai_stub.py) run in a third
process, as TWS and an LM provider are other machines in production: in the client's interpreter
their threads competed for its GIL and delayed its reads (~4 ms a turn).

A turn's latency is measured by the client, from sending the ``chat`` frame to receiving its
``final``: with an LM whose own time is ~0, that is the workbench's overhead (retrieval over the
store, the evidence tools, DSPy and LiteLLM, streaming, storing the memory). The server's own
breakdown (``final.timing``) is reported beside it. Baseline: the bare WebSocket round trip on the
same server (an unknown-type frame answered by an ``error`` frame). Target: p50 < 50 ms.

The store is seeded before the server starts with ``n`` memories of the troubleshooter (see
bench_audit.seed_memories); questions are unique so DSPy's LM cache never answers for the LM.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.bench_audit import pct, seed_memories

REPO = Path(__file__).resolve().parent.parent
TARGET = "p50 < 50 ms at 10 000 memories"


async def _seed(data_dir: Path, n: int) -> None:
    from resync_ext.memory.factory import create_memory_store

    store = create_memory_store(data_dir=data_dir, qdrant_url=None, qdrant_api_key=None)
    await store.open()
    try:
        await seed_memories(store, n, state="audited_ok")
    finally:
        await store.close()


async def _connect(server: Any) -> Any:
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    req = HTTPRequest(f"{server.ws_url}/resync/api/chat/tws-troubleshooter", headers=server.headers)
    ws = await websocket_connect(req)
    hello = json.loads(await ws.read_message() or "{}")
    if hello.get("type") != "ready":
        raise RuntimeError(f"unexpected first frame {hello}")
    return ws


async def _close(ws: Any) -> None:
    ws.close()
    try:
        async with asyncio.timeout(5):
            while await ws.read_message() is not None:
                pass
    except TimeoutError:
        pass


async def _turn(ws: Any, job: str) -> tuple[float, dict[str, Any] | None]:
    """One turn: (client-side ms, final frame or None on an error)."""
    ticket = uuid.uuid4().hex[:10]
    frame = {"type": "chat", "id": ticket, "content": f"Why did {job} fail? ticket {ticket}"}
    t0 = time.perf_counter()
    await ws.write_message(json.dumps(frame))
    while True:
        msg = json.loads(await ws.read_message())
        if msg.get("id") != ticket:
            continue
        if msg["type"] == "final":
            return (time.perf_counter() - t0) * 1000, msg
        if msg["type"] == "error":
            return (time.perf_counter() - t0) * 1000, None


async def _roundtrip(ws: Any, reps: int) -> list[float]:
    out = []
    for i in range(reps):
        t0 = time.perf_counter()
        await ws.write_message(json.dumps({"type": "ping-bench", "id": f"r{i}"}))
        msg = json.loads(await ws.read_message())
        out.append((time.perf_counter() - t0) * 1000)
        if msg.get("code") != "unknown_type":
            raise RuntimeError(f"unexpected answer {msg}")
    return out


def _breakdown(finals: list[dict[str, Any]]) -> dict[str, float]:
    timings = [f["timing"] for f in finals]
    out = {
        k: round(statistics.median(t.get(k, 0.0) for t in timings), 2)
        for k in ("retrieval_ms", "lm_ms", "store_ms", "total_ms")
    }
    out["tools_ms"] = round(statistics.median(sum(x["ms"] for x in t["tools"]) for t in timings), 2)
    out["tool_calls"] = statistics.median(len(t["tools"]) for t in timings)
    return out


async def _measure(server: Any, turns: int, sockets: int, reps: int) -> dict[str, Any]:
    async with asyncio.timeout(600):
        ws = await _connect(server)
        base = await _roundtrip(ws, reps)
        for _ in range(3):  # warm: imports, the first LM client, the TWS cache
            await _turn(ws, "PAYROLL_EXTRACT")
        one, one_finals, errors = [], [], 0
        for _ in range(turns):
            ms, final = await _turn(ws, "PAYROLL_EXTRACT")
            one.append(ms)
            if final is None:
                errors += 1
            else:
                one_finals.append(final)
        await _close(ws)
        many_ws = await asyncio.gather(*(_connect(server) for _ in range(sockets)))
        results = await asyncio.gather(*(_turn(w, "PAYROLL_EXTRACT") for w in many_ws))
        await asyncio.gather(*(_close(w) for w in many_ws))
    many = [ms for ms, _ in results]
    many_finals = [f for _, f in results if f is not None]
    return {
        "base": base,
        "one": one,
        "one_finals": one_finals,
        "one_errors": errors,
        "many": many,
        "many_finals": many_finals,
        "many_errors": len(results) - len(many_finals),
    }


def _rows(m: dict[str, Any], n: int, sockets: int) -> list[dict[str, Any]]:
    base50, base95 = pct(m["base"], 50), pct(m["base"], 95)
    common = {
        "memories": n,
        "lm": "loopback OpenAI-compatible stub answering at once (LM's own time ~0)",
        "baseline_is": "WebSocket round trip: unknown-type frame -> error frame, same server",
        "target": TARGET,
    }
    rows = []
    for label, key, extra in (
        ("1_socket", "one", {"turns": len(m["one"]), "errors": m["one_errors"]}),
        ("100_sockets", "many", {"sockets": sockets, "errors": m["many_errors"]}),
    ):
        breakdown = _breakdown(m[f"{key}_finals"]) if m[f"{key}_finals"] else {}
        for q, base in ((50, base50), (95, base95)):
            value = pct(m[key], q)
            rows.append(
                {
                    "name": f"chat_overhead_{label}_p{q}",
                    "value": round(value, 1),
                    "unit": "ms",
                    "baseline": round(base, 2),
                    "ratio": round(value / base, 1),
                    "params": {**common, **extra, "server_median": breakdown},
                }
            )
    # What concurrency buys: turns per second with 100 sockets vs one socket asking in turn.
    many_rate = len(m["many"]) / (max(m["many"]) / 1000)
    one_rate = 1000 / statistics.mean(m["one"])
    rows.append(
        {
            "name": "chat_turns_per_s_100_sockets",
            "value": round(many_rate, 2),
            "unit": "turns/s",
            "baseline": round(one_rate, 2),
            "ratio": round(many_rate / one_rate, 2),
            "params": {
                "memories": n,
                "sockets": sockets,
                "baseline_is": "turns per second of one socket asking one turn at a time",
            },
        }
    )
    return rows


def _serve_backends(conn: Any) -> None:
    """In a child process: serve the simulator and the stub LM until told to stop."""
    from resync_ext.tws.simulator.testing import run_in_thread
    from tests.llm.openai_stub import OpenAIStub
    from tests.load.chat_client import LMScript

    with run_in_thread("demo") as sim, OpenAIStub(reply=LMScript()) as stub:
        conn.send((sim.url, stub.base_url))
        conn.recv()


@contextlib.contextmanager
def _backends() -> Iterator[tuple[str, str]]:
    """Run the simulator and the stub LM in a child process; yield their URLs."""
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    child = ctx.Process(target=_serve_backends, args=(theirs,), daemon=True)
    child.start()
    try:
        if not ours.poll(120):
            raise RuntimeError("the simulator and stub LM process did not start")
        yield ours.recv()
    finally:
        with contextlib.suppress(OSError):
            ours.send("stop")
        child.join(timeout=30)
        if child.is_alive():
            child.kill()


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Measure chat overhead through a real server; return the figures."""
    from tests.server_process import ServerProcess

    n, turns, sockets, reps = (1_000, 20, 100, 50) if quick else (10_000, 50, 100, 200)
    with tempfile.TemporaryDirectory() as d, _backends() as (sim_url, lm_url):
        root = Path(d)
        data_dir = root / "data"
        data_dir.mkdir()
        asyncio.run(_seed(data_dir, n))
        server = ServerProcess(
            root,
            {
                "tws_url": sim_url,
                "lm_model": "openai/stub-model",
                "lm_api_base": lm_url,
                "lm_api_key": "sk-bench",
                "lm_timeout": 60.0,
                "open_memory": True,
                "audit_interval_min": 0.0,
                "report_cron": "",
                "agents_config": str(REPO / "config" / "runtime.json"),
            },
            data_dir=data_dir,
            fresh_lm_cache=True,
        )
        server.start()
        try:
            server.wait_memory_open()
            measured = asyncio.run(_measure(server, turns, sockets, reps))
        finally:
            server.stop()
    if measured["one_errors"] or measured["many_errors"]:
        raise RuntimeError(
            f"chat turns failed: {measured['one_errors']} sequential, "
            f"{measured['many_errors']} concurrent"
        )
    return _rows(measured, n, sockets)

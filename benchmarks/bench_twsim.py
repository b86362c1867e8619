"""TWS simulator: OQL query latency on the 52 000-job ``bulk`` plan.

Two families of figures, each beside a baseline measured in the same run:

- ``twsim.query.<name>.p50|p95_ms``: HTTP latency of ``GET /twsd/api/v2/plan/job?oql=...``
  (keep-alive client on loopback, page of 100). Baseline: the p50 of ``GET /engine/info`` on
  the same connection, i.e. the fixed cost of an authenticated HTTP round trip, so the ratio is
  what the query itself costs on top of HTTP.
- ``twsim.select.<name>_ms``: the same filter answered in process by the planner (indexes then
  the compiled predicate). Baseline: a plain linear scan of the 52 000 jobs with the same
  compiled predicate and no index; the ratio below 1 is the gain from the indexes.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx

from resync_ext.tws.simulator import oql
from resync_ext.tws.simulator.entities import entity, select
from resync_ext.tws.simulator.plan import Plan
from resync_ext.tws.simulator.query import compile_filter, sort_records
from resync_ext.tws.simulator.testing import run_in_thread

QUERIES = {
    "abended": "status = 'ABEND'",
    "ws_errors": "workstation = 'AGT_G007' AND commonStatus = 'ERROR'",
    "stream": "jobStreamName = 'PAY_00001'",
    "like_indexed": "name LIKE 'PAY@' AND status = 'SUCC'",
    "in_order_by": "commonStatus IN ['ERROR', 'RUNNING'] ORDER BY name DESC",
    "unindexed_rc": "jobruns.returnCode > 4",
}


def _times(fn: Callable[[], Any], repeat: int) -> list[float]:
    fn()  # warm up
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _scan(plan: Plan, text: str) -> list[Any]:
    query = oql.parse(text)
    ent, records = entity(plan, "job")
    predicate = compile_filter(query.where, ent)
    found = [r for r in records if predicate(r)]
    if query.order:
        sort_records(found, query.order, ent)
    return found


def run(quick: bool) -> list[dict[str, Any]]:
    """Measure query latency on the bulk plan over HTTP and in process."""
    repeat = 15 if quick else 60
    results: list[dict[str, Any]] = []
    with (
        run_in_thread("bulk") as sim,
        httpx.Client(base_url=sim.url, auth=sim.auth, timeout=60) as client,
    ):
        plan = sim.plan
        jobs = len(plan.jobs)
        floor = statistics.median(
            _times(lambda: client.get("/twsd/api/v2/engine/info").raise_for_status(), repeat)
        )
        for name, text in QUERIES.items():
            params = {"oql": text, "limit": 100}
            samples = _times(
                lambda p=params: client.get("/twsd/api/v2/plan/job", params=p).raise_for_status(),
                repeat,
            )
            common = {"jobs": jobs, "oql": text, "limit": 100, "repeat": repeat,
                      "baseline": "p50 of GET /engine/info (HTTP round trip)"}  # fmt: skip
            for label, value in (("p50", statistics.median(samples)), ("p95", _p95(samples))):
                results.append({
                    "name": f"twsim.query.{name}.{label}_ms", "value": value, "unit": "ms",
                    "baseline": floor, "ratio": value / floor if floor else None,
                    "params": common,
                })  # fmt: skip
        with plan.lock:
            for name, text in QUERIES.items():
                assert select(plan, "job", text) == _scan(plan, text)
                fast = statistics.median(_times(lambda t=text: select(plan, "job", t), repeat))
                slow = statistics.median(_times(lambda t=text: _scan(plan, t), max(3, repeat // 5)))
                results.append({
                    "name": f"twsim.select.{name}_ms", "value": fast, "unit": "ms",
                    "baseline": slow, "ratio": fast / slow if slow else None,
                    "params": {"jobs": jobs, "oql": text,
                               "baseline": "linear scan with the same predicate, no index"},
                })  # fmt: skip
    return results

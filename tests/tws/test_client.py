"""TWSClient against the real simulator over HTTP: endpoints, paging, auth, cache, faults."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import Any

import pytest

from resync_ext.tws.client import TWSClient
from resync_ext.tws.errors import (
    TWSAuthError,
    TWSBadRequest,
    TWSError,
    TWSNotFound,
    TWSUnavailable,
)
from resync_ext.tws.models import Job, JobStream
from resync_ext.tws.resilience import CircuitBreaker, RetryPolicy
from resync_ext.tws.simulator.testing import ThreadedSimulator

API = "/twsd/api/v2"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


class _Max(random.Random):
    """Make full jitter deterministic: always the cap."""

    def uniform(self, a: float, b: float) -> float:
        return b


def client_for(sim: ThreadedSimulator, **kw: Any) -> TWSClient:
    kw.setdefault("retry", RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02))
    if "api_key" not in kw:
        kw.setdefault("user", sim.user)
        kw.setdefault("password", sim.password)
    return TWSClient(sim.url, **kw)


def hwa_calls(sim: ThreadedSimulator, pred: Callable[[dict[str, Any]], bool] = bool) -> list:
    return [c for c in sim.calls() if c["path"].startswith(API) and pred(c)]


@pytest.mark.asyncio
async def test_reads_every_endpoint_of_the_demo_plan(twsim: ThreadedSimulator) -> None:
    async with client_for(twsim) as c:
        info = await c.engine_info()
        assert info.display_version and info.timezone

        page = await c.list_jobs("name = 'PAYROLL_EXTRACT'")
        (extract,) = page.items
        assert extract.job_stream_name == "DAILY_PAY" and extract.internal_status == "ABEND"
        assert extract.status == "ERROR" and extract.is_failure and extract.return_code == 12

        full = await c.get_job(extract.id or "")
        assert full.id == extract.id and full.job_definition and full.job_definition.command

        counts = await c.count_jobs("status")
        assert sum(counts.grouped_count.values()) == counts.count > 200
        assert counts.grouped_count["ERROR"] >= 4

        log = await c.get_job_log(full.latest_run.id if full.latest_run else None)
        assert "ORA-01017" in log and "Exit Status" in log
        assert await c.get_job_log(job_id=full.id) == log
        tail = await c.get_job_log(job_id=full.id, tail_lines=3)
        assert tail.splitlines() == log.splitlines()[-3:]
        head = await c.get_job_log(job_id=full.id, line_range=(1, 2))
        assert len(head.splitlines()) == 2 and head.splitlines()[0] == log.splitlines()[0]

        succs = await c.job_successors(full.id or "")
        held = [n for n in succs if isinstance(n, Job)]
        assert held and all(j.substatus == "HOLD_WAITING_FOR_PREDECESSOR" for j in held)
        preds = await c.job_predecessors(held[0].id or "")
        assert extract.id in {n.id for n in preds}
        deeper = await c.job_successors(full.id or "", depth=3)
        assert len(deeper) >= len(succs)

        streams = await c.list_job_streams("name = 'DAILY_PAY'")
        (daily,) = streams.items
        stream = await c.get_job_stream(daily.id or "")
        assert isinstance(stream, JobStream) and "PAYROLL_EXTRACT" in {j.name for j in stream.jobs}
        assert stream.status == "ERROR"
        await c.job_stream_predecessors(daily.id or "")

        stations = await c.list_workstations()
        by_name = {w.name: w for w in stations.items}
        assert by_name["AGT_WIN02"].problems == ["unlinked"]
        assert "fence 40" in by_name["AGT_BKP01"].problems
        one = await c.get_workstation(by_name["AGT_WIN02"].id or "")
        assert one.name == "AGT_WIN02" and not one.is_linked

        resources = await c.list_resources()
        assert {r.name for r in resources.items if r.is_exhausted} >= {"DB_SLOTS"}
        assert 0 < await c.ping() < 5
    paths = {c["path"].replace(API, "") for c in hwa_calls(twsim)}
    for fragment in (
        "/engine/info",
        "/plan/job",
        "/plan/job/count",
        "/joblog",
        "/successors",
        "/predecessors",
        "/plan/jobstream",
        "/plan/workstation",
        "/plan/resource",
    ):
        assert any(fragment in p for p in paths), fragment
    assert {c["method"] for c in twsim.calls()} == {"GET"}


@pytest.mark.asyncio
async def test_paging_follows_pages_and_reports_truncation(twsim: ThreadedSimulator) -> None:
    async with client_for(twsim, page_size=50) as c:
        everything = await c.list_jobs()
        assert not everything.truncated and len(everything.items) == everything.total
        pages = hwa_calls(twsim, lambda x: x["path"] == f"{API}/plan/job")
        assert len(pages) == -(-len(everything.items) // 50)
        assert [int(p["params"]["offset"]) for p in pages] == [50 * i for i in range(len(pages))]
        assert len({j.id for j in everything.items}) == len(everything.items)  # no overlaps

        some = await c.list_jobs(limit=120, fresh=True)
        assert len(some.items) == 120 and some.truncated and some.total == everything.total


@pytest.mark.asyncio
async def test_bad_credentials_are_an_auth_error_without_retries(
    twsim: ThreadedSimulator,
) -> None:
    async with client_for(twsim, password="wrong") as c:
        with pytest.raises(TWSAuthError) as err:
            await c.engine_info()
    assert err.value.status == 401 and "AWSBEH021E" in err.value.message
    assert err.value.path == f"{API}/engine/info"
    assert len(hwa_calls(twsim)) == 1
    assert c.breaker_state == "closed"

    async with client_for(twsim, api_key=twsim.api_key) as c:
        assert (await c.engine_info()).display_version
    assert hwa_calls(twsim)[-1]["auth"] == "bearer"


@pytest.mark.asyncio
async def test_unknown_id_and_bad_oql_are_typed_and_not_retried(
    twsim: ThreadedSimulator,
) -> None:
    async with client_for(twsim) as c:
        with pytest.raises(TWSNotFound) as nf:
            await c.get_job(UNKNOWN_ID)
        assert nf.value.status == 404
        with pytest.raises(TWSBadRequest) as bad:
            await c.list_jobs("name = = 'X'")
        assert bad.value.status == 400 and bad.value.message
    assert len(hwa_calls(twsim)) == 2


@pytest.mark.asyncio
async def test_cache_serves_repeats_and_fresh_bypasses(twsim: ThreadedSimulator) -> None:
    async with client_for(twsim) as c:
        first = await c.list_jobs("name = 'PAYROLL_EXTRACT'")
        again = await c.list_jobs("name = 'PAYROLL_EXTRACT'")
        assert again.items[0].id == first.items[0].id
        await c.engine_info()
        await c.engine_info()
        assert len(hwa_calls(twsim)) == 2
        await c.list_jobs("name = 'PAYROLL_EXTRACT'", fresh=True)
        assert len(hwa_calls(twsim)) == 3
        assert c.stats()["cache"]["hits"] == 2


@pytest.mark.asyncio
async def test_concurrent_identical_reads_are_coalesced(twsim: ThreadedSimulator) -> None:
    twsim.set_faults(latency_ms=200)
    async with client_for(twsim) as c:
        results = await asyncio.gather(*(c.count_jobs("status") for _ in range(20)))
    assert len({r.count for r in results}) == 1
    assert len(hwa_calls(twsim)) == 1
    assert c.stats()["cache"]["coalesced"] == 19


@pytest.mark.asyncio
async def test_5xx_is_retried_then_reported_unavailable(twsim: ThreadedSimulator) -> None:
    twsim.set_faults(error_rate=1.0, error_status=503)
    async with client_for(twsim) as c:
        with pytest.raises(TWSUnavailable) as err:
            await c.engine_info()
    assert err.value.status == 503 and "AWSBEH023E" in err.value.message
    assert len(hwa_calls(twsim)) == 3 and c.stats()["retries"] == 2


@pytest.mark.asyncio
async def test_other_4xx_is_never_retried(twsim: ThreadedSimulator) -> None:
    twsim.set_faults(error_rate=1.0, error_status=409)
    async with client_for(twsim) as c:
        with pytest.raises(TWSError) as err:
            await c.engine_info()
    assert err.value.status == 409 and not isinstance(err.value, TWSUnavailable)
    assert len(hwa_calls(twsim)) == 1


@pytest.mark.asyncio
async def test_a_retry_succeeds_when_the_engine_recovers(twsim: ThreadedSimulator) -> None:
    twsim.set_faults(error_rate=1.0, error_status=502)
    policy = RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=0.5, rng=_Max())
    async with client_for(twsim, retry=policy) as c:
        task = asyncio.create_task(c.engine_info())
        while not hwa_calls(twsim, lambda x: x["status"] == 502):
            await asyncio.sleep(0.02)
        twsim.clear_faults()  # the engine comes back during the backoff
        assert (await task).display_version
    assert [x["status"] for x in hwa_calls(twsim)] == [502, 200]


@pytest.mark.asyncio
async def test_timeouts_are_retried_and_reported(twsim: ThreadedSimulator) -> None:
    twsim.set_faults(latency_ms=1000)
    async with client_for(twsim, timeout=0.15, retry=RetryPolicy(2, 0.01, 0.01)) as c:
        with pytest.raises(TWSUnavailable, match="timeout"):
            await c.engine_info()
    assert len(hwa_calls(twsim)) == 2


@pytest.mark.asyncio
async def test_breaker_fails_fast_while_down_and_probes_back(twsim: ThreadedSimulator) -> None:
    twsim.set_faults(down=True)
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=0.4)
    async with client_for(twsim, retry=RetryPolicy(max_attempts=1), breaker=breaker) as c:
        for _ in range(2):
            with pytest.raises(TWSUnavailable, match="connection"):
                await c.engine_info()
        assert c.breaker_state == "open"
        sent = len(hwa_calls(twsim))
        start = time.perf_counter()
        with pytest.raises(TWSUnavailable, match="circuit open"):
            await c.list_jobs()
        assert time.perf_counter() - start < 0.05 and len(hwa_calls(twsim)) == sent

        twsim.clear_faults()
        await asyncio.sleep(0.45)
        assert c.breaker_state == "half_open"
        assert (await c.engine_info()).display_version  # the probe
        assert c.breaker_state == "closed"
        assert c.stats()["breaker"]["opened"] == 1

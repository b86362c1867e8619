"""Pieces of the client that need no server: cache, breaker, retry timing, guard, models."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime

import httpx
import pytest

from resync_ext.tws.cache import TTLCache
from resync_ext.tws.client import TWSClient
from resync_ext.tws.guard import is_read_path
from resync_ext.tws.models import Job, Workstation, common_status
from resync_ext.tws.resilience import CircuitBreaker, RetryPolicy, parse_retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.asyncio
async def test_cache_expires_evicts_lru_and_coalesces() -> None:
    clock = Clock()
    cache = TTLCache(2, clock=clock)
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return calls

    results = await asyncio.gather(*(cache.get_or_load("a", load, 5) for _ in range(10)))
    assert results == [1] * 10 and calls == 1 and cache.stats.coalesced == 9
    assert await cache.get_or_load("a", load, 5) == 1  # hit
    assert await cache.get_or_load("a", load, 5, fresh=True) == 2  # bypass refreshes
    clock.now += 6
    assert await cache.get_or_load("a", load, 5) == 3  # expired
    await cache.get_or_load("b", load, 5)
    await cache.get_or_load("c", load, 5)
    assert cache.get("a") == (False, None) and len(cache) == 2  # least recently used went


@pytest.mark.asyncio
async def test_cache_does_not_keep_failures() -> None:
    cache = TTLCache(4)
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("boom")
        return "ok"

    with pytest.raises(RuntimeError):
        await cache.get_or_load("k", flaky, 60)
    assert await cache.get_or_load("k", flaky, 60) == "ok"


def test_breaker_opens_half_opens_and_closes() -> None:
    clock = Clock()
    br = CircuitBreaker(failure_threshold=3, reset_timeout=10, clock=clock)
    for _ in range(3):
        assert br.allow()
        br.record_failure()
    assert br.state == "open" and not br.allow()
    clock.now += 10
    assert br.state == "half_open"
    assert br.allow() and not br.allow()  # a single probe
    br.record_failure()
    assert br.state == "open"
    clock.now += 10
    assert br.allow()
    br.record_success()
    assert br.state == "closed" and br.consecutive_failures == 0


def test_full_jitter_backoff_and_retry_after() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4, rng=random.Random(7))
    for attempt in range(1, 8):
        cap = min(4, 0.5 * 2 ** (attempt - 1))
        assert all(0 <= policy.backoff(attempt) <= cap for _ in range(50))
    assert policy.delay(1, 2.0) == 2.0
    assert policy.delay(1, 999) == policy.max_retry_after
    assert parse_retry_after("3") == 3.0
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:05 GMT", now=now) == 5.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("/engine/info", True),
        ("/plan/job", True),
        ("/plan/job/count", True),
        ("/plan/job/4b3c1f0e-8a2d-3c55-9f10-2d7e6a9b1c01", True),
        ("/plan/job/4b3c1f0e-8a2d-3c55-9f10-2d7e6a9b1c01/successors", True),
        ("/plan/job/run/b7e2c0aa-1f3d-3e77-8c21-0f5a9d4e7a10/joblog", True),
        ("/plan/jobstream/x1/predecessors", True),
        ("/plan/workstation/af93", True),
        ("/plan/resource", True),
        ("/plan/job/4b3c1f0e/action/hold", False),
        ("/plan/job/action/rerun", False),
        ("/plan/job/run/b7e2/action/rerun", False),
        ("/plan/job/submit-ad-hoc-job", False),
        ("/plan/workstation/af93/action/link", False),
        ("/plan/prompt/p1/action/reply", False),
        ("/model/jobdefinition", False),
        ("/plan/job/../job/x/action/kill", False),
    ],
)
def test_read_path_allow_list(path: str, ok: bool) -> None:
    assert is_read_path(path) is ok


def test_status_mapping_and_helpers() -> None:
    assert common_status("ABEND") == "ERROR"
    assert common_status("HOLD") == "WAITING"
    assert common_status("HOLD", "HOLD_PRIORITY_ZERO") == "HELD"
    assert common_status("SUCC") == "SUCCESSFUL"
    job = Job.model_validate(
        {
            "name": "PAYROLL01",
            "jobStreamName": "PAYROLL",
            "jobStreamWorkstation": "/MDM",
            "lastRunCompositeStatus": {"status": "ABEND"},
            "jobOptions": {"critical": True},
            "jobruns": [
                {"id": "r1", "returnCode": 4, "lastInRerunChain": False},
                {"id": "r2", "returnCode": 12, "lastInRerunChain": True, "unknown": 1},
            ],
            "somethingNew": {"x": 1},
        }
    )
    assert job.status == "ERROR" and job.is_failure and job.is_terminal and job.is_critical
    assert job.return_code == 12 and job.qualified_name == "MDM#PAYROLL.PAYROLL01"
    held = Job.model_validate({"name": "X", "lastRunCompositeStatus": {"status": "HOLD"}})
    assert not held.is_failure and not held.is_terminal
    ws = Workstation.model_validate({"name": "A", "type": "AGENT", "activeStates": ["RUNNING"]})
    assert ws.problems == ["unlinked"]


@pytest.mark.asyncio
async def test_retry_after_is_honoured_on_429() -> None:
    # The simulator sends no Retry-After, so this one answer comes from a transport fake.
    answers = [
        httpx.Response(429, headers={"Retry-After": "0.3"}, json={"messages": ["slow down"]}),
        httpx.Response(200, json={"displayVersion": "10.2.5"}),
    ]
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return answers[len(seen) - 1]

    client = TWSClient(
        "http://127.0.0.1:9",
        user="u",
        password="p",
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.001),
    )
    async with client:
        start = time.perf_counter()
        info = await client.engine_info()
        assert time.perf_counter() - start >= 0.3
    assert info.display_version == "10.2.5" and len(seen) == 2
    assert client.breaker_state == "closed"

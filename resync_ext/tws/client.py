"""Read-only async client for the HWA/TWS REST API v2 (pool, TTL cache, retries, breaker).

Every request passes through ``guard.ReadOnlyTransport``, which refuses anything but a GET/HEAD of
an allow-listed read endpoint on the configured host before a byte is sent, whatever code builds
the request.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, NamedTuple, TypeVar
from urllib.parse import parse_qs, quote, urlsplit

import httpx
from pydantic import BaseModel

from .cache import TTLCache
from .errors import (
    TWSAuthError,
    TWSBadRequest,
    TWSError,
    TWSNotFound,
    TWSUnavailable,
)
from .guard import API, ReadOnlyTransport
from .models import (
    EngineInfo,
    Job,
    JobCount,
    JobStream,
    Page,
    Resource,
    Workstation,
    parse_flow_node,
)
from .resilience import RETRYABLE_STATUS, CircuitBreaker, RetryPolicy, parse_retry_after

M = TypeVar("M", bound=BaseModel)


def _error_message(resp: httpx.Response) -> tuple[str, list[str]]:
    """Pull the product's message(s) out of a JSON error body."""
    try:
        body = resp.json()
    except ValueError:
        return (resp.text.strip()[:300] or resp.reason_phrase), []
    if not isinstance(body, dict):
        return resp.reason_phrase, []
    messages = [str(m) for m in body.get("messages") or [] if m]
    message = body.get("message") or (messages[0] if messages else None)
    return str(message or body.get("exceptionName") or resp.reason_phrase), messages


def _raise_for_status(resp: httpx.Response, path: str) -> None:
    message, messages = _error_message(resp)
    status = resp.status_code
    cls: type[TWSError] = TWSError
    if status in (401, 403):
        cls = TWSAuthError
    elif status == 404:
        cls = TWSNotFound
    elif status == 400:
        cls = TWSBadRequest
    raise cls(message, status=status, path=path, messages=messages)


class _PageData(NamedTuple):
    total: int | None
    next: str | None
    items: list[Any]


def _next_offset(next_url: str | None, offset: int, got: int) -> int:
    """Read the offset of the next page from ``next``, or step past what we got."""
    if next_url:
        value = parse_qs(urlsplit(next_url).query).get("offset")
        if value and value[0].isdigit() and int(value[0]) > offset:
            return int(value[0])
    return offset + got


@functools.cache
def _page_of(model: type[BaseModel]) -> type[Page[Any]]:
    """Return ``Page[model]``, parametrised once (pydantic's ``[]`` costs ~0.2 ms a call)."""
    return Page[model]  # type: ignore[valid-type]


class TWSClient:
    """Read the HWA plan through REST API v2; never writes."""

    def __init__(
        self,
        base_url: str,
        *,
        user: str | None = None,
        password: str | None = None,
        api_key: str | None = None,
        verify: bool = True,
        ca_bundle: str | None = None,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        max_connections: int = 10,
        cache_ttl: float = 10.0,
        static_cache_ttl: float = 300.0,
        cache_size: int = 512,
        page_size: int = 500,
        max_items: int = 1000,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.log = logger or logging.getLogger("resync_ext.tws")
        self.base_url = httpx.URL(base_url.rstrip("/"))
        if transport is None:
            transport = httpx.AsyncHTTPTransport(
                verify=self._tls(verify, ca_bundle),
                http1=True,
                http2=False,
                limits=httpx.Limits(
                    max_connections=max_connections,
                    max_keepalive_connections=max_connections,
                    keepalive_expiry=30.0,
                ),
            )
        headers = {"Accept": "application/json", "Include-Count": "true"}
        auth: httpx.Auth | None = None
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        elif user is not None:
            auth = httpx.BasicAuth(user, password or "")
        self.guard = ReadOnlyTransport(transport, self.base_url)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            auth=auth,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=connect_timeout, pool=connect_timeout),
            transport=self.guard,
            follow_redirects=False,
            trust_env=False,  # no proxy/netrc from the environment: the guard sees every byte
        )
        self._ttl = {"plan": cache_ttl, "static": static_cache_ttl}
        self.cache = TTLCache(cache_size)
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker()
        self.page_size = page_size
        self.max_items = max_items
        self.counters = {"requests": 0, "retries": 0, "failures": 0}
        #: Called as ``observe(path, status_or_None, seconds)`` after every request (metrics).
        self.observe: Callable[[str, int | None, float], None] | None = None

    def _tls(self, verify: bool, ca_bundle: str | None) -> ssl.SSLContext | bool:
        if not verify:
            self.log.warning(
                "TLS certificate verification is OFF for %s: anyone on the path can "
                "impersonate the engine; set a CA bundle instead",
                self.base_url,
            )
            return False
        try:
            return ssl.create_default_context(cafile=ca_bundle or None)
        except (OSError, ssl.SSLError) as e:
            raise ValueError(f"cannot load the TWS CA bundle {ca_bundle!r}: {e}") from e

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> TWSClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def breaker_state(self) -> str:
        """Return the circuit breaker state: ``closed``, ``open`` or ``half_open``."""
        return self.breaker.state

    def stats(self) -> dict[str, Any]:
        """Return request, cache and breaker counters for health checks and metrics."""
        c = self.cache.stats
        return {
            **self.counters,
            "cache": {
                "hits": c.hits,
                "misses": c.misses,
                "coalesced": c.coalesced,
                "entries": len(self.cache),
            },
            "breaker": {
                "state": self.breaker.state,
                "opened": self.breaker.opened_count,
                "consecutive_failures": self.breaker.consecutive_failures,
            },
        }

    # -- transport-level read with retries and the breaker ---------------------------------

    def _observe(self, url: str, status: int | None, started: float) -> None:
        if self.observe is not None:
            self.observe(url, status, time.perf_counter() - started)

    async def _fetch(
        self, path: str, params: dict[str, Any], *, text: bool = False, attempts: int | None = None
    ) -> Any:
        url = API + path
        last: TWSUnavailable | None = None
        attempts = attempts or self.retry.max_attempts
        for attempt in range(1, attempts + 1):
            if not self.breaker.allow():
                raise TWSUnavailable(
                    f"TWS engine unavailable (circuit open, retry in "
                    f"{self.breaker.retry_in():.0f}s)",
                    path=url,
                    retry_after=self.breaker.retry_in(),
                ) from last
            retry_after: float | None = None
            self.counters["requests"] += 1
            started = time.perf_counter()
            try:
                resp = await self._http.get(url, params=params)
            except httpx.TransportError as e:
                self._observe(url, None, started)
                self.breaker.record_failure()
                self.counters["failures"] += 1
                if "CERTIFICATE_VERIFY_FAILED" in str(e):
                    raise TWSUnavailable(
                        f"TLS certificate of {self.base_url.host} not trusted ({e}); "
                        "configure the CA bundle",
                        path=url,
                    ) from e
                kind = "timeout" if isinstance(e, httpx.TimeoutException) else "connection error"
                last = TWSUnavailable(f"TWS {kind}: {e or type(e).__name__}", path=url)
                last.__cause__ = e
            except BaseException:
                self.breaker.release_probe()  # cancelled or refused: no verdict on the engine
                raise
            else:
                self._observe(url, resp.status_code, started)
                if resp.status_code < 400:
                    self.breaker.record_success()
                    return resp.text if text else resp.json()
                if resp.status_code not in RETRYABLE_STATUS:
                    self.breaker.record_success()  # the engine answered; the request was wrong
                    _raise_for_status(resp, url)
                message, messages = _error_message(resp)
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                if resp.status_code == 429:
                    self.breaker.release_probe()  # throttled, not down
                else:
                    self.breaker.record_failure()
                self.counters["failures"] += 1
                last = TWSUnavailable(
                    f"TWS answered {resp.status_code}: {message}",
                    status=resp.status_code,
                    path=url,
                    messages=messages,
                    retry_after=retry_after,
                )
            if attempt < attempts:
                self.counters["retries"] += 1
                delay = self.retry.delay(attempt, retry_after)
                self.log.info(
                    "TWS read %s failed (%s); retry %d in %.2fs", url, last, attempt, delay
                )
                await asyncio.sleep(delay)
        assert last is not None
        raise last

    async def _get(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        kind: str = "plan",
        fresh: bool = False,
        text: bool = False,
        parse: Callable[[Any], Any] | None = None,
    ) -> Any:
        """Read through the cache; ``parse`` runs once per load, so hits cost no validation."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        key = (path, text, tuple(sorted((k, str(v)) for k, v in clean.items())))

        async def load() -> Any:
            data = await self._fetch(path, clean, text=text)
            return parse(data) if parse else data

        return await self.cache.get_or_load(key, load, self._ttl[kind], fresh=fresh)

    async def _list(
        self, path: str, oql: str | None, model: type[M], *, limit: int | None, fresh: bool
    ) -> Page[M]:
        """Follow pages up to ``limit`` items and say whether more were left."""
        wanted = max(1, limit or self.max_items)
        size = min(self.page_size, wanted)
        items: list[M] = []
        offset, total, more = 0, None, False

        def parse(data: dict[str, Any]) -> _PageData:
            results = [model.model_validate(r) for r in data.get("results") or []]
            count = data.get("count")
            return _PageData(count if isinstance(count, int) else None, data.get("next"), results)

        while True:
            page: _PageData = await self._get(
                path, {"oql": oql, "limit": size, "offset": offset}, fresh=fresh, parse=parse
            )
            total = page.total if page.total is not None else total
            items.extend(page.items)
            more = bool(page.next) and bool(page.items)
            if not more or len(items) >= wanted:
                break
            offset = _next_offset(page.next, offset, len(page.items))
        if len(items) > wanted:
            items, more = items[:wanted], True
        truncated = more or (total is not None and total > len(items))
        # The items were validated as they were parsed: build the page without a second pass.
        return _page_of(model).model_construct(items=items, total=total, truncated=truncated)

    # -- endpoints --------------------------------------------------------------------------

    async def engine_info(self, *, fresh: bool = False) -> EngineInfo:
        """Return the engine's version, time zone and licence."""
        return EngineInfo.model_validate(
            await self._get("/engine/info", kind="static", fresh=fresh)
        )

    async def ping(self) -> float:
        """Read engine info once, uncached and without retries; return the latency in seconds."""
        start = time.perf_counter()
        await self._fetch("/engine/info", {}, attempts=1)
        return time.perf_counter() - start

    async def list_jobs(
        self, oql: str | None = None, *, limit: int | None = None, fresh: bool = False
    ) -> Page[Job]:
        """Return jobs in the current plan matching ``oql`` (pages followed up to ``limit``)."""
        return await self._list("/plan/job", oql, Job, limit=limit, fresh=fresh)

    async def count_jobs(
        self,
        group_by: str | Sequence[str] | None = None,
        *,
        plan_filter: str | None = None,
        fresh: bool = False,
    ) -> JobCount:
        """Count jobs in plan, optionally grouped by ``status``, ``workstation`` or ``folder``."""
        groups = [group_by] if isinstance(group_by, str) else list(group_by or [])
        params = {"grouping_filters": ",".join(groups) or None, "plan_filter": plan_filter}
        return await self._get(
            "/plan/job/count", params, fresh=fresh, parse=JobCount.model_validate
        )

    async def get_job(self, job_id: str, *, fresh: bool = False) -> Job:
        """Return one job in plan by id, with its dependencies."""
        return await self._get(f"/plan/job/{_seg(job_id)}", fresh=fresh, parse=Job.model_validate)

    async def get_job_log(
        self,
        run_id: str | None = None,
        *,
        job_id: str | None = None,
        tail_lines: int | None = None,
        line_range: tuple[int, int] | None = None,
        fresh: bool = False,
    ) -> str:
        """Return a run's job log as text (by run id, or the latest run of ``job_id``)."""
        if run_id is None:
            if job_id is None:
                raise ValueError("give run_id or job_id")
            run = (await self.get_job(job_id, fresh=fresh)).latest_run
            if run is None or not run.id:
                raise TWSNotFound(
                    "the job has not run yet: no job log",
                    status=404,
                    path=f"{API}/plan/job/{job_id}",
                )
            run_id = run.id
        params = {"from_line": line_range[0], "to_line": line_range[1]} if line_range else {}
        text: str = await self._get(
            f"/plan/job/run/{_seg(run_id)}/joblog", params, text=True, fresh=fresh
        )
        if tail_lines is not None:
            lines = text.splitlines()
            text = "\n".join(lines[-tail_lines:] if tail_lines > 0 else [])
        return text

    async def job_predecessors(
        self, job_id: str, depth: int = 1, *, fresh: bool = False
    ) -> list[Job | JobStream]:
        """Return the jobs and streams this job depends on, ``depth`` levels up."""
        return await self._flow(f"/plan/job/{_seg(job_id)}/predecessors", depth, fresh)

    async def job_successors(
        self, job_id: str, depth: int = 1, *, fresh: bool = False
    ) -> list[Job | JobStream]:
        """Return the jobs and streams that depend on this job, ``depth`` levels down."""
        return await self._flow(f"/plan/job/{_seg(job_id)}/successors", depth, fresh)

    async def _flow(self, path: str, depth: int, fresh: bool) -> list[Job | JobStream]:
        nodes: list[Job | JobStream] = await self._get(
            path, {"depth": max(1, depth)}, fresh=fresh, parse=_parse_flow
        )
        return list(nodes)

    async def list_job_streams(
        self, oql: str | None = None, *, limit: int | None = None, fresh: bool = False
    ) -> Page[JobStream]:
        """Return job streams in the current plan matching ``oql``."""
        return await self._list("/plan/jobstream", oql, JobStream, limit=limit, fresh=fresh)

    async def get_job_stream(self, stream_id: str, *, fresh: bool = False) -> JobStream:
        """Return one job stream by id, with its jobs and dependencies."""
        return await self._get(
            f"/plan/jobstream/{_seg(stream_id)}", fresh=fresh, parse=JobStream.model_validate
        )

    async def job_stream_predecessors(
        self, stream_id: str, depth: int = 1, *, fresh: bool = False
    ) -> list[Job | JobStream]:
        """Return what a job stream depends on."""
        return await self._flow(f"/plan/jobstream/{_seg(stream_id)}/predecessors", depth, fresh)

    async def list_workstations(
        self, oql: str | None = None, *, limit: int | None = None, fresh: bool = False
    ) -> Page[Workstation]:
        """Return workstations in the current plan matching ``oql``."""
        return await self._list("/plan/workstation", oql, Workstation, limit=limit, fresh=fresh)

    async def get_workstation(self, workstation_id: str, *, fresh: bool = False) -> Workstation:
        """Return one workstation by id."""
        return await self._get(
            f"/plan/workstation/{_seg(workstation_id)}",
            fresh=fresh,
            parse=Workstation.model_validate,
        )

    async def list_resources(
        self, oql: str | None = None, *, limit: int | None = None, fresh: bool = False
    ) -> Page[Resource]:
        """Return resources in the current plan matching ``oql``."""
        return await self._list("/plan/resource", oql, Resource, limit=limit, fresh=fresh)


def _parse_flow(data: dict[str, Any]) -> list[Job | JobStream]:
    return [parse_flow_node(r) for r in data.get("results") or []]


def _seg(value: str) -> str:
    """Quote an id for a path segment; ids never contain slashes."""
    if not value or "/" in value or value in (".", ".."):
        raise TWSBadRequest(f"invalid id {value!r}", status=None)
    return quote(value, safe=";:-._~")

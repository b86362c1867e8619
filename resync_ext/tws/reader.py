"""The read path under the TWS client: pool, guard, retries, breaker, cache, pages, bounded text.

``Reader`` is the transport half of ``TWSClient`` (client.py holds the endpoints). Every request
passes through ``guard.ReadOnlyTransport``; every answer is read as a stream, so a body can be
bounded before it is held whole (job logs, ``log_reader.py``). Each request says what it accepts:
``application/json`` for the plan, ``text/plain`` for job logs, as the document serves them.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, NamedTuple, Self, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
from pydantic import BaseModel, ValidationError

from .cache import TTLCache
from .errors import TWSAuthError, TWSBadRequest, TWSError, TWSNotFound, TWSUnavailable
from .guard import API, ReadOnlyTransport
from .lenient import Page, unread_paths
from .log_reader import DEFAULT_MAX_LOG_BYTES, BoundedLog, LogCollector
from .resilience import RETRYABLE_STATUS, CircuitBreaker, RetryPolicy, http_date, parse_retry_after

M = TypeVar("M", bound=BaseModel)
JSON = "application/json"
TEXT = "text/plain"
_CHUNK = 256 * 1024


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
    notes: list[str]


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


async def _json(resp: httpx.Response) -> Any:
    await resp.aread()
    return resp.json()


async def _text(resp: httpx.Response) -> str:
    await resp.aread()
    return resp.text


class Reader:
    """Send reads to the engine: pooled, guarded, retried, cached; subclassed by TWSClient."""

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
        max_log_bytes: int = DEFAULT_MAX_LOG_BYTES,
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
        headers = {"Accept": JSON}
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
        if max_log_bytes < 1024:
            raise ValueError("max_log_bytes must be at least 1024")
        #: the most of a job log kept (head, error lines, tail), in bytes of text
        self.max_log_bytes = max_log_bytes
        self.counters = {"requests": 0, "retries": 0, "failures": 0}
        #: The engine's clock at its last answer (``Date``), for "how long ago"; None before.
        self.engine_time: datetime.datetime | None = None
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

    async def __aenter__(self) -> Self:
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

    # -- one read with retries and the breaker ----------------------------------------------

    def _observe(self, url: str, status: int | None, started: float) -> None:
        if self.observe is not None:
            self.observe(url, status, time.perf_counter() - started)

    async def _fetch(
        self,
        path: str,
        params: dict[str, Any],
        *,
        text: bool = False,
        attempts: int | None = None,
        accept: str = JSON,
        headers: dict[str, str] | None = None,
        body: Callable[[httpx.Response], Awaitable[Any]] | None = None,
    ) -> Any:
        """GET ``path``; ``body`` reads a successful answer (JSON, or text with ``text=True``)."""
        url = API + path
        read = body or (_text if text else _json)
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
                async with self._http.stream(
                    "GET", url, params=params, headers={"Accept": accept, **(headers or {})}
                ) as resp:
                    if resp.status_code < 400:
                        value = await read(resp)
                        self.engine_time = http_date(resp.headers.get("Date")) or self.engine_time
                        self._observe(url, resp.status_code, started)
                        self.breaker.record_success()
                        return value
                    await resp.aread()
                    self._observe(url, resp.status_code, started)
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

    async def _bounded_text(self, resp: httpx.Response) -> BoundedLog:
        """Stream a text answer into a ``LogCollector`` (parsing off the event loop)."""
        collector = LogCollector(self.max_log_bytes)
        async for chunk in resp.aiter_bytes(_CHUNK):
            await asyncio.to_thread(collector.feed, chunk)
        return await asyncio.to_thread(collector.finish)

    # -- cached reads and pages -------------------------------------------------------------

    async def _get(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        kind: str = "plan",
        fresh: bool = False,
        text: bool = False,
        parse: Callable[[Any], Any] | None = None,
        accept: str = JSON,
        headers: dict[str, str] | None = None,
        body: Callable[[httpx.Response], Awaitable[Any]] | None = None,
    ) -> Any:
        """Read through the cache; ``parse`` runs once per load, so hits cost no validation."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        key = (path, text, accept, tuple(sorted((k, str(v)) for k, v in clean.items())))

        async def load() -> Any:
            data = await self._fetch(
                path, clean, text=text, accept=accept, headers=headers, body=body
            )
            return parse(data) if parse else data

        return await self.cache.get_or_load(key, load, self._ttl[kind], fresh=fresh)

    async def _list(
        self,
        path: str,
        oql: str | None,
        model: type[M],
        *,
        limit: int | None,
        fresh: bool,
        params: dict[str, Any] | None = None,
    ) -> Page[M]:
        """Follow pages up to ``limit`` items and say whether more were left."""
        wanted = max(1, limit or self.max_items)
        size = min(self.page_size, wanted)
        items: list[M] = []
        notes: list[str] = []
        offset, total, more = 0, None, False

        def parse(data: Any) -> _PageData:
            if not isinstance(data, dict):
                raise TWSError(f"the engine answered a page that is not an object: {data!r:.80}")
            results, skipped, page_notes = [], 0, []
            for raw in data.get("results") or []:
                try:
                    item = model.model_validate(raw)
                except ValidationError:
                    skipped += 1  # not an object at all: an item we cannot read
                    continue
                results.append(item)
                unread = unread_paths(item, limit=3)
                if unread:
                    name = getattr(item, "name", "") or getattr(item, "id", "") or "?"
                    page_notes.append(f"{name}: could not read {', '.join(unread)}")
            if skipped:
                page_notes.append(f"{skipped} item(s) of the page could not be read at all")
            count = data.get("count")
            count = count if isinstance(count, int) and not isinstance(count, bool) else None
            return _PageData(count, data.get("next"), results, page_notes)

        while True:
            page: _PageData = await self._get(
                path,
                {"oql": oql, "limit": size, "offset": offset, **(params or {})},
                fresh=fresh,
                parse=parse,
                headers={"Include-Count": "true"},
            )
            total = page.total if page.total is not None else total
            items.extend(page.items)
            notes.extend(page.notes)
            more = bool(page.next) and bool(page.items)
            if not more or len(items) >= wanted:
                break
            offset = _next_offset(page.next, offset, len(page.items))
        if len(items) > wanted:
            items, more = items[:wanted], True
        truncated = more or (total is not None and total > len(items))
        # The items were validated as they were parsed: build the page without a second pass.
        return _page_of(model).model_construct(
            items=items, total=total, truncated=truncated, notes=notes[:20]
        )

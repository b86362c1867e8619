"""The composition root: build Resync's services from ResyncApp's settings, wire, start, stop.

Handlers find each service in the Tornado settings as ``resync_<name>`` (see handlers/base.py).
Construction is cheap; what is slow (opening the memory store: Mem0, torch, the embedder) runs as
a background task after the server is up, and what depends on the store (the audit service, the
demo learner) is published only once it is open, so its endpoints answer 503 meanwhile instead of
blocking the server's start. The swappable services come from ResyncApp's ``*_class`` traits.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from traitlets.config import Configurable

from resync_ext import metrics
from resync_ext.paths import PROJECT_ROOT

if TYPE_CHECKING:
    from resync_ext.agents.demos import DemoLearner, DemoStore
    from resync_ext.agents.protocols import ToolFn
    from resync_ext.agents.registry import AgentRegistry
    from resync_ext.app import ResyncApp
    from resync_ext.audit.claims import Claims
    from resync_ext.audit.review_queue import ReviewQueueProtocol
    from resync_ext.audit.service import AuditService
    from resync_ext.chat.hub import ChatHub
    from resync_ext.chat.turns import TurnService
    from resync_ext.memory.store import MemoryStore
    from resync_ext.reports.runner import ReportRunner
    from resync_ext.scheduler import Job, Scheduler
    from resync_ext.tws.client import TWSClient

CONFIG_WATCH_S = 2.0
T = TypeVar("T")


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
    """Build, wire, start and stop Resync's services."""

    tws: TWSClient
    queue: ReviewQueueProtocol
    demos: DemoStore
    registry: AgentRegistry
    hub: ChatHub
    turns: TurnService
    reports: ReportRunner

    def __init__(self, app: ResyncApp, log: logging.Logger) -> None:
        self.app = app
        self.log = log
        self.data_dir = Path(app.data_dir).expanduser()
        self.settings: dict[str, Any] = {}
        self.memory: MemoryStore | None = None
        self.memory_error: str | None = None
        self.audit: AuditService | None = None
        self.learner: DemoLearner | None = None
        self.scheduler: Scheduler | None = None
        self._tool_fns: dict[str, ToolFn] | None = None
        self._memory_task: asyncio.Task[None] | None = None
        self._warm_task: asyncio.Task[None] | None = None
        self.started_at = time.time()

    def _make(self, cls: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Build a swappable service; a Configurable one gets ``parent=app`` (c.Class.trait)."""
        if isinstance(cls, type) and issubclass(cls, Configurable):
            kwargs["parent"] = self.app
        return cls(*args, **kwargs)

    def _publish(self, name: str, service: object) -> None:
        self.settings[f"resync_{name}"] = service

    # -- construction ---------------------------------------------------------------------------
    def build(self, settings: dict[str, Any]) -> None:
        """Construct every service (no network, no heavy imports) and publish the ready ones."""
        from resync_ext.agents.demos import DemoStore
        from resync_ext.agents.registry import AgentRegistry
        from resync_ext.chat.hub import ChatHub
        from resync_ext.chat.slots import TurnSlots
        from resync_ext.chat.turns import TurnService
        from resync_ext.reports.factory import build_report_runner
        from resync_ext.services.health import HealthChecks

        app = self.app
        self.settings = settings
        self._publish("services", self)
        self.tws = self._build_tws()
        self.tws.observe = metrics.observe_tws
        metrics.track_breaker(self.tws)
        self._publish("tws", self.tws)
        self.queue = self._build_queue()
        self._publish("queue", self.queue)
        self.demos = DemoStore(self.data_dir, log=self.log)
        config_path = self._agents_config_path()
        # Program paths in the config are relative to the project that holds agents/; a config
        # kept elsewhere (a copy in a user's folder) still finds the shipped programs.
        root = config_path.parent.parent
        if not (root / "agents").is_dir():
            root = PROJECT_ROOT
        # Loaded in start(), off the loop: the programs import DSPy (1-2 s), which must not
        # delay the server's start.
        self.registry = AgentRegistry(
            config_path, root=root, lm_factory=self._build_lm, demos=self.demos, log=self.log
        )
        self._publish("agents", self.registry)
        self.hub = ChatHub(self.log)
        self.registry.add_listener(self.hub.agents_changed)
        self._publish("chat_hub", self.hub)
        self.turns = TurnService(
            registry=self.registry,
            tools=self._tools,
            tws=self.tws,
            timeout_s=app.lm_timeout,
            # One local model on a few cores serves two turns as fast as ten; a provider scales.
            slots=TurnSlots(
                app.max_concurrent_turns
                or (2 if app.lm_model.strip().partition("/")[0] == "local" else 16)
            ),
            log=self.log,
        )
        self._publish("turns", self.turns)
        self.reports = build_report_runner(
            app, self.data_dir, log=self.log, runner_class=app.report_runner_class
        )
        self._publish("reports", self.reports)
        self._publish("health", HealthChecks(app, self))

    def _build_queue(self) -> ReviewQueueProtocol:
        """The team database's queue when replicas share one (and no other class is set)."""
        from resync_ext.audit.review_queue import ReviewQueue

        app = self.app
        if app.team_database_url and app.review_queue_class is ReviewQueue:
            from resync_ext.audit.review_queue_pg import PostgresReviewQueue

            return PostgresReviewQueue(app.team_database_url)
        queue: ReviewQueueProtocol = self._make(app.review_queue_class, self.data_dir)
        return queue

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
            background_defer_s=app.lm_background_defer_s,
            log=self.log,
        )

    def _tools(self) -> Mapping[str, ToolFn]:
        """The TWS tools, built at the first turn (tws.tools is not needed to start)."""
        if self._tool_fns is None:
            from resync_ext.tws.tools import build_tools

            self._tool_fns = dict(build_tools(self.tws))
        return self._tool_fns

    def _build_tws(self) -> TWSClient:
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
            max_log_bytes=app.tws_max_log_kb * 1024,
            logger=self.log,
        )

    def _build_memory(self) -> MemoryStore:
        app = self.app
        store: MemoryStore = self._make(
            app.memory_store_class,
            data_dir=self.data_dir,
            engine="server" if app.qdrant_url else app.vector_engine,
            qdrant_url=app.qdrant_url or None,
            qdrant_api_key=app.qdrant_api_key or None,
            embedder_backend=app.embedder,
            embedder_cache=Path(app.embedder_cache) if app.embedder_cache else None,
            log=self.log,
        )
        return store

    def _build_audit(self, store: MemoryStore) -> AuditService:
        from resync_ext.agents.demos import DemoLearner
        from resync_ext.audit.auditor import Auditor
        from resync_ext.audit.service import AuditService
        from resync_ext.llm.priority import BackgroundJudge

        # The judge's LM calls are background work: they yield the local model to chat turns.
        judge = BackgroundJudge(self._make(self.app.judge_class, self.registry))
        auditor = Auditor(
            store,
            judge,
            self.queue,
            reject_confidence=self.app.audit_reject_confidence,
            flag_confidence=self.app.audit_flag_confidence,
            events_path=self.data_dir / "audit" / "passes.jsonl",
            claims=self._build_claims(),
        )
        self.learner = DemoLearner(store, self.registry, self.demos, self._tools(), log=self.log)
        self._publish("learner", self.learner)
        return AuditService(store, self.queue, auditor, on_approved=self.learner.learn_from)

    def _build_claims(self) -> Claims | None:
        """Claims in the team database with replicas; None: the auditor's in-process set."""
        if not self.app.team_database_url:
            return None
        from resync_ext.audit.claims import PostgresClaims

        return PostgresClaims(
            self.app.team_database_url, lease_s=self.app.audit_claim_lease_s, log=self.log
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
        if self.app.lm_warm_at_start:
            self._warm_task = asyncio.create_task(self._warm_model(), name="resync-warm-model")
        self._start_scheduler()

    async def _load_agents(self) -> None:
        from resync_ext.agents.errors import AgentConfigError

        try:
            await asyncio.to_thread(self.registry.load)
        except AgentConfigError as e:
            # Chat waits for a fixed file (the watcher reloads it); the rest of Resync serves.
            self.log.error("Resync agents: %s; chat is unavailable until it is fixed", e.message)
        _settle_heap()

    async def _warm_model(self) -> None:
        """Load the local model(s) the agents and the judge run on, off the loop, so the first
        question is not the one that waits for the load (a provider LM has nothing to load)."""
        from resync_ext.agents.errors import AgentConfigError
        from resync_ext.llm import local_engine_of

        try:
            ids: list[str | None] = [None, *(a["id"] for a in self.registry.list())]
        except AgentConfigError:  # no agents yet (already logged): the first question loads it
            return
        try:
            engines = {id(e): e for e in map(local_engine_of, map(self.registry.lm_for, ids)) if e}
            for engine in engines.values():
                await asyncio.to_thread(engine.load)
        except Exception as e:  # the first question loads it again and reports what is wrong
            self.log.warning("Resync LM: could not load the model at start: %s", e)

    def _start_scheduler(self) -> None:
        from resync_ext.scheduler import Scheduler

        app = self.app
        interval: dict[str, tuple[float, Job, bool]] = {
            "agents-config-watch": (CONFIG_WATCH_S, self.registry.areload_if_changed, False)
        }
        if app.audit_interval_min > 0:
            interval["audit"] = (app.audit_interval_min * 60.0, self._scheduled_audit, True)
        cron: dict[str, tuple[str, Job]] = {}
        if app.report_cron:
            cron["report"] = (app.report_cron, self.reports.scheduled_run)
        from resync_ext.scheduler_lock import make_leader_lock

        lock = make_leader_lock(self.data_dir, app.scheduler_lock_url, self.log)
        self.scheduler = Scheduler(lock, self.log, leader_retry_s=app.scheduler_lock_retry_s)
        self.scheduler.start(interval_jobs=interval, cron_jobs=cron)
        self._publish("scheduler", self.scheduler)

    async def _scheduled_audit(self) -> None:
        if self.audit is None:
            self.log.info("Resync: scheduled audit skipped: the memory store is not open")
            return
        await self.audit.run_pass()

    async def _open_memory(self) -> None:
        t0 = time.perf_counter()
        try:
            store = self._build_memory()
            await store.open()
        except Exception as e:
            self.memory_error = f"{type(e).__name__}: {e}"
            self.log.error("Resync: memory store failed to open: %s", self.memory_error)
            return
        self.memory = store
        self.turns.memory = store
        self._publish("memory", store)
        self.audit = audit = self._build_audit(store)
        self.turns.schedule_audit = audit.audit_soon
        self._publish("audit", audit)
        try:
            await audit.reconcile()
        except Exception as e:
            self.log.warning("Resync: could not reconcile review decisions: %s", e)
        self.log.info("Resync: memory store open in %.1fs", time.perf_counter() - t0)
        _settle_heap()

    async def stop(self) -> None:
        """Stop every service, each in its own try so one failure does not skip the rest."""
        for task in (self._memory_task, self._warm_task):
            if task is not None and not task.done():
                task.cancel()
        for waiting in (self.audit, self.learner):
            if waiting is not None:
                waiting.stop()
        if self.scheduler is not None:
            try:
                self.scheduler.stop()
            except Exception:
                self.log.exception("Resync: error while stopping the scheduler")
        closers: tuple[tuple[str, Callable[[], Awaitable[None]] | None], ...] = (
            ("reports", self.reports.close),
            ("memory", self.memory.close if self.memory is not None else None),
            ("tws", self.tws.aclose),
        )
        for name, close in closers:
            if close is None:
                continue
            try:
                await close()
            except Exception:
                self.log.exception("Resync: error while closing %s", name)

"""ResyncApp: the Jupyter server extension that owns every Resync service.

``initialize_settings`` validates the configuration and builds the services into
``self.settings`` (cheap constructors only: nothing heavy is imported there, so the server starts
fast); ``_start_jupyter_server_extension`` opens what is slow (the memory store) and starts the
scheduler on the server's loop; ``stop_extension`` stops everything and never raises.
"""

from __future__ import annotations

import logging
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Type

from resync_ext import __version__
from resync_ext.config_check import validate_settings
from resync_ext.errors import ConfigError
from resync_ext.handlers import collect_routes
from resync_ext.redact import install_log_filter
from resync_ext.services import Services
from resync_ext.settings import ResyncSettings


class ResyncApp(ResyncSettings, ExtensionApp):
    """The Resync Workbench server extension."""

    name = "resync"
    description = "AI workbench for HCL Workload Automation operators"
    load_other_extensions = True

    # The settings (storage, TWS, LM, memory, schedule...) are ResyncSettings' traits.

    # -- swappable services (jupyter-scheduler's scheduler_class pattern) ------------------------
    # Each is built by resync_ext.services with the arguments below; a Configurable subclass also
    # gets parent=ResyncApp, so its own traits are set as c.<Class>.<trait>.
    memory_store_class = Type(
        default_value="resync_ext.memory.mem0_store.Mem0MemoryStore",
        klass="resync_ext.memory.store.MemoryStore",
        config=True,
        help="Class of the memory store, implementing resync_ext.memory.store.MemoryStore; built "
        "as cls(data_dir=Path, engine='edge'|'local'|'server', qdrant_url=str|None, "
        "qdrant_api_key=str|None, embedder_backend=str, embedder_cache=Path|None, log=Logger) "
        "and opened in the background (default Mem0MemoryStore: Mem0 over Qdrant).",
    )
    review_queue_class = Type(
        default_value="resync_ext.audit.review_queue.ReviewQueue",
        klass="resync_ext.audit.review_queue.ReviewQueue",
        config=True,
        help="Class of the review queue (a ReviewQueue subclass), built as cls(data_dir: Path); "
        "the default keeps review batches as JSON files under data_dir/audit.",
    )
    report_runner_class = Type(
        default_value="resync_ext.reports.runner.ReportRunner",
        klass="resync_ext.reports.runner.ReportRunner",
        config=True,
        help="Class of the report runner (a ReportRunner subclass), built with ReportRunner's "
        "arguments from this server's settings; the default runs the notebooks with papermill "
        "in a child process.",
    )
    judge_class = Type(
        default_value="resync_ext.audit.judge.RegistryJudge",
        klass="resync_ext.audit.judge.Judge",
        config=True,
        help="Class of the auditor's judge, built as cls(registry: AgentRegistry) and awaited as "
        "judge(question=str, answer=str, evidence=list) -> Verdict or its dict (see "
        "resync_ext.audit.judge); the default asks the judge program of the agents configuration.",
    )

    # -- lifecycle ------------------------------------------------------------------------------
    def initialize_settings(self) -> None:
        """Validate the configuration and build the services (cheap constructors only)."""
        self.settings["resync_app"] = self
        self.settings["resync_version"] = __version__
        # What Resync logs is masked (resync_ext.redact): records of the server's log, and
        # those of the resync_ext.* module loggers where they are written (the root's handlers).
        for logger in (self.log, logging.getLogger("resync_ext"), logging.getLogger()):
            install_log_filter(logger)
        self.config_error: ConfigError | None = None
        try:
            validate_settings(self)
        except ConfigError as e:
            # One clear line naming the setting; the extension then serves nothing.
            self.log.error("Resync is disabled: invalid setting %s", e.message)
            self.config_error = e
            self.services = None
            return
        self.services = Services(self, log=self.log)
        self.services.build(self.settings)

    def initialize_handlers(self) -> None:
        """Register every resource's routes (none when the configuration is invalid)."""
        if self.config_error is not None:
            return
        self.handlers.extend(collect_routes())

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        """Open slow services in the background and start the scheduler on the server's loop."""
        if self.services is not None:
            await self.services.start()

    async def stop_extension(self) -> None:
        """Stop every service; never raises (a raise here would halt the server's shutdown)."""
        try:
            if self.services is not None:
                await self.services.stop()
        except Exception:
            self.log.exception("Resync: error while stopping services")

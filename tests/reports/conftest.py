"""Fixtures for the report tests: the runner wired into a real in-process Jupyter server."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_server.utils import url_path_join

from resync_ext.handlers import ROUTE_MODULES
from resync_ext.reports.factory import build_report_runner
from resync_ext.reports.runner import ReportRunner
from resync_ext.tws.simulator.testing import ThreadedSimulator, run_in_thread


@pytest.fixture
def twsim_demo() -> Iterator[ThreadedSimulator]:
    """The demo plan served on loopback for the report's plan sections."""
    with run_in_thread("demo") as sim:
        yield sim


@pytest.fixture
def reports_runner(jp_serverapp: Any, jp_http_port: int, resync_services: Any) -> ReportRunner:
    """The server's report runner, wired as services.py wires it (built here if it is not yet)."""
    settings = jp_serverapp.web_app.settings
    runner = settings.get("resync_reports")
    if runner is None:
        app = settings["resync_app"]
        runner = build_report_runner(
            app, resync_services.data_dir, log=logging.getLogger("test.reports")
        )
        settings["resync_reports"] = runner
    # The report reads the memories API and serves the reports API: register whichever the
    # extension does not register yet.
    for module in ("memories", "reports"):
        if module not in ROUTE_MODULES:
            routes = importlib.import_module(f"resync_ext.handlers.{module}").routes
            base = jp_serverapp.base_url
            jp_serverapp.web_app.add_handlers(
                ".*$", [(url_path_join(base, pattern), handler) for pattern, handler in routes]
            )
    assert runner.connection()[0].endswith(f":{jp_http_port}{jp_serverapp.base_url}")
    return runner

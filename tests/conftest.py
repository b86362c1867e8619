"""Shared fixtures: a real in-process Jupyter server with the Resync extension (pytest-jupyter).

Handler tests use ``jp_fetch`` / ``jp_ws_fetch``; the extension is configured through the same
traitlets a user sets (``c.ResyncApp.*``). ``resync_config`` is a dict a test (or a folder's
conftest) may extend before the server starts, e.g. to point ``tws_url`` at a simulator or to
turn ``open_memory`` on.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

pytest_plugins = ["pytest_jupyter.jupyter_server"]

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's RESYNC_* settings out of the tests; nothing reaches for a hub."""
    for key in list(os.environ):
        if key.startswith("RESYNC_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MEM0_TELEMETRY", "False")


@pytest.fixture
def resync_data_dir(tmp_path: Path) -> Path:
    """The extension's data directory for one test."""
    path = tmp_path / "resync-data"
    path.mkdir()
    return path


@pytest.fixture
def resync_config(resync_data_dir: Path) -> dict[str, Any]:
    """ResyncApp settings for the test server; extend it in a test or a folder's conftest."""
    return {
        "data_dir": str(resync_data_dir),
        "tws_url": "http://127.0.0.1:9",  # nothing listens: tests that need TWS override it
        "open_memory": False,
        "audit_interval_min": 0.0,
        "report_cron": "",
        "agents_config": str(REPO / "config" / "runtime.json"),
        # A test server that never asks the LM must not load the 1 GB local model at start.
        "lm_warm_at_start": False,
    }


@pytest.fixture
def jp_server_config(resync_config: dict[str, Any]) -> Config:
    """Enable the extension in the test server and hand it ``resync_config``."""
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"resync_ext": True}},
            "ResyncApp": resync_config,
        }
    )


@pytest.fixture
def resync_services(jp_serverapp: Any, jp_asyncio_loop: Any) -> Any:
    """The extension's services, started as a real server starts them (pytest-jupyter does not
    run the extensions' start hooks); fails loudly if the extension did not load."""
    services = jp_serverapp.web_app.settings.get("resync_services")
    assert services is not None, "the Resync extension failed to load: see the captured log"
    jp_asyncio_loop.run_until_complete(jp_serverapp._post_start())
    return services

"""Fixtures for the MCP tests: the demo simulator, ``resync-mcp`` as a subprocess, MCP clients.

``resync-mcp`` is spawned exactly as an MCP client spawns it (the console script, configured by
``RESYNC_*`` variables) against the real simulator on loopback; the SDK's own client talks to it
over stdio or streamable HTTP.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from resync_ext.tws.simulator.testing import ThreadedSimulator, start_in_thread

SCRIPT = Path(sys.executable).parent / "resync-mcp"
TOKEN = "mcp-test-token-0123456789abcdef"
START_TIMEOUT_S = 60.0
ABENDED = "DAILY_PAY.PAYROLL_EXTRACT"


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mcp_env(sim: ThreadedSimulator, data_dir: Path, **extra: str) -> dict[str, str]:
    """Return the environment ``resync-mcp`` runs with: the extension's variables only."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "HF_HUB_OFFLINE": "1",
        "MEM0_TELEMETRY": "False",
        "RESYNC_TWS_URL": sim.url,
        "RESYNC_TWS_USER": sim.user,
        "RESYNC_TWS_PASSWORD": sim.password,
        "RESYNC_DATA_DIR": str(data_dir),
        **extra,
    }


@pytest.fixture(scope="session")
def _demo_sim() -> Iterator[ThreadedSimulator]:
    sim = start_in_thread("demo")
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def twsim(_demo_sim: ThreadedSimulator) -> ThreadedSimulator:
    """The demo simulator, reset (plan, faults, call log) for this test."""
    _demo_sim.reset()
    return _demo_sim


@pytest.fixture
def script() -> Path:
    """The installed ``resync-mcp`` console script."""
    assert SCRIPT.exists(), f"{SCRIPT} is missing: reinstall the project (pip install -e .)"
    return SCRIPT


class HttpServer:
    """``resync-mcp --http`` running in a subprocess."""

    def __init__(self, script: Path, env: dict[str, str], port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/mcp"
        self.proc = subprocess.Popen(
            [str(script), "--http", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"resync-mcp exited: {self.proc.stderr.read()}")  # type: ignore[union-attr]
            try:
                httpx.get(self.url, timeout=1.0)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("resync-mcp --http did not start listening")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@pytest.fixture
def http_server(script: Path, twsim: ThreadedSimulator, tmp_path: Path) -> Iterator[HttpServer]:
    """``resync-mcp --http`` on a free loopback port, its token from ``RESYNC_MCP_TOKEN``."""
    server = HttpServer(
        script, mcp_env(twsim, tmp_path / "data", RESYNC_MCP_TOKEN=TOKEN), free_port()
    )
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def only_gets(calls: list[dict[str, Any]]) -> set[str]:
    """Return the HTTP methods the simulator received (its call log)."""
    return {c["method"] for c in calls}

"""A real ``jupyter server`` with the Resync extension in a child process, for crash and bench runs.

Each start picks a free loopback port and a fresh token; the data directory stays, so a test can
``kill()`` the server with SIGKILL mid-work and ``start()`` it again on the same data::

    server = ServerProcess(tmp_path, {"tws_url": sim.url, "lm_model": "openai/stub", ...})
    server.start()
    server.wait_memory_open()
    server.client().post("/resync/api/audit/run")
    server.kill()           # SIGKILL: no shutdown hook runs
    server.start()          # same data_dir, new port and token

The server's output goes to ``<root>/server-<n>.log`` (one file per start), readable as ``log()``.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

MEMORY_OPEN_LINE = "Resync: memory store open in"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _trait(value: Any) -> str:
    return str(value) if not isinstance(value, bool) else ("True" if value else "False")


class ServerProcess:
    """Start, stop, SIGKILL and restart a Jupyter server with Resync on one data directory."""

    def __init__(
        self,
        root: Path,
        traits: dict[str, Any],
        *,
        data_dir: Path | None = None,
        fresh_lm_cache: bool = False,
    ) -> None:
        self.root = Path(root)
        # DSPy's disk cache would answer a repeated LM request without asking the LM; a fresh
        # one per start lets a test see every request a restarted server sends.
        self.fresh_lm_cache = fresh_lm_cache
        self.data_dir = Path(data_dir) if data_dir is not None else self.root / "resync-data"
        # A test server loads the local model only when its test asks for it.
        self.traits = {"data_dir": str(self.data_dir), "lm_warm_at_start": False, **traits}
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.token = ""
        self.starts = 0
        self.log_path = self.root / "server-0.log"
        self.data_dir.mkdir(parents=True, exist_ok=True)

    # -- addresses ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The HTTP base URL of the running server."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """The WebSocket base URL of the running server."""
        return f"ws://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        """The token header every request needs."""
        return {"Authorization": f"token {self.token}"}

    def client(self, timeout: float = 30.0) -> httpx.Client:
        """A synchronous HTTP client bound to the server (close it, or use it in ``with``)."""
        return httpx.Client(
            base_url=self.url, headers=self.headers, timeout=timeout, trust_env=False
        )

    def async_client(self, timeout: float = 30.0, **kwargs: Any) -> httpx.AsyncClient:
        """An asynchronous HTTP client bound to the server."""
        return httpx.AsyncClient(
            base_url=self.url, headers=self.headers, timeout=timeout, trust_env=False, **kwargs
        )

    # -- lifecycle ------------------------------------------------------------------------------
    def command(self) -> list[str]:
        """The command line of one start."""
        cmd = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.jpserver_extensions={'resync_ext': True}",
        ]
        cmd += [f"--ResyncApp.{k}={_trait(v)}" for k, v in self.traits.items()]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        return cmd

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RESYNC_", "JUPYTER_"))}
        env.update(
            JUPYTER_RUNTIME_DIR=str(self.root / "runtime"),
            JUPYTER_CONFIG_DIR=str(self.root / "jupyter-config"),
            HF_HUB_OFFLINE="1",
            MEM0_TELEMETRY="False",
            PYTHONUNBUFFERED="1",
        )
        if self.fresh_lm_cache:
            env["DSPY_CACHEDIR"] = str(self.root / f"dspy-cache-{self.starts}")
        return env

    def start(self, timeout: float = 90.0) -> None:
        """Launch the server and return once ``/resync/api/health`` answers 200."""
        if self.running:
            raise RuntimeError("the server is already running")
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.log_path = self.root / f"server-{self.starts}.log"
        self.starts += 1
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=self.root,
                env=self._env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait(self._health_ok, timeout, "answer /resync/api/health")

    def _health_ok(self) -> bool:
        try:
            r = httpx.get(
                f"{self.url}/resync/api/health", headers=self.headers, timeout=5, trust_env=False
            )
        except httpx.HTTPError:
            return False
        return r.status_code == 200

    def wait_memory_open(self, timeout: float = 120.0) -> None:
        """Wait until the memory store is open and recorded decisions are reconciled."""
        self._wait(lambda: MEMORY_OPEN_LINE in self.log(), timeout, "open the memory store")

    def _wait(self, ready: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"the server exited with {self.proc.returncode} before it could {what}:\n"
                    + self.log()[-4000:]
                )
            if ready():
                return
            time.sleep(0.1)
        raise TimeoutError(f"the server did not {what} within {timeout:g}s:\n{self.log()[-4000:]}")

    @property
    def running(self) -> bool:
        """Whether the child process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the server (no shutdown hook runs) and reap it."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server gracefully (SIGTERM), falling back to SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def restart(self, timeout: float = 90.0) -> None:
        """Stop (gracefully) and start again on the same data directory."""
        self.stop()
        self.start(timeout)

    def log(self) -> str:
        """The output of the current (or last) start."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

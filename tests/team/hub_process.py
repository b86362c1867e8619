"""A real JupyterHub in a child process, configured by deploy/jupyterhub/jupyterhub_config.py.

The Hub (with configurable-http-proxy from npm, installed by scripts/install-team.sh into
``.venv/team-node``) starts Resync as its managed service; everything the service needs reaches
it through ``RESYNC_*`` variables, as in a deployment. Users log in with the DummyAuthenticator's
password through the Hub's REST API (``POST /hub/api/users/<name>/tokens`` with ``auth``), which
gives each one a Hub API token with the user's own scopes, as ``JUPYTERHUB_API_TOKEN`` is in the
user's server.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil

from tests.server_process import free_port

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "deploy" / "jupyterhub" / "jupyterhub_config.py"
CHP = REPO / ".venv" / "team-node" / "node_modules" / ".bin" / "configurable-http-proxy"
#: Any password logs a listed user in (DummyAuthenticator).
PASSWORD = "any-password"


class HubProcess:
    """Start and stop a JupyterHub with Resync as a managed service in ``root``."""

    def __init__(self, root: Path, service_env: dict[str, str]) -> None:
        self.root = root
        self.port = free_port()
        self.service_port = free_port()
        self.log_path = root / "hub.log"
        self.data_dir = root / "resync-data"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("RESYNC_", "JUPYTER_", "JUPYTERHUB_"))
        }
        self.env.update(
            RESYNC_HUB_PORT=str(self.port),
            RESYNC_HUB_API_PORT=str(free_port()),
            RESYNC_PROXY_API_PORT=str(free_port()),
            RESYNC_SERVICE_PORT=str(self.service_port),
            RESYNC_CHP=str(CHP),
            RESYNC_DATA_DIR=str(self.data_dir),
            RESYNC_SERVICE_ROOT=str(root),
            JUPYTER_RUNTIME_DIR=str(root / "runtime"),
            JUPYTER_CONFIG_DIR=str(root / "jupyter-config"),
            HF_HUB_OFFLINE="1",
            MEM0_TELEMETRY="False",
            DSPY_CACHEDIR=str(root / "dspy-cache"),
            PYTHONUNBUFFERED="1",
            **service_env,
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The proxy's public address (the Hub at /hub/, Resync at /services/resync/)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def service_url(self) -> str:
        """Resync's URL through the proxy."""
        return f"{self.url}/services/resync/"

    def start(self) -> None:
        """Launch the Hub (which launches the proxy and the service)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(CONFIG)],
                cwd=self.root,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def routed(self) -> bool:
        """Whether the proxy routes to the Hub and to the service (the Hub adds the routes last)."""
        try:
            hub = httpx.get(f"{self.url}/hub/api", timeout=5, trust_env=False)
            svc = httpx.get(f"{self.service_url}resync/api/health", timeout=5, trust_env=False)
        except httpx.HTTPError:
            return False
        return hub.status_code == 200 and svc.status_code in (302, 403)

    def log(self) -> str:
        """The Hub's output, the service's included."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait for ``ready()``; fail with the log's tail if the Hub dies or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"the Hub exited before {what}:\n{self.log()[-5000:]}")
            if ready():
                return
            time.sleep(0.25)
        raise TimeoutError(f"no {what} within {timeout:g}s:\n{self.log()[-5000:]}")

    def login(self, user: str) -> str:
        """Log ``user`` in (DummyAuthenticator: any password); return their Hub API token."""
        r = httpx.post(
            f"{self.url}/hub/api/users/{user}/tokens",
            json={"auth": {"username": user, "password": PASSWORD}, "note": "team test"},
            timeout=30,
            trust_env=False,
        )
        r.raise_for_status()
        return str(r.json()["token"])

    def stop(self) -> None:
        """Stop the Hub, which stops the service and the proxy; kill whatever outlives it.

        The Hub starts the service and the proxy in sessions of their own, so they are found
        by ancestry (psutil) before the Hub goes, and killed by pid if still there after.
        """
        if self.proc is None or self.proc.poll() is not None:
            return
        children = psutil.Process(self.proc.pid).children(recursive=True)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=45)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        psutil.wait_procs(children, timeout=10)

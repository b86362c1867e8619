"""Build the ReportRunner from ResyncApp's settings (called by services.py)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from resync_ext.paths import PROJECT_ROOT

from .errors import ReportError
from .runner import ReportRunner

_WILDCARD = {"", "0.0.0.0", "*", "localhost"}


def server_connection(serverapp: Any) -> tuple[str, str]:
    """Return a loopback URL of the running server and its token, for a kernel to call back."""
    if getattr(serverapp, "sock", ""):
        raise ReportError("the server listens on a UNIX socket: reports need a TCP port")
    scheme = "https" if getattr(serverapp, "certfile", "") else "http"
    ip = serverapp.ip or ""
    # The kernel runs on this machine: reach a wildcard listener through loopback.
    if ip in _WILDCARD:
        host = "127.0.0.1"
    elif ip == "::":
        host = "[::1]"
    else:
        host = f"[{ip}]" if ":" in ip else ip
    base_url = "/" + serverapp.base_url.strip("/") + "/" if serverapp.base_url.strip("/") else "/"
    return f"{scheme}://{host}:{serverapp.port}{base_url}", serverapp.identity_provider.token


def server_ca_bundle(app: Any) -> str:
    """Return the PEM file a report kernel verifies this server's TLS with; empty without TLS."""
    # server_ca_bundle (a private CA) if set, else the server's own certificate, which is its own
    # CA when self-signed. An absolute path: the report runs in another folder.
    certfile = str(getattr(getattr(app, "serverapp", None), "certfile", "") or "")
    if not certfile:
        return ""
    return str(Path(app.server_ca_bundle or certfile).expanduser().resolve())


def notebooks_dir(root_dir: str | None) -> Path:
    """Return the folder of report templates: ``notebooks/`` under the server's root, or ours."""
    if root_dir:
        candidate = Path(root_dir).expanduser() / "notebooks"
        if (candidate / "audit_report.ipynb").is_file():
            return candidate
    return PROJECT_ROOT / "notebooks"


def build_report_runner(
    app: Any,
    data_dir: Path,
    *,
    log: logging.Logger,
    keep: int = 30,
    timeout_s: float = 900.0,
    runner_class: type[ReportRunner] = ReportRunner,
) -> ReportRunner:
    """Return a ReportRunner that calls this server back and reads TWS as ``app`` is set."""
    serverapp = getattr(app, "serverapp", None)
    return runner_class(
        data_dir,
        notebooks_dir(getattr(serverapp, "root_dir", None)),
        connection=lambda: server_connection(app.serverapp),
        server_ca_bundle=server_ca_bundle(app),
        tws={
            "url": app.tws_url,
            "user": app.tws_user,
            "password": app.tws_password,
            "api_key": app.tws_api_key,
            "ca_bundle": app.tws_ca_bundle,
            "verify": app.tws_verify,
        },
        keep=keep,
        timeout_s=timeout_s,
        log=log,
    )

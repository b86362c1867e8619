"""The kernel's client of the Resync server: finds it, speaks its REST API and its chat WebSocket.

Kernels never open the stores themselves (ARCHITECTURE.md "One owner process"); they ask the
server that owns them, with the server's token::

    client = ResyncClient()                      # RESYNC_URL, the Hub service, else a server
    client.batches()                             # REST calls are synchronous (widget callbacks)
    async with client.chat("tws-troubleshooter") as conn:
        await conn.ask("t1", "Why did PAYROLL_EXTRACT fail?")
        async for frame in conn.turn_frames("t1"):
            ...

A server with TLS is verified against the system CAs, or against the PEM file named by
``RESYNC_SERVER_CA_BUNDLE`` (its self-signed certificate, or a private CA): the report runner
sets it for its kernels. Verification is never turned off by the environment.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from resync_ext.kernel.chat_socket import ChatConnection
from resync_ext.kernel.discovery import discover_hub, on_hub, refusal
from resync_ext.kernel.errors import (
    ApiError,
    ResyncClientError,
    ServerNotFound,
    ServerUnreachable,
)

API = "resync/api"
#: PEM file (a self-signed certificate or a private CA) to verify the server's TLS certificate.
CA_ENV = "RESYNC_SERVER_CA_BUNDLE"
#: Seconds to wait for an audit pass: it judges every new memory with the LM, one by one.
AUDIT_TIMEOUT_S = 3600.0

Verify = bool | str | None


def server_verify(verify: Verify = None) -> bool | str:
    """Return what verifies the server: ``verify``, else $RESYNC_SERVER_CA_BUNDLE, else True."""
    if verify is None:
        return os.environ.get(CA_ENV, "").strip() or True
    return verify


def tls_context(verify: bool | str) -> bool | ssl.SSLContext:
    """Return httpx's ``verify`` for ``verify``: a CA file becomes an SSL context trusting it."""
    if not isinstance(verify, str):
        return verify
    try:
        return ssl.create_default_context(cafile=verify)
    except (OSError, ssl.SSLError) as e:
        raise ResyncClientError(
            f"cannot load the CA bundle {verify!r} to verify the Resync server ({e}); "
            f"check {CA_ENV}"
        ) from e


def rank_servers(servers: list[dict[str, Any]], cwd: Path) -> list[dict[str, Any]]:
    """Order servers: those whose root_dir contains ``cwd`` first, the deepest root first."""

    def depth_if_contains(info: dict[str, Any]) -> int:
        root = Path(str(info.get("root_dir") or info.get("notebook_dir") or "/")).resolve()
        if cwd == root or root in cwd.parents:
            return len(root.parts)
        return -1

    return sorted(servers, key=depth_if_contains, reverse=True)


def _probe(url: str, token: str, verify: bool | ssl.SSLContext) -> bool:
    """True when the server at ``url`` serves the Resync API with this token."""
    headers = {"Authorization": f"token {token}"} if token else {}
    try:
        resp = httpx.get(f"{url}{API}/health", headers=headers, timeout=5.0, verify=verify)
    except httpx.HTTPError:
        return False
    return resp.status_code == 200


def discover(verify: Verify = None) -> tuple[str, str]:
    """Return ``(url, token)`` of the Resync server: the environment first, then running servers."""
    hub = discover_hub()  # RESYNC_URL, else the team's service on JupyterHub (discovery.py)
    if hub is not None:
        return hub
    from jupyter_server.serverapp import list_running_servers

    tls = tls_context(server_verify(verify))
    servers = rank_servers(list(list_running_servers()), Path.cwd().resolve())
    for info in servers:
        candidate, token = str(info.get("url") or ""), str(info.get("token") or "")
        if candidate and _probe(_slash(candidate), token, tls):
            return candidate, token
    raise ServerNotFound()


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


class ResyncClient:
    """Talk to one Resync server: REST calls (synchronous) and chat sockets (asynchronous)."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        verify: Verify = None,
    ) -> None:
        # None: $RESYNC_SERVER_CA_BUNDLE if set, else the system CAs.
        self.verify = server_verify(verify)
        tls = tls_context(self.verify)
        if url is None:
            url, found_token = discover(self.verify)
            token = found_token if token is None else token
        self.url = _slash(url)
        self.token = token or ""
        self.timeout = timeout
        self.headers = {"Authorization": f"token {self.token}"} if self.token else {}
        self._http = httpx.Client(
            base_url=self.url, headers=self.headers, timeout=timeout, verify=tls
        )

    def __repr__(self) -> str:
        return f"ResyncClient({self.url!r})"

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> ResyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- REST -----------------------------------------------------------------------------------
    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call ``/resync/api/<path>``; return the decoded JSON (None for 204)."""
        try:
            resp = self._http.request(method, f"{API}/{path}", **kwargs)
        except httpx.HTTPError as e:
            raise ServerUnreachable(
                f"The Resync server at {self.url} did not answer ({type(e).__name__}: {e}); "
                "is it still running?"
            ) from e
        if resp.status_code >= 400:
            raise _api_error(resp)
        if resp.status_code == 204 or not resp.content:
            return None
        return resp.json()

    def health(self) -> dict[str, Any]:
        """The server's health report."""
        return dict(self.request("GET", "health"))

    def agents(self) -> list[dict[str, Any]]:
        """The configured agents."""
        return list(self.request("GET", "agents")["agents"])

    def batches(self) -> list[dict[str, Any]]:
        """The open review batches with their counts, oldest first."""
        return list(self.request("GET", "audit/flags")["batches"])

    def batch(self, name: str) -> dict[str, Any]:
        """One review batch with its items."""
        return dict(self.request("GET", f"audit/flags/{quote(name, safe='')}"))

    def review(self, memory_id: str, action: str, comment: str | None = None) -> dict[str, Any]:
        """Approve or reject a flagged memory; return the updated review item."""
        body: dict[str, Any] = {"memory_id": memory_id, "action": action}
        if comment:
            body["comment"] = comment
        return dict(self.request("POST", "audit/review", json=body))

    def archive(self, name: str) -> None:
        """Archive a fully decided batch."""
        self.request("DELETE", f"audit/flags/{quote(name, safe='')}")

    def run_audit(self, timeout: float = AUDIT_TIMEOUT_S) -> dict[str, Any]:
        """Run an audit pass now and wait for it (up to ``timeout`` s); return its counts."""
        wait = httpx.Timeout(self.timeout, read=timeout)
        return dict(self.request("POST", "audit/run", timeout=wait))

    def metrics(self) -> dict[str, Any]:
        """Audit counts by state, verdict and decision."""
        return dict(self.request("GET", "audit/metrics"))

    def memories(
        self,
        query: str | None = None,
        *,
        state: str | None = None,
        agent_id: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """List memories (newest first) or, with ``query``, the most similar ones."""
        params: dict[str, Any] = {"limit": limit}
        for key, value in (("query", query), ("state", state), ("agent_id", agent_id)):
            if value:
                params[key] = value
        return list(self.request("GET", "memories", params=params)["memories"])

    def memory(self, memory_id: str) -> dict[str, Any]:
        """One memory."""
        return dict(self.request("GET", f"memories/{quote(memory_id, safe='')}"))

    # -- chat -----------------------------------------------------------------------------------
    def chat(self, agent_id: str, conversation: str | None = None) -> ChatConnection:
        """A chat socket with ``agent_id``; use ``async with`` (or ``await conn.connect()``).

        ``conversation``: continue that conversation (an id from an earlier socket's frames)."""
        ws_url = "ws" + self.url[4:] if self.url.startswith("http") else self.url
        return ChatConnection(
            f"{ws_url}{API}/chat/{quote(agent_id, safe='')}",
            headers=self.headers,
            verify=self.verify,
            conversation=conversation,
        )


def _api_error(resp: httpx.Response) -> ApiError:
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code == 403:  # Jupyter's words for a bad token vary ("_xsrf missing", ...)
        permission = body.get("permission") if isinstance(body, dict) else None
        return ApiError(403, refusal(permission and str(permission), hub=on_hub()), "forbidden")
    if isinstance(body, dict) and "message" in body:
        return ApiError(resp.status_code, str(body["message"]), str(body.get("reason") or "error"))
    text = " ".join(resp.text.split())[:200] or resp.reason_phrase
    return ApiError(resp.status_code, text)

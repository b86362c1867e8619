"""The read-only guard: a transport that refuses every request but a read of an HWA endpoint.

It sits under the TWS client's httpx pool, so no code path (the client's own methods, a raw
``client._http.post``, a redirect) can send a write: the check runs before a byte leaves. The
allowed endpoints are the v2 reads of ``reference/tws-api.md`` §2.1, and one path under
``/action/``: ``GET .../workstation[/{id}]/action/health-status``, a read despite its name.
"""

from __future__ import annotations

import re

import httpx

from .errors import TWSWriteRefused

API = "/twsd/api/v2"
_ID = (
    r"(?!(?:action|count|issues|joblog|run|query|submit[\w-]*)(?:/|$))"
    r"[A-Za-z0-9][A-Za-z0-9._~%;:-]*"
)
_READ_PATHS = re.compile(
    r"/(?:engine/info"
    r"|plan/job(?:/count|/issues|/joblog|/run/ID/joblog|/ID(?:/predecessors|/successors)?)?"
    r"|plan/jobstream(?:/count|/ID(?:/predecessors|/successors)?)?"
    r"|plan/(?:workstation|resource)(?:/ID)?"
    # The one ``action`` that is a read (GET in the document): a workstation's health status.
    # Every other path under /action/ stays refused, whatever the method.
    r"|plan/workstation(?:/ID)?/action/health-status)".replace("ID", _ID)
)


def is_read_path(path: str) -> bool:
    """Return whether ``path`` (below ``/twsd/api/v2``) is one of the allowed read endpoints."""
    return _READ_PATHS.fullmatch(path) is not None


class ReadOnlyTransport(httpx.AsyncBaseTransport):
    """Wrap a transport and refuse every request that is not a read of an allowed endpoint."""

    def __init__(self, inner: httpx.AsyncBaseTransport, base_url: httpx.URL) -> None:
        self._inner = inner
        self._origin = (base_url.scheme, base_url.host, base_url.port)
        self._prefix = base_url.path.rstrip("/") + API

    def check(self, request: httpx.Request) -> None:
        """Raise ``TWSWriteRefused`` unless the request is an allowed read."""
        method, url = request.method.upper(), request.url
        path = url.path
        ok = (
            method in ("GET", "HEAD")
            and (url.scheme, url.host, url.port) == self._origin
            and path.startswith(self._prefix)
            and is_read_path(path[len(self._prefix) :])
            # a read never carries a body
            and request.headers.get("content-length", "0") == "0"
            and "transfer-encoding" not in request.headers
        )
        if not ok:
            raise TWSWriteRefused(method, path)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Check the request, then hand it to the wrapped transport."""
        self.check(request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._inner.aclose()

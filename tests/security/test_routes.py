"""Every route of the extension refuses anonymous requests, and cookie sessions without XSRF.

The route table is walked, not listed by hand, so a new route is covered the day it is added.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketHandler

from resync_ext.handlers import collect_routes

SAMPLE = {
    "name": "audit-20261124T073000Z",
    "memory_id": "0" * 8 + "-0000-0000-0000-" + "0" * 12,
    "agent_id": "tws-troubleshooter",
}
METHODS = ("get", "post", "put", "patch", "delete")


def _path(pattern: str) -> str:
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: SAMPLE.get(m.group(1), "x"), pattern)


def _operations() -> list[tuple[str, str, bool]]:
    ops = []
    for route in collect_routes():
        pattern, handler = route[0], route[1]
        ws = issubclass(handler, WebSocketHandler)
        for method in METHODS:
            if method in vars(handler) or (ws and method == "get"):
                ops.append((method.upper(), _path(pattern), ws))
    return ops


OPERATIONS = _operations()


def test_the_walk_finds_the_known_routes() -> None:
    paths = {p for _, p, _ in OPERATIONS}
    assert {
        "/resync/api/health",
        "/resync/api/audit/review",
        "/resync/api/chat/tws-troubleshooter",
    } <= paths
    assert len(OPERATIONS) >= 10


@pytest.mark.parametrize(("method", "path", "ws"), OPERATIONS)
async def test_no_token_no_access(
    jp_fetch: Any, jp_ws_fetch: Any, resync_services: Any, method: str, path: str, ws: bool
) -> None:
    parts = path.strip("/").split("/")
    with pytest.raises(HTTPClientError) as exc:
        if ws:
            await jp_ws_fetch(*parts, headers={"Authorization": ""})
        else:
            body = b"{}" if method in {"POST", "PUT", "PATCH"} else None
            await jp_fetch(*parts, method=method, body=body, headers={"Authorization": ""})
    assert exc.value.code == 403, (method, path)


@pytest.mark.parametrize(
    ("method", "path"), [(m, p) for m, p, ws in OPERATIONS if m in {"POST", "DELETE"} and not ws]
)
async def test_cookie_session_without_xsrf_is_refused(
    jp_fetch: Any, jp_serverapp: Any, resync_services: Any, method: str, path: str
) -> None:
    token = jp_serverapp.identity_provider.token
    login = await jp_fetch("login", headers={"Authorization": ""})
    xsrf = next(
        c.split(";")[0].split("=", 1)[1]
        for c in login.headers.get_list("Set-Cookie")
        if c.startswith("_xsrf=")
    )
    form = urllib.parse.urlencode({"_xsrf": xsrf, "password": token})
    resp = await jp_fetch(
        "login",
        method="POST",
        body=form,
        follow_redirects=False,
        raise_error=False,
        headers={"Authorization": "", "Cookie": f"_xsrf={xsrf}"},
    )
    assert resp.code == 302, resp.code
    cookies = [c.split(";")[0] for c in resp.headers.get_list("Set-Cookie")]
    session = "; ".join([*cookies, f"_xsrf={xsrf}"])
    parts = path.strip("/").split("/")
    body = b"{}" if method == "POST" else None
    with pytest.raises(HTTPClientError) as exc:
        await jp_fetch(
            *parts, method=method, body=body, headers={"Authorization": "", "Cookie": session}
        )
    assert exc.value.code == 403, (method, path)
    # The same session is a logged-in user: a GET with it is served.
    ok = await jp_fetch("resync", "api", "health", headers={"Authorization": "", "Cookie": session})
    assert ok.code == 200

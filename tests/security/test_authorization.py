"""Every Resync request is authorised by Jupyter's Authorizer against its declared permission.

A real in-process Jupyter server runs with a custom ``ServerApp.authorizer_class`` that refuses
one ``(resource, action)`` at a time: every operation declaring that permission answers 403 (the
chat socket is refused before the upgrade), every other one gets past authorisation. The route
table is walked, not listed by hand, so a route added later is covered the day it is added; a
handler that declares nothing is refused (fail closed).
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

import pytest
from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketHandler
from traitlets.config import Config

from resync_ext.handlers import collect_routes
from resync_ext.handlers.base import ResyncHandler
from resync_ext.handlers.permissions import ADMIN, ALL, EXECUTE, READ, WRITE, Permission, declared
from tests.security.test_routes import METHODS, OPERATIONS


class DenyingAuthorizer(Authorizer):
    """Allow everything except the ``(resource, action)`` pairs in ``denied``; record each ask."""

    denied: ClassVar[set[tuple[str, str]]] = set()
    asked: ClassVar[list[tuple[str, str, str]]] = []

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        """Refuse what the test denies."""
        self.asked.append((user.username, resource, action))
        return (resource, action) not in self.denied


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    """The shared test server, with the denying authorizer."""
    jp_server_config.ServerApp.authorizer_class = DenyingAuthorizer
    return jp_server_config


@pytest.fixture(autouse=True)
def _reset_authorizer() -> Any:
    DenyingAuthorizer.denied = set()
    DenyingAuthorizer.asked = []
    yield
    DenyingAuthorizer.denied = set()


def _handler(path: str, method: str) -> type[web.RequestHandler]:
    for route in collect_routes():
        pattern, handler = route[0], route[1]
        if re.fullmatch(pattern, path):
            return handler
    raise AssertionError(f"no route for {method} {path}")


def test_every_implemented_method_of_every_route_declares_a_permission() -> None:
    for route in collect_routes():
        handler = route[1]
        for method in METHODS:
            ws = issubclass(handler, WebSocketHandler)
            if method in vars(handler) or (ws and method == "get"):
                assert declared(handler, method) in ALL, (route[0], method)


def test_the_contract_of_the_known_endpoints() -> None:
    expected = {
        ("GET", "/resync/api/health"): READ,
        ("GET", "/resync/api/chat/tws-troubleshooter"): READ,
        ("GET", "/resync/api/memories"): READ,
        ("DELETE", f"/resync/api/memories/{'0' * 8}-0000-0000-0000-{'0' * 12}"): ADMIN,
        ("POST", "/resync/api/audit/review"): WRITE,
        ("POST", "/resync/api/audit/run"): EXECUTE,
        ("DELETE", "/resync/api/audit/flags/audit-20261124T073000Z"): ADMIN,
        ("POST", "/resync/api/reports"): EXECUTE,
        ("GET", "/resync/api/reports"): READ,
    }
    for (method, path), permission in expected.items():
        assert declared(_handler(path, method), method) == permission, (method, path)


async def _status(jp_fetch: Any, jp_ws_fetch: Any, method: str, path: str, ws: bool) -> int:
    parts = path.strip("/").split("/")
    try:
        if ws:
            conn = await jp_ws_fetch(*parts)
            conn.close()
            return 101
        # A body every POST refuses after authorisation (400): nothing heavy runs.
        body = b'{"unexpected": true}' if method in {"POST", "PUT", "PATCH"} else None
        resp = await jp_fetch(*parts, method=method, body=body)
        return int(resp.code)
    except HTTPClientError as e:
        if e.code == 403 and e.response is not None and not ws:
            err = json.loads(e.response.body)
            assert err["reason"] == "forbidden", err
            assert err.get("permission") == str(declared(_handler(path, method), method)), err
        return int(e.code)


@pytest.mark.parametrize("denied", ALL, ids=str)
async def test_a_denied_permission_refuses_exactly_its_endpoints(
    jp_fetch: Any, jp_ws_fetch: Any, resync_services: Any, denied: Permission
) -> None:
    DenyingAuthorizer.denied = {(denied.resource, denied.action)}
    refused: list[tuple[str, str]] = []
    served: list[tuple[str, str]] = []
    for method, path, ws in OPERATIONS:
        needed = declared(_handler(path, method), method)
        status = await _status(jp_fetch, jp_ws_fetch, method, path, ws)
        (refused if status == 403 else served).append((method, path))
        assert (status == 403) == (needed == denied), (method, path, status, needed)
    assert refused, f"no endpoint needs {denied}"
    assert served
    asked = {(r, a) for _, r, a in DenyingAuthorizer.asked}
    assert asked == {(p.resource, p.action) for p in ALL}


async def test_allowed_reads_are_served_and_the_socket_opens(
    jp_fetch: Any, jp_ws_fetch: Any, resync_services: Any
) -> None:
    DenyingAuthorizer.denied = {(p.resource, p.action) for p in (WRITE, EXECUTE, ADMIN)}
    for path in ("health", "agents", "openapi.json", "reports"):
        resp = await jp_fetch("resync", "api", path)
        assert resp.code == 200, path
    conn = await jp_ws_fetch("resync", "api", "chat", "tws-troubleshooter")
    hello = json.loads(await conn.read_message())
    assert hello["type"] == "ready"
    conn.close()
    # The authorizer is handed the authenticated Jupyter user (a token gets an anonymous one).
    assert DenyingAuthorizer.asked and all(u for u, _, _ in DenyingAuthorizer.asked)


async def test_a_refused_read_closes_the_chat_socket_before_the_upgrade(
    jp_ws_fetch: Any, resync_services: Any
) -> None:
    DenyingAuthorizer.denied = {("resync", "read")}
    with pytest.raises(HTTPClientError) as exc:
        await jp_ws_fetch("resync", "api", "chat", "tws-troubleshooter")
    assert exc.value.code == 403


class _Undeclared(ResyncHandler):
    """A handler a future change might add without declaring its permission."""

    @web.authenticated
    def get(self) -> None:
        self.write_json({"served": True})


class _Declared(_Undeclared):
    permissions = {"get": READ}


async def test_a_handler_that_declares_nothing_is_refused(
    jp_fetch: Any, jp_serverapp: Any, resync_services: Any
) -> None:
    base = jp_serverapp.base_url
    app = jp_serverapp.web_app
    app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "resync/api/test-undeclared"), _Undeclared),
            (url_path_join(base, "resync/api/test-declared"), _Declared),
        ],
    )
    # add_handlers appends after Jupyter's own rules, whose catch-all 404 would answer first.
    app.default_router.rules.insert(0, app.default_router.rules.pop(-2))
    with pytest.raises(HTTPClientError) as exc:
        await jp_fetch("resync", "api", "test-undeclared")
    assert exc.value.code == 403
    assert exc.value.response is not None
    assert "declares no permission" in json.loads(exc.value.response.body)["message"]
    ok = await jp_fetch("resync", "api", "test-declared")
    assert json.loads(ok.body) == {"served": True}
    # A method the handler does not implement is still tornado's 405, not a 403.
    with pytest.raises(HTTPClientError) as exc:
        await jp_fetch("resync", "api", "test-declared", method="PUT", body=b"{}")
    assert exc.value.code == 405


async def test_the_openapi_document_names_each_operations_permission(
    jp_fetch: Any, resync_services: Any
) -> None:
    doc = json.loads((await jp_fetch("resync", "api", "openapi.json")).body)
    seen = 0
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            concrete = re.sub(r"\{\w+\}", "x", path)
            assert op["x-resync-permission"] == str(declared(_handler(concrete, method), method))
            seen += 1
    assert seen >= 10

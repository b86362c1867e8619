"""The health and OpenAPI endpoints through a real in-process Jupyter server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError


async def test_health_requires_the_token(jp_fetch: Any, resync_services: Any) -> None:
    with pytest.raises(HTTPClientError) as exc:
        await jp_fetch("resync", "api", "health", headers={"Authorization": ""})
    assert exc.value.code == 403


async def test_health_reports_every_check_and_degrades_when_tws_is_down(
    jp_fetch: Any, resync_services: Any
) -> None:
    resp = await jp_fetch("resync", "api", "health")
    assert resp.code == 200
    body = json.loads(resp.body)
    assert body["version"]
    assert set(body["checks"]) == {"tws", "memory", "llm", "scheduler"}
    for check in body["checks"].values():
        assert set(check) == {"ok", "detail", "latency_ms"}
    # The test config points TWS at a port nothing listens on.
    assert body["checks"]["tws"]["ok"] is False
    assert body["status"] == "degraded"


async def test_openapi_describes_every_registered_route(jp_fetch: Any) -> None:
    from resync_ext.handlers import collect_routes

    resp = await jp_fetch("resync", "api", "openapi.json")
    doc = json.loads(resp.body)
    assert doc["openapi"].startswith("3.")
    assert "/resync/api/health" in doc["paths"]
    for route in collect_routes():
        if route[0].startswith("/resync/api/chat/"):
            continue  # the WebSocket upgrade is not a REST operation
        path = route[0].replace("(?P<", "{").split(">")[0]
        assert any(p.startswith(path.split("{")[0]) for p in doc["paths"]), route[0]
    health = doc["paths"]["/resync/api/health"]["get"]
    assert "403" in health["responses"]

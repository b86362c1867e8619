"""Path traversal on every path parameter of every route; oversized and deeply nested bodies.

The route table is walked (``collect_routes``), so a route added later is attacked the day it is
added. Requests go out through ``http.client``, which sends the path byte for byte (httpx would
resolve ``..`` segments before sending). Each answer must be 400 or 404 in the JSON error shape,
and a sentinel file outside the data directory must be untouched.
"""

from __future__ import annotations

import http.client
import json
import re
from pathlib import Path

import pytest
from tornado.websocket import WebSocketHandler

from resync_ext.handlers import collect_routes
from tests.security.conftest import JupyterProcess, assert_no_traceback

pytestmark = pytest.mark.slow

METHODS = ("get", "post", "put", "patch", "delete")
_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
MAX_BODY = 1 << 20
SENTINEL_TEXT = '{"sentinel": "must never be read, changed or removed"}'


def _payloads(sentinel: Path) -> list[str]:
    """Encoded variants that a naive handler would turn into a path outside the data dir."""
    stem = sentinel.with_suffix("")
    absolute = str(stem).replace("/", "%2F")
    return [
        "..",
        "..%2F..%2F..%2Fsentinel",
        "..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "%2e%2e%2f%2e%2e%2f%2e%2e%2fsentinel",
        "%2E%2E%2F%2E%2E%2F%2E%2E%2Fsentinel",
        "%252e%252e%252f%252e%252e%252fsentinel",  # double encoding
        "..%255c..%255csentinel",
        "..%5C..%5C..%5Csentinel",  # backslashes
        "....%2F%2F....%2F%2Fsentinel",
        "%c0%ae%c0%ae%c0%afsentinel",  # overlong UTF-8 dots and slash
        absolute,  # the sentinel's absolute path, slashes encoded
        absolute + ".json",
        "%2Fetc%2Fpasswd",
        "sentinel%00.json",
        "%00",
        "audit-20261124T073000Z%00..%2F..%2Fsentinel",
        "audit-20261124T073000Z%2F..%2F..%2F..%2Fsentinel",
        "~%2F.ssh%2Fid_rsa",
        "%7e",
        "." * 300,
    ]


def _operations() -> list[tuple[str, str, list[str], bool]]:
    ops = []
    for route in collect_routes():
        pattern, handler = route[0], route[1]
        params = _GROUP.findall(pattern)
        if not params:
            continue
        ws = issubclass(handler, WebSocketHandler)
        for method in METHODS:
            if method in vars(handler) or (ws and method == "get"):
                ops.append((method.upper(), pattern.rstrip("$"), params, ws))
    return ops


OPERATIONS = _operations()


def _request(
    server: JupyterProcess, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={**server.headers, **headers})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def sentinel(demo_server: JupyterProcess) -> Path:
    """A file outside the data directory, beside it, that traversal would reach."""
    path = demo_server.data_dir.parent / "sentinel.json"
    path.write_text(SENTINEL_TEXT)
    return path


def test_the_walk_finds_every_path_parameter() -> None:
    params = {p for _, _, ps, _ in OPERATIONS for p in ps}
    assert {"name", "agent_id", "memory_id"} <= params
    assert ("DELETE", "/resync/api/audit/flags/(?P<name>[^/]+)") in {
        (m, p) for m, p, _, _ in OPERATIONS
    }


@pytest.mark.parametrize(("method", "pattern", "params", "ws"), OPERATIONS)
def test_traversal_in_a_path_parameter_is_400_or_404(
    demo_server: JupyterProcess,
    sentinel: Path,
    method: str,
    pattern: str,
    params: list[str],
    ws: bool,
) -> None:
    before = sentinel.stat()
    for payload in _payloads(sentinel):
        path = _GROUP.sub(payload, pattern)
        body = b"{}" if method in {"POST", "PUT", "PATCH"} else None
        status, raw = _request(demo_server, method, path, body)
        assert status in (400, 404), (method, path, status, raw[:300])
        text = raw.decode("utf-8", "replace")
        assert_no_traceback(text, f"{method} {path}")
        assert "root:x:" not in text and "must never be read" not in text, text[:300]
        if not ws and raw:
            assert set(json.loads(raw)) == {"message", "reason"}, (path, text[:300])
    assert sentinel.read_text() == SENTINEL_TEXT
    after = sentinel.stat()
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)
    assert demo_server.alive()


def _body_operations() -> list[tuple[str, str]]:
    """Operations whose OpenAPI entry declares a JSON request body (they parse it)."""
    from resync_ext.handlers.openapi import build_openapi

    out = []
    for path, ops in build_openapi()["paths"].items():
        for method, op in ops.items():
            if "requestBody" in op and "{" not in path:
                out.append((method.upper(), path))
    return out


BODY_OPERATIONS = _body_operations()


def test_there_are_body_operations_to_attack() -> None:
    assert ("POST", "/resync/api/audit/review") in BODY_OPERATIONS


@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS)
def test_an_oversized_body_is_413_json(demo_server: JupyterProcess, method: str, path: str) -> None:
    big = json.dumps({"memory_id": "x", "action": "approve", "comment": "c" * (MAX_BODY + 10)})
    status, raw = _request(
        demo_server, method, path, big.encode(), **{"Content-Type": "application/json"}
    )
    assert status == 413, (status, raw[:300])
    body = json.loads(raw)
    assert body["reason"] == "too_large" and "1048576" in body["message"]
    assert demo_server.alive()


@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS)
def test_deeply_nested_json_is_400_not_500(
    demo_server: JupyterProcess, method: str, path: str
) -> None:
    depth = 10_000
    for nested in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        status, raw = _request(
            demo_server, method, path, nested.encode(), **{"Content-Type": "application/json"}
        )
        assert status == 400, (status, raw[:300])
        assert_no_traceback(raw.decode(), f"{method} {path}")


def test_moderately_nested_json_is_400(demo_server: JupyterProcess) -> None:
    # Below the recursion limit the parser copes: the model then refuses the shape.
    depth = 500
    status, raw = _request(
        demo_server,
        "POST",
        "/resync/api/audit/review",
        ("[" * depth + "]" * depth).encode(),
        **{"Content-Type": "application/json"},
    )
    assert status == 400, (status, raw[:300])
    assert json.loads(raw)["reason"]


def test_traversal_in_a_report_notebook_name_is_400(
    demo_server: JupyterProcess, sentinel: Path
) -> None:
    stem = str(sentinel.with_suffix(""))
    for name in ("../../sentinel", stem, stem + ".ipynb", "..", "a/../../b", "x\x00y", "%2e%2e"):
        status, raw = _request(
            demo_server,
            "POST",
            "/resync/api/reports",
            json.dumps({"notebook": name}).encode(),
            **{"Content-Type": "application/json"},
        )
        assert status == 400, (name, status, raw[:300])
    assert sentinel.read_text() == SENTINEL_TEXT

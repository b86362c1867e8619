"""Fuzz the REST API from its own OpenAPI document with schemathesis, against a real server.

The document is fetched from the running server (``GET /resync/api/openapi.json``), so the fuzz
covers whatever the route table holds. The test drives schemathesis through its Python API
(each operation's Hypothesis strategy, positive and negative, under ``@given`` in an ordinary
test) rather than its pytest plugin: the server is a session fixture started at run time, the
example count per operation and mode is bounded explicitly, every request has a timeout, and the
token is forced onto every request (negative cases would otherwise drop it and stop at the auth
layer, which tests/security/test_routes.py already covers). It needs no plugin hook, so the
strict pytest configuration (warnings as errors, strict markers) applies unchanged.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.security.conftest import JupyterProcess, assert_no_traceback

pytestmark = pytest.mark.slow

EXAMPLES_PER_MODE = 12
REQUEST_TIMEOUT_S = 10.0
#: The responses documented for "a dependency is down": the only 5xx a fuzzer may see.
DEPENDENCY_DOWN = 503


def _load(server: JupyterProcess) -> Any:
    doc = server.get("/resync/api/openapi.json").json()
    return doc, schemathesis.openapi.from_dict(doc)


def test_the_document_describes_every_routed_operation(demo_server: JupyterProcess) -> None:
    doc, schema = _load(demo_server)
    ops = [op.ok() for op in schema.get_all_operations()]
    labels = {f"{op.method.upper()} {op.path}" for op in ops}
    assert {
        "GET /resync/api/health",
        "POST /resync/api/audit/review",
        "DELETE /resync/api/audit/flags/{name}",
    } <= labels
    assert doc["components"]["securitySchemes"]["token"]["name"] == "Authorization"
    # Without the token the document itself is refused.
    assert httpx.get(demo_server.url + "/resync/api/openapi.json", timeout=10).status_code == 403


def _fuzz(
    server: JupyterProcess,
    session: requests.Session,
    operation: Any,
    mode: GenerationMode,
    seen: dict[str, set[int]],
    **fixed: Any,
) -> None:
    """Send EXAMPLES_PER_MODE generated requests to one operation and check every answer."""
    label = f"{operation.method.upper()} {operation.path}"

    @settings(
        max_examples=EXAMPLES_PER_MODE,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    def check(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url=server.url)
        # Negative cases may drop the token to test auth; test_routes.py covers that, here
        # every request is authenticated so that the fuzz reaches the handlers.
        kwargs["headers"] = {**kwargs.get("headers", {}), **server.headers}
        try:
            resp = session.request(**kwargs, timeout=REQUEST_TIMEOUT_S)
        except requests.Timeout as e:
            raise AssertionError(f"{label}: no answer in {REQUEST_TIMEOUT_S}s") from e
        status = resp.status_code
        seen.setdefault(label, set()).add(status)
        body = resp.text
        assert status < 500 or status == DEPENDENCY_DOWN, (label, status, body[:300])
        assert_no_traceback(body, f"{label} -> {status}")
        if status >= 400 and body:
            # Errors are the documented JSON shape, never an HTML page.
            assert set(resp.json()) >= {"message", "reason"}, (label, body[:300])

    check()


def test_no_operation_answers_5xx_hangs_or_leaks_a_traceback(
    demo_server: JupyterProcess, demo_flagged: dict[str, str]
) -> None:
    _, schema = _load(demo_server)
    log_start = len(demo_server.log_text())
    seen: dict[str, set[int]] = {}
    session = requests.Session()
    session.trust_env = False  # loopback only, whatever proxy the environment names
    for result in schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(demo_server, session, result.ok(), mode, seen)
    # Again with a real batch name, so the fuzzed requests reach an existing batch.
    for result in schema.get_all_operations():
        operation = result.ok()
        if "{name}" in operation.path:
            _fuzz(
                demo_server,
                session,
                operation,
                GenerationMode.POSITIVE,
                seen,
                path_parameters={"name": demo_flagged["batch"]},
            )

    assert len(seen) >= 8, seen
    # The fuzzer reached the handlers, not only the auth layer.
    assert any(200 <= s < 300 for codes in seen.values() for s in codes), seen
    assert any(s == 400 for codes in seen.values() for s in codes), seen
    assert 200 in seen["GET /resync/api/audit/flags/{name}"], seen
    assert 409 in seen["DELETE /resync/api/audit/flags/{name}"], "a batch with pending items"
    assert demo_server.alive()
    assert demo_server.get("/resync/api/health").json()["status"] == "ok"
    new_log = demo_server.log_text()[log_start:]
    assert "Traceback" not in new_log, new_log[new_log.find("Traceback") - 500 :][:3000]

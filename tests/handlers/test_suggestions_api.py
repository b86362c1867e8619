"""GET /resync/api/suggestions through a real Jupyter server over the TWS simulator: questions
built from what the engine reports, so they change with the plan."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from resync_ext.agents.routing import OBJECT, PLAN, route
from resync_ext.handlers.permissions import READ, declared
from resync_ext.handlers.suggestions import SuggestionsHandler
from resync_ext.tws.simulator.testing import run_in_thread


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    with run_in_thread("demo") as running:
        yield running


@pytest.fixture
def resync_config(resync_config: dict[str, Any], sim: Any) -> dict[str, Any]:
    return {**resync_config, "tws_url": sim.url}


def test_the_endpoint_declares_read_permission() -> None:
    assert declared(SuggestionsHandler, "get") == READ


async def test_suggestions_name_tonights_problems(jp_fetch: Any, resync_services: Any) -> None:
    resp = await jp_fetch("resync", "api", "suggestions")
    body = json.loads(resp.body)
    questions = [s["question"] for s in body["suggestions"]]
    assert questions == [
        "What failed tonight?",
        "Why did PAYROLL_EXTRACT fail?",
        "Will PAYROLL_BANKFILE make its deadline?",
        "Why is AGT_WIN02 unlinked?",
    ]
    assert all(s["reason"] for s in body["suggestions"]) and "note" not in body
    # auto sends the plan-wide one to the analyzer and the others to the troubleshooter.
    assert [route(q).kind for q in questions] == [PLAN, OBJECT, OBJECT, OBJECT]


async def test_suggestions_without_the_token_are_refused(
    jp_fetch: Any, resync_services: Any
) -> None:
    with pytest.raises(HTTPClientError) as exc:
        await jp_fetch("resync", "api", "suggestions", headers={"Authorization": ""})
    assert exc.value.code == 403

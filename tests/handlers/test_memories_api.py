"""The memories API through a real Jupyter server with the real embedded memory store."""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from tests.support import wait_memory

UNKNOWN = "00000000-0000-4000-8000-000000000000"
RECORD_KEYS = {"id", "text", "created_at", "metadata"}


async def _get(jp_fetch: Any, path: str, **params: Any) -> Any:
    resp = await jp_fetch(*path.split("/"), method="GET", params=params or None)
    return json.loads(resp.body)


async def _status_of(call: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HTTPClientError) as exc:
        await call
    assert exc.value.response is not None
    body: dict[str, Any] = json.loads(exc.value.response.body)
    assert set(body) == {"message", "reason"}
    return exc.value.code, body


@pytest.mark.slow
class TestWithTheStoreOpen:
    """Every endpoint against a store the extension opened from its traitlets."""

    @pytest.fixture
    def resync_config(self, resync_config: dict[str, Any]) -> dict[str, Any]:
        return {**resync_config, "open_memory": True}

    async def test_what_start_up_loaded_is_kept_out_of_full_collections(
        self, resync_services: Any
    ) -> None:
        # Full collections walking the loaded libraries paused the server ~200 ms every few
        # review decisions (make bench, review_api_p95); start-up freezes its objects.
        await wait_memory(resync_services)
        for _ in range(100):  # the freeze follows the store's opening on the loop
            if gc.get_freeze_count() > 100_000:
                break
            await asyncio.sleep(0.05)
        assert gc.get_freeze_count() > 100_000

    async def test_list_search_get_delete(self, jp_fetch: Any, resync_services: Any) -> None:
        store = await wait_memory(resync_services)
        assert await _get(jp_fetch, "resync/api/memories") == {"memories": []}
        payroll = await store.add_turn(
            agent_id="tws-troubleshooter",
            question="Why did PAYROLL_EXTRACT abend?",
            answer="ORA-01017: the database password=hunter2 expired.",
            evidence=[{"tool": "get_job_log", "args": {}, "summary": "ORA-01017"}],
        )
        link = await store.add_turn(
            agent_id="tws-troubleshooter",
            question="Which workstation is unlinked?",
            answer="AGT_WIN02 has been unlinked since 02:10.",
            evidence=[],
        )
        sla = await store.add_turn(
            agent_id="sla-watch",
            question="Is DAILY_PAY late?",
            answer="Yes, by 40 min.",
            evidence=[],
        )
        await store.set_state(link.id, "approved", review={"by": "ann"})

        listed = (await _get(jp_fetch, "resync/api/memories"))["memories"]
        assert [m["id"] for m in listed] == [sla.id, link.id, payroll.id]
        assert all(set(m) == RECORD_KEYS for m in listed)
        assert "hunter2" not in json.dumps(listed)

        page = await _get(jp_fetch, "resync/api/memories", limit=1, offset=1)
        assert [m["id"] for m in page["memories"]] == [link.id]
        by_state = await _get(jp_fetch, "resync/api/memories", state="approved")
        assert [m["id"] for m in by_state["memories"]] == [link.id]
        by_agent = await _get(jp_fetch, "resync/api/memories", agent_id="sla-watch")
        assert [m["id"] for m in by_agent["memories"]] == [sla.id]

        found = (await _get(jp_fetch, "resync/api/memories", query="oracle login failure"))[
            "memories"
        ]
        assert found[0]["id"] == payroll.id
        assert all(set(m) == RECORD_KEYS | {"score"} for m in found)
        assert [m["score"] for m in found] == sorted((m["score"] for m in found), reverse=True)

        one = await _get(jp_fetch, f"resync/api/memories/{payroll.id}")
        assert one["id"] == payroll.id and one["metadata"]["state"] == "new"
        assert one["metadata"]["evidence"][0]["tool"] == "get_job_log"

        resp = await jp_fetch("resync", "api", "memories", payroll.id, method="DELETE")
        assert resp.code == 204
        code, body = await _status_of(jp_fetch("resync", "api", "memories", payroll.id))
        assert code == 404 and payroll.id in body["message"]
        code, _ = await _status_of(
            jp_fetch("resync", "api", "memories", payroll.id, method="DELETE")
        )
        assert code == 404

    async def test_bad_input_is_400_unknown_is_404(
        self, jp_fetch: Any, resync_services: Any
    ) -> None:
        await wait_memory(resync_services)
        code, body = await _status_of(jp_fetch("resync", "api", "memories", "not-a-uuid"))
        assert code == 400 and "not-a-uuid" in body["message"]
        code, _ = await _status_of(jp_fetch("resync", "api", "memories", UNKNOWN))
        assert code == 404
        for params in ({"state": "pending"}, {"limit": "0"}, {"limit": "many"}):
            code, _ = await _status_of(jp_fetch("resync", "api", "memories", params=params))
            assert code == 400, params


async def test_memories_answer_503_while_the_store_is_not_open(jp_fetch: Any) -> None:
    code, body = await _status_of(jp_fetch("resync", "api", "memories"))
    assert code == 503 and "memory" in body["message"]
    code, _ = await _status_of(jp_fetch("resync", "api", "memories", UNKNOWN))
    assert code == 503

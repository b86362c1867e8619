"""The review queue through a real Jupyter server with the real embedded memory store."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from tests.support import flag_turns, wait_memory

pytestmark = pytest.mark.slow


@pytest.fixture
def resync_config(resync_config: dict[str, Any]) -> dict[str, Any]:
    return {**resync_config, "open_memory": True}


async def flag(services: Any, *questions: str) -> list[str]:
    """Store turns and flag them into one batch, as an audit pass does."""
    evidence = [
        {
            "tool": "get_job_log",
            "args": {"job": "PAYROLL_EXTRACT"},
            "summary": "ORA-01017: invalid username/password; logon denied",
        }
    ]
    audit = {"verdict": "suspicious", "confidence": 0.6, "reason": "no evidence for the rerun"}
    return await flag_turns(
        services, questions, answer="rerun PAYROLL_EXTRACT", evidence=evidence, audit=audit
    )


async def expect_status(call: Any, status: int) -> dict[str, Any]:
    with pytest.raises(HTTPClientError) as exc:
        await call
    assert exc.value.code == status
    assert exc.value.response is not None
    body: dict[str, Any] = json.loads(exc.value.response.body)
    assert set(body) == {"message", "reason"} and "Traceback" not in body["message"]
    return body


async def test_review_approve_reject_archive_through_the_api(
    jp_fetch: Any, resync_services: Any
) -> None:
    services = resync_services
    a, b = await flag(services, "why did PAYROLL_EXTRACT fail?", "what blocks DAILY_PAY?")

    batches = json.loads((await jp_fetch("resync", "api", "audit", "flags")).body)["batches"]
    assert len(batches) == 1 and batches[0]["pending"] == 2
    name = batches[0]["name"]
    batch = json.loads((await jp_fetch("resync", "api", "audit", "flags", name)).body)
    assert {i["memory_id"] for i in batch["items"]} == {a, b}

    async def review(mid: str, action: str, comment: str | None = None) -> Any:
        body = {"memory_id": mid, "action": action}
        if comment:
            body["comment"] = comment
        return await jp_fetch(
            "resync", "api", "audit", "review", method="POST", body=json.dumps(body)
        )

    item = json.loads((await review(a, "approve", "right call")).body)
    assert item["status"] == "approved" and item["comment"] == "right call"
    assert item["decided_by"] and item["decided_at"]
    stored = await services.memory.get(a)
    assert stored.metadata.state == "approved" and stored.metadata.review.comment == "right call"

    # An approved turn becomes a demonstration for its agent, kept under the data dir (soon,
    # in the background: never inside the reviewer's request).
    demos = services.demos.path("tws-troubleshooter")
    for _ in range(100):
        if demos.is_file():
            break
        await asyncio.sleep(0.1)
    assert demos.is_file()
    rebuilt = json.loads(
        (
            await jp_fetch("resync", "api", "agents", "demos", "rebuild", method="POST", body=b"")
        ).body
    )
    assert rebuilt["demos"]["tws-troubleshooter"] >= 1

    # The same decision again is fine; the other one is a conflict.
    assert json.loads((await review(a, "approve")).body)["status"] == "approved"
    await expect_status(review(a, "reject"), 409)
    # Archive refuses while b is pending.
    await expect_status(jp_fetch("resync", "api", "audit", "flags", name, method="DELETE"), 409)
    await review(b, "reject", "advises a rerun nobody asked for")
    assert (await services.memory.get(b)).metadata.state == "rejected"
    resp = await jp_fetch("resync", "api", "audit", "flags", name, method="DELETE")
    assert resp.code == 204
    assert json.loads((await jp_fetch("resync", "api", "audit", "flags")).body)["batches"] == []
    await expect_status(jp_fetch("resync", "api", "audit", "flags", name), 404)
    metrics = json.loads((await jp_fetch("resync", "api", "audit", "metrics")).body)
    assert metrics["by_state"]["approved"] == 1 and metrics["by_state"]["rejected"] == 1
    assert metrics["decisions"] == {"approved": 1, "rejected": 1}


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        json.dumps({"memory_id": "x"}),
        json.dumps({"memory_id": "x", "action": "delete"}),
        json.dumps({"memory_id": "x", "action": "approve", "extra": 1}),
        json.dumps([1, 2]),
    ],
)
async def test_bad_review_bodies_are_400(jp_fetch: Any, resync_services: Any, body: str) -> None:
    await wait_memory(resync_services, timeout=60)
    await expect_status(jp_fetch("resync", "api", "audit", "review", method="POST", body=body), 400)


async def test_unknown_memory_is_404(jp_fetch: Any, resync_services: Any) -> None:
    await wait_memory(resync_services, timeout=60)
    body = json.dumps({"memory_id": "00000000-0000-0000-0000-000000000000", "action": "approve"})
    await expect_status(jp_fetch("resync", "api", "audit", "review", method="POST", body=body), 404)


@pytest.mark.parametrize(
    "name",
    [
        "..",
        "..%2F..%2Fetc%2Fpasswd",
        "%2E%2E",
        "audit-1",
        "audit-20261124T073000Z.json",
        "%2Fetc%2Fpasswd",
        "audit-20261124T073000Z%00",
    ],
)
async def test_batch_names_outside_the_pattern_are_400(
    jp_fetch: Any, resync_services: Any, name: str
) -> None:
    for method in ("GET", "DELETE"):
        await expect_status(jp_fetch("resync", "api", "audit", "flags", name, method=method), 400)

"""What the audit report computes, over a fake server at the HTTP boundary (httpx MockTransport)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from resync_ext.kernel import audit_data as ad
from resync_ext.kernel.errors import ReportDataError, ServiceDown

NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


def memory(i: int, hours_ago: float, state: str = "new", answer: str = "") -> dict[str, Any]:
    return {
        "id": f"m{i}",
        "text": "",
        "created_at": (NOW - timedelta(hours=hours_ago)).isoformat(),
        "metadata": {
            "agent_id": "a",
            "question": f"q{i}",
            "answer": answer,
            "state": state,
            "evidence": [],
        },
    }


def api_over(handler: Any) -> ad.ServerAPI:
    return ad.ServerAPI("http://127.0.0.1:1/base/", "tok", transport=httpx.MockTransport(handler))


def test_memories_are_paged_until_the_period_starts() -> None:
    store = [memory(i, hours_ago=i * 0.05) for i in range(1200)]  # newest first, 60 h back
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        offset = int(request.url.params["offset"])
        limit = int(request.url.params["limit"])
        return httpx.Response(200, json={"memories": store[offset : offset + limit]})

    got = ad.fetch_memories(api_over(handler), NOW - timedelta(hours=40))
    assert len(got) == 801 and got[-1]["id"] == "m800"
    assert [r.url.params["offset"] for r in seen] == ["0", "500"]  # stopped inside page two
    assert seen[0].url.path == "/base/resync/api/memories"
    assert seen[0].headers["Authorization"] == "token tok"


def test_server_errors_say_what_went_wrong() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"message": "the memory service is not available"})

    with pytest.raises(ServiceDown, match="memory service is not available"):
        api_over(down).get("resync/api/memories")
    with pytest.raises(ReportDataError, match="refused the token"):
        api_over(lambda r: httpx.Response(403, json={})).get("resync/api/health")
    with pytest.raises(ReportDataError, match="no Resync server"):
        ad.ServerAPI("", "")


def test_reviewer_throughput_counts_decisions_in_the_period() -> None:
    created = (NOW - timedelta(hours=10)).isoformat()
    items = [
        {
            "status": "approved",
            "decided_by": "ann",
            "decided_at": (NOW - timedelta(hours=8)).isoformat(),
            "batch_created": created,
        },
        {
            "status": "rejected",
            "decided_by": "ann",
            "decided_at": (NOW - timedelta(hours=6)).isoformat(),
            "batch_created": created,
        },
        {
            "status": "approved",
            "decided_by": "bob",
            "decided_at": (NOW - timedelta(hours=50)).isoformat(),
            "batch_created": created,
        },
        {"status": "pending", "decided_by": None, "decided_at": None, "batch_created": created},
    ]
    rows = ad.reviewer_throughput(items, NOW - timedelta(hours=24))
    assert rows == [
        {
            "reviewer": "ann",
            "decided": 2,
            "approved": 1,
            "rejected": 1,
            "median_hours_to_decide": 3.0,
        }
    ]


def test_recurring_failures_group_memories_and_plan_by_signature() -> None:
    m = memory(1, 1, answer="PAYROLL_EXTRACT failed with ORA-01017")
    m["metadata"]["evidence"] = [
        {
            "tool": "get_job_log",
            "args": {"job": "payroll_extract"},
            "summary": "No space left on device",
        }
    ]
    rows = [
        *ad.memory_failures([m]),
        {"signature": "ORA-01017", "job": "PAYROLL_EXTRACT", "source": "plan", "ref": "r1"},
    ]
    table = ad.recurring(rows)
    assert table[0] == {
        "signature": "ORA-01017",
        "occurrences": 2,
        "in_memories": 1,
        "in_plan": 1,
        "jobs": "PAYROLL_EXTRACT",
    }
    assert table[1]["signature"] == "ENOSPC" and table[1]["occurrences"] == 1


def test_changes_since_the_previous_report() -> None:
    previous = {
        "generated_at": "2026-11-23T06:00:00+00:00",
        "by_state": {"flagged": 2, "approved": 0},
        "pending_reviews": 2,
        "plan_failed": 4,
        "signatures": {"ORA-01017": 2, "ENOENT": 1},
        "failed_jobs": ["PAYROLL_EXTRACT", "IMPORT_STMT"],
    }
    current = {
        "by_state": {"flagged": 1, "approved": 1},
        "pending_reviews": 1,
        "plan_failed": 4,
        "signatures": {"ORA-01017": 3, "ENOSPC": 1},
        "failed_jobs": ["PAYROLL_EXTRACT", "SALES_STAGE"],
    }
    lines = ad.changes(previous, current)
    assert "Memories approved: 0 → 1 (+1)." in lines
    assert "Reviews pending: 2 → 1 (-1)." in lines
    assert "New error signatures: ENOSPC." in lines and "No longer seen: ENOENT." in lines
    assert "Newly failed jobs: SALES_STAGE." in lines
    assert "Jobs no longer failed: IMPORT_STMT." in lines
    assert ad.changes(None, current) == [
        "This is the first report: there is nothing to compare with yet."
    ]
    assert ad.changes(current, current)[0].startswith("Nothing changed")

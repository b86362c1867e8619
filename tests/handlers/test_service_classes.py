"""Swappable services: a deployment replaces one through ResyncApp's ``*_class`` traits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from traitlets import TraitError

from resync_ext.app import ResyncApp
from resync_ext.audit.review_queue import Batch, ReviewItem, ReviewQueue
from tests.support import wait_memory


class TeamQueue(ReviewQueue):
    """Review batches kept in a folder a whole team shares, not under the server's data_dir."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(Path(data_dir) / "team-review")


@pytest.fixture
def resync_config(resync_config: dict[str, Any]) -> dict[str, Any]:
    return {**resync_config, "review_queue_class": TeamQueue}


async def test_a_review_queue_class_set_in_the_config_serves_the_review_api(
    jp_fetch: Any, resync_services: Any, resync_data_dir: Path
) -> None:
    # A batch the team's queue holds (written by another server of the team, say).
    item = ReviewItem(
        memory_id="5d0f6f9e-0f4c-4a57-8f5f-0d1b8e2c3a44",
        question="why did PAYROLL_EXTRACT fail?",
        answer="ORA-01017",
        verdict="suspicious",
        confidence=0.6,
        reason="the rerun advice is not asked",
    )
    batch = Batch(name="audit-20261124T073000Z", created="2026-11-24T07:30:00Z", items=[item])
    flags = resync_data_dir / "team-review" / "audit" / "flags"
    (flags / "audit-20261124T073000Z.json").write_text(batch.model_dump_json())

    listed = json.loads((await jp_fetch("resync", "api", "audit", "flags")).body)
    assert listed["batches"] == [
        {
            "name": "audit-20261124T073000Z",
            "created": "2026-11-24T07:30:00Z",
            "total": 1,
            "pending": 1,
            "approved": 0,
            "rejected": 0,
            "corrected": 0,
        }
    ]
    got = json.loads(
        (await jp_fetch("resync", "api", "audit", "flags", "audit-20261124T073000Z")).body
    )
    assert [i["memory_id"] for i in got["items"]] == [item.memory_id]
    assert type(resync_services.queue) is TeamQueue
    assert not (resync_data_dir / "audit" / "flags").exists(), "the default queue was not built"


def test_a_service_class_must_fit_its_seam() -> None:
    with pytest.raises(TraitError):
        ResyncApp(review_queue_class=dict)
    with pytest.raises(TraitError):
        ResyncApp(memory_store_class=ReviewQueue)  # not a MemoryStore
    with pytest.raises(TraitError):
        ResyncApp(judge_class=dict)  # not awaitable as judge(question=, answer=, evidence=)


class StrictJudge:
    """A judge that finds every answer wrong, and says how sure it is."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry

    async def __call__(self, *, question: str, answer: str, evidence: list[Any]) -> dict[str, Any]:
        return {"verdict": "incorrect", "confidence": 0.99, "reason": "strict judge: " + question}


class TestJudgeClass:
    @pytest.fixture
    def resync_config(self, resync_config: dict[str, Any]) -> dict[str, Any]:
        return {**resync_config, "open_memory": True, "judge_class": StrictJudge}

    @pytest.mark.slow
    async def test_the_configured_judge_decides_the_audit_pass(
        self, jp_fetch: Any, resync_services: Any
    ) -> None:
        store = await wait_memory(resync_services, timeout=60)
        memory = await store.add_turn(
            agent_id="tws-troubleshooter",
            question="why did PAYROLL_EXTRACT fail?",
            answer="It ran out of disk.",
            evidence=[],
        )
        run = json.loads(
            (await jp_fetch("resync", "api", "audit", "run", method="POST", body=b"")).body
        )
        assert (run["audited"], run["rejected"], run["flagged"]) == (1, 1, 0)
        judged = json.loads((await jp_fetch("resync", "api", "memories", memory.id)).body)
        assert judged["metadata"]["state"] == "rejected_by_auditor"
        assert (
            judged["metadata"]["audit"]["reason"] == "strict judge: why did PAYROLL_EXTRACT fail?"
        )

"""Review that teaches, over REST: bulk decisions, re-check, export as an eval case, demos chosen.

The single decision (approve, reject, correct) stays ``POST /resync/api/audit/review``
(handlers/audit.py); the auditor's measured precision, recall and reviewer agreement are in
``GET /resync/api/audit/metrics`` (``resync_ext.audit.metrics``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from tornado import web

from resync_ext.audit.recheck import Change, recheck
from resync_ext.handlers.base import ResyncHandler
from resync_ext.handlers.permissions import EXECUTE, READ, WRITE

MAX_BULK = 500  # a screenful of cards is a few dozen; a filter selects a few hundred at most


class BulkReviewRequest(BaseModel):
    """One decision for many flagged memories."""

    model_config = ConfigDict(extra="forbid")

    memory_ids: list[str] = Field(min_length=1, max_length=MAX_BULK)
    action: Literal["approve", "reject"]
    comment: str | None = Field(default=None, max_length=4000)


class BulkResult(BaseModel):
    """What happened to one memory of a bulk decision."""

    memory_id: str
    ok: bool
    status: str | None = None
    reason: str | None = None
    message: str | None = None


class BulkReviewResult(BaseModel):
    """Per-id results, in the order given (a bad id is reported; the others are applied)."""

    results: list[BulkResult]
    applied: int
    failed: int


class RecheckResult(BaseModel):
    """What changed on the live plan since the answer was given."""

    memory_id: str
    answered_at: str
    checked_at: str
    calls: int
    skipped: int
    changes: list[Change]


class DemosQuery(BaseModel):
    """Which agent, for which question."""

    agent_id: str = Field(min_length=1, max_length=200)
    question: str = Field(min_length=1, max_length=4000)


schemas: dict[str, type[BaseModel]] = {
    "BulkReviewRequest": BulkReviewRequest,
    "BulkReviewResult": BulkReviewResult,
    "RecheckResult": RecheckResult,
}


class BulkReviewHandler(ResyncHandler):
    """Approve or reject many flagged memories with one request."""

    permissions = {"post": WRITE}
    openapi = {
        "post": {
            "summary": "Decide many flagged memories",
            "request": "BulkReviewRequest",
            "response": "BulkReviewResult",
        }
    }

    @web.authenticated
    async def post(self) -> None:
        """Apply the decision to each id; answer the per-id results."""
        req = self.body_model(BulkReviewRequest)
        results = await self.audit.decide_many(
            req.memory_ids, req.action, user=self.user_name, comment=req.comment
        )
        applied = sum(1 for r in results if r["ok"])
        self.log.info("review: %s bulk %s of %d memories", self.user_name, req.action, applied)
        body = {"results": results, "applied": applied, "failed": len(results) - applied}
        self.write_json(BulkReviewResult.model_validate(body))


class ExportHandler(ResyncHandler):
    """A reviewed turn as a ``resync-eval`` case (YAML)."""

    permissions = {"get": READ}
    openapi = {
        "get": {
            "summary": "Export a reviewed turn as an evaluation case (YAML)",
            "responses": {"200": {"description": "a resync-eval case file"}},
        }
    }

    @web.authenticated
    async def get(self, memory_id: str) -> None:
        """Answer the case file, named after the memory."""
        from resync_ext.audit.export import eval_case_yaml

        item = await self.audit.item_for(memory_id)
        text = eval_case_yaml(item)
        self.set_header(
            "Content-Disposition", f'attachment; filename="review-{memory_id[:8]}.yaml"'
        )
        self.finish(text, set_content_type="application/yaml; charset=utf-8")


class RecheckHandler(ResyncHandler):
    """Re-run a remembered turn's tool calls on the live plan (read-only) and say what changed."""

    permissions = {"post": EXECUTE}
    openapi = {"post": {"summary": "Re-check a remembered answer", "response": "RecheckResult"}}

    @web.authenticated
    async def post(self, memory_id: str) -> None:
        """Answer the changes since the answer, as ``{"what", "then", "now"}`` each."""
        from resync_ext.tws.tools import build_tools

        memory = await self.memory_store.get(memory_id)
        checked = await recheck(list(memory.metadata.evidence), build_tools(self.tws))
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.write_json(
            RecheckResult(
                memory_id=memory_id, answered_at=memory.created_at, checked_at=now, **checked
            )
        )


class ChosenDemosHandler(ResyncHandler):
    """The reviewed turns an agent would be shown as demonstrations for a question."""

    permissions = {"get": READ}
    openapi = {
        "get": {
            "summary": "Demonstrations chosen for a question (by similarity)",
            "responses": {"200": {"description": "OK"}},
        }
    }

    @web.authenticated
    async def get(self) -> None:
        """Answer ``{"agent_id", "question", "demos": [{memory_id, question, answer, score}]}``."""
        q = self.query_model(DemosQuery)
        self.agents.get(q.agent_id)  # 404 for an agent that does not exist
        chosen = await self.demo_learner.similar_examples(q.agent_id, q.question) or []
        demos = [
            {k: d.get(k) for k in ("memory_id", "question", "answer", "score")} for d in chosen
        ]
        self.write_json({"agent_id": q.agent_id, "question": q.question, "demos": demos})


routes = [
    (r"/resync/api/audit/review/bulk", BulkReviewHandler),
    (r"/resync/api/audit/review/(?P<memory_id>[^/]+)/export", ExportHandler),
    (r"/resync/api/audit/review/(?P<memory_id>[^/]+)/recheck", RecheckHandler),
    (r"/resync/api/audit/demos", ChosenDemosHandler),
]

"""The review queue and the auditor over REST (SPEC.md section 3)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from tornado import web

from resync_ext.audit.review_queue import Batch, ReviewItem, check_batch_name
from resync_ext.handlers.base import ResyncHandler
from resync_ext.handlers.permissions import ADMIN, EXECUTE, READ, WRITE


class ReviewRequest(BaseModel):
    """A reviewer's decision on one flagged memory."""

    model_config = ConfigDict(extra="forbid")

    memory_id: str = Field(min_length=1, max_length=200)
    action: Literal["approve", "reject", "correct"]
    comment: str | None = Field(default=None, max_length=4000)
    #: The corrected answer (required with "correct"); stored beside the original.
    answer: str | None = Field(default=None, max_length=8000)
    #: Which claim of the original answer was wrong (optional, with "correct").
    wrong_claim: str | None = Field(default=None, max_length=1000)


class BatchSummary(BaseModel):
    """One line of the batch list."""

    name: str
    created: str
    total: int
    pending: int
    approved: int
    rejected: int


class BatchList(BaseModel):
    """The open review batches."""

    batches: list[BatchSummary]


class AuditRunResult(BaseModel):
    """What an audit pass did."""

    audited: int
    ok: int
    flagged: int
    rejected: int
    errors: int
    batch: str | None
    seconds: float


schemas: dict[str, type[BaseModel]] = {
    "ReviewRequest": ReviewRequest,
    "ReviewItem": ReviewItem,
    "Batch": Batch,
    "BatchList": BatchList,
    "AuditRunResult": AuditRunResult,
}


class AuditHandler(ResyncHandler):
    """Base of the audit handlers (``self.user_name``, from the base, is who decides)."""


class FlagsHandler(AuditHandler):
    """List the open review batches with their counts."""

    permissions = {"get": READ}
    openapi = {"get": {"summary": "List review batches", "response": "BatchList"}}

    @web.authenticated
    async def get(self) -> None:
        """Answer ``{"batches": [...]}``, oldest first."""
        self.write_json({"batches": await self.review_queue.list_batches()})


class BatchHandler(AuditHandler):
    """One review batch: read it, or archive it once every item is decided."""

    permissions = {"get": READ, "delete": ADMIN}
    openapi = {
        "get": {"summary": "Get a review batch", "response": "Batch"},
        "delete": {
            "summary": "Archive a fully decided batch",
            "responses": {"204": {"description": "Archived"}},
        },
    }

    @web.authenticated
    async def get(self, name: str) -> None:
        """Answer the batch with its items."""
        self.write_json(await self.review_queue.get_batch(check_batch_name(name)))

    @web.authenticated
    async def delete(self, name: str) -> None:
        """Archive the batch (409 while an item is pending)."""
        await self.review_queue.archive(check_batch_name(name))
        self.log.info("review: %s archived batch %s", self.user_name, name)
        self.set_status(204)
        self.finish()


class ReviewHandler(AuditHandler):
    """Approve, reject or correct a flagged memory."""

    permissions = {"post": WRITE}
    openapi = {
        "post": {
            "summary": "Decide a flagged memory",
            "request": "ReviewRequest",
            "response": "ReviewItem",
        }
    }

    @web.authenticated
    async def post(self) -> None:
        """Record the decision with who and when; answer the updated review item."""
        req = self.body_model(ReviewRequest)
        item = await self.audit.decide(
            req.memory_id,
            req.action,
            user=self.user_name,
            comment=req.comment,
            answer=req.answer,
            wrong_claim=req.wrong_claim,
        )
        self.write_json(item)


class RunHandler(AuditHandler):
    """Run an audit pass now."""

    permissions = {"post": EXECUTE}
    openapi = {"post": {"summary": "Run an audit pass now", "response": "AuditRunResult"}}

    @web.authenticated
    async def post(self) -> None:
        """Audit every new memory; answer the pass's counts and its batch."""
        summary = await self.audit.run_pass()
        self.write_json(summary)


class MetricsHandler(AuditHandler):
    """Memories by state, verdicts and decisions over time."""

    permissions = {"get": READ}
    openapi = {"get": {"summary": "Audit metrics", "responses": {"200": {"description": "OK"}}}}

    @web.authenticated
    async def get(self) -> None:
        """Answer the counts."""
        self.write_json(await self.audit.metrics())


routes = [
    (r"/resync/api/audit/flags", FlagsHandler),
    (r"/resync/api/audit/flags/(?P<name>[^/]+)", BatchHandler),
    (r"/resync/api/audit/review", ReviewHandler),
    (r"/resync/api/audit/run", RunHandler),
    (r"/resync/api/audit/metrics", MetricsHandler),
]

"""The memory record of SPEC.md section 6, and its conversion from what Mem0 stores."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer

from resync_ext.memory.errors import InvalidState

State = Literal["new", "audited_ok", "flagged", "approved", "rejected", "rejected_by_auditor"]
STATES: tuple[str, ...] = (
    "new",
    "audited_ok",
    "flagged",
    "approved",
    "rejected",
    "rejected_by_auditor",
)
#: States never offered to the chat as context.
EXCLUDED_FROM_RETRIEVAL: tuple[str, ...] = ("rejected", "rejected_by_auditor")

#: Payload keys the record owns; everything else in a Mem0 payload is Mem0's bookkeeping.
RECORD_KEYS = (
    "kind",
    "question",
    "answer",
    "evidence",
    "session",
    "conversation",
    "previous",
    "state",
    "audit",
    "review",
)


def utc_now() -> str:
    """Return the current UTC time as ISO 8601."""
    return datetime.now(UTC).isoformat()


class AuditInfo(BaseModel):
    """The auditor's verdict on a memory."""

    model_config = ConfigDict(extra="forbid")

    verdict: str
    confidence: float | None = None
    reason: str = ""
    at: str = Field(default_factory=utc_now)


class ReviewInfo(BaseModel):
    """A reviewer's decision on a memory."""

    model_config = ConfigDict(extra="forbid")

    by: str
    at: str = Field(default_factory=utc_now)
    comment: str | None = None
    #: A reviewer's corrected answer (the original stays in ``MemoryMetadata.answer``).
    corrected_answer: str | None = None
    #: Which claim of the original answer was wrong, in the reviewer's words.
    wrong_claim: str | None = None


class MemoryMetadata(BaseModel):
    """What a turn carries besides its text."""

    kind: Literal["conversation"] = "conversation"
    agent_id: str
    question: str
    answer: str
    evidence: list[dict[str, Any]] = Field(default_factory=list)
    session: str | None = None
    #: The chat conversation the turn belongs to, and the memory of the turn before it there.
    conversation: str | None = None
    previous: str | None = None
    state: State = "new"
    audit: AuditInfo | None = None
    review: ReviewInfo | None = None

    @property
    def final_answer(self) -> str:
        """The answer retrieval and demonstrations use: the reviewer's correction, if any."""
        if self.review is not None and self.review.corrected_answer:
            return self.review.corrected_answer
        return self.answer


class Memory(BaseModel):
    """One remembered chat turn; ``score`` is set only on search results."""

    id: str
    text: str
    created_at: str
    metadata: MemoryMetadata
    score: float | None = None

    @model_serializer(mode="wrap")
    def _drop_absent_score(self, handler: Any) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("score") is None:
            data.pop("score", None)
        return data

    @property
    def state(self) -> str:
        """The review state (a shortcut for ``metadata.state``)."""
        return self.metadata.state


def turn_text(question: str, answer: str) -> str:
    """Return the text a turn is remembered (and embedded) by: the question first."""
    return f"Q: {question}\nA: {answer}"


def memory_from_payload(
    memory_id: Any, payload: dict[str, Any], score: float | None = None
) -> Memory:
    """Build a Memory from a raw vector-store payload written through Mem0."""
    meta = {k: payload[k] for k in RECORD_KEYS if k in payload and payload[k] is not None}
    meta["agent_id"] = payload.get("agent_id") or ""
    meta.setdefault("question", "")
    meta.setdefault("answer", "")
    metadata = MemoryMetadata.model_validate(meta)
    text = payload.get("data", "")
    if metadata.final_answer != metadata.answer:  # a corrected turn is offered as corrected
        text = turn_text(metadata.question, metadata.final_answer)
    return Memory(
        id=str(memory_id),
        text=text,
        created_at=payload.get("created_at") or "",
        metadata=metadata,
        score=score,
    )


def memory_from_mem0(item: dict[str, Any]) -> Memory:
    """Build a Memory from an item of Mem0's ``get``/``search`` answers."""
    payload = dict(item.get("metadata") or {})
    payload["data"] = item.get("memory", "")
    payload["created_at"] = item.get("created_at")
    payload["agent_id"] = item.get("agent_id")
    return memory_from_payload(item["id"], payload, item.get("score"))


def check_state(state: str) -> None:
    """Raise ``InvalidState`` unless ``state`` is one of SPEC.md section 6."""
    if state not in STATES:
        raise InvalidState(f"unknown memory state {state!r}; expected one of: {', '.join(STATES)}")


def check_id(memory_id: str) -> None:
    """Raise ``InvalidState`` unless ``memory_id`` is a UUID (every memory id is)."""
    try:
        uuid.UUID(str(memory_id))
    except ValueError as e:
        raise InvalidState(f"{memory_id!r} is not a memory id (a UUID)") from e


def history_event(row: dict[str, Any]) -> dict[str, Any]:
    """Turn a row of Mem0's history table into an event of ``MemoryStore.history``."""
    event = str(row.get("event", "")).upper()
    at = row.get("updated_at") or row.get("created_at")
    if event == "STATE":
        return {
            "event": "state",
            "at": at,
            "from": row["old_memory"],
            "to": row["new_memory"],
            "by": row.get("actor_id"),
        }
    if event == "ADD":
        return {"event": "add", "at": row.get("created_at"), "text": row.get("new_memory")}
    if event == "DELETE":
        return {"event": "delete", "at": at}
    return {"event": event.lower(), "at": at, "text": row.get("new_memory")}

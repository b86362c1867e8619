"""Remembered chat turns over REST (SPEC.md section 3): list, search, read, forget."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator
from tornado import web

from resync_ext.handlers.base import OpenAPI, ResyncHandler
from resync_ext.handlers.permissions import ADMIN, READ
from resync_ext.memory.models import EXCLUDED_FROM_RETRIEVAL, Memory, State

#: The deepest window a search may ask for (offset + limit): it ranks three candidates per
#: result, so this bounds one request at a few thousand vector hits (the store's MAX_SEARCH).
MAX_SEARCH_WINDOW = 1000
#: The deepest window a listing may ask for: a page at offset N reads N + limit points, and the
#: audit report pages through at most 20 000 memories (kernel/audit_data.py's MEMORY_CAP).
MAX_LIST_WINDOW = 20_000


class MemoriesQuery(BaseModel):
    """Query arguments of ``GET /resync/api/memories``."""

    model_config = ConfigDict(extra="ignore")  # ignore ?token= and the like

    query: str | None = Field(default=None, max_length=4000)
    state: State | None = None
    agent_id: str | None = Field(default=None, min_length=1, max_length=200)
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_LIST_WINDOW)
    include_rejected: bool = False

    @field_validator("agent_id")
    @classmethod
    def _an_id(cls, value: str | None) -> str | None:
        # Mem0 refuses an entity id holding whitespace with a ValueError (it was a 500).
        if value is not None and any(c.isspace() for c in value):
            raise ValueError("must be an agent's id, without spaces")
        return value

    @model_validator(mode="after")
    def _bounded_window(self) -> MemoriesQuery:
        search = bool(self.query and self.query.strip())
        window = MAX_SEARCH_WINDOW if search else MAX_LIST_WINDOW
        if self.offset + self.limit > window:
            what = "a search" if search else "a listing"
            raise ValueError(
                f"offset + limit must be at most {window} for {what}: narrow it "
                "(state, agent_id, a more precise query) instead of paging deeper"
            )
        return self


class MemoryList(BaseModel):
    """Memories, newest first; with a query, most similar first with ``score``."""

    memories: list[Memory]


schemas: dict[str, type[BaseModel]] = {"Memory": Memory, "MemoryList": MemoryList}


def _param(name: str, schema: OpenAPI, text: str) -> JsonValue:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": text}


class MemoriesHandler(ResyncHandler):
    """List memories by state and agent, or search them by similarity to a query."""

    permissions = {"get": READ}
    openapi = {
        "get": {
            "summary": "List or search memories",
            "response": "MemoryList",
            "parameters": [
                _param("query", {"type": "string"}, "text to rank memories by similarity to"),
                _param("state", {"type": "string"}, "only memories in this review state"),
                _param("agent_id", {"type": "string"}, "only memories of this agent"),
                _param("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "default 50"),
                _param(
                    "offset",
                    {"type": "integer", "minimum": 0, "maximum": MAX_LIST_WINDOW},
                    f"memories to skip (offset + limit at most {MAX_LIST_WINDOW}, "
                    f"{MAX_SEARCH_WINDOW} with a query)",
                ),
                _param(
                    "include_rejected",
                    {"type": "boolean"},
                    "with a query, also rank rejected memories (chat retrieval never does)",
                ),
            ],
        }
    }

    @web.authenticated
    async def get(self) -> None:
        """Answer ``{"memories": [...]}``."""
        q = self.query_model(MemoriesQuery)
        store = self.memory_store
        if q.query and q.query.strip():
            include = q.include_rejected or q.state in EXCLUDED_FROM_RETRIEVAL
            found = await store.search(
                q.query, agent_id=q.agent_id, limit=q.offset + q.limit, include_rejected=include
            )
            if q.state is not None:
                found = [m for m in found if m.state == q.state]
            memories = found[q.offset : q.offset + q.limit]
        else:
            memories = await store.list(
                state=q.state, agent_id=q.agent_id, limit=q.limit, offset=q.offset
            )
        self.write_json({"memories": [m.model_dump(mode="json") for m in memories]})


class MemoryHandler(ResyncHandler):
    """One memory: read it or forget it."""

    permissions = {"get": READ, "delete": ADMIN}
    openapi = {
        "get": {"summary": "Get a memory", "response": "Memory"},
        "delete": {
            "summary": "Forget a memory",
            "responses": {"204": {"description": "Deleted"}},
        },
    }

    @web.authenticated
    async def get(self, memory_id: str) -> None:
        """Answer the memory (400 for an id that is not a UUID, 404 for an unknown one)."""
        self.write_json(await self.memory_store.get(memory_id))

    @web.authenticated
    async def delete(self, memory_id: str) -> None:
        """Forget the memory; its history is kept."""
        await self.memory_store.delete(memory_id)
        self.log.info("memory: %s deleted memory %s", self.user_name, memory_id)
        self.set_status(204)
        self.finish()


routes = [
    (r"/resync/api/memories", MemoriesHandler),
    (r"/resync/api/memories/(?P<memory_id>[^/]+)", MemoryHandler),
]

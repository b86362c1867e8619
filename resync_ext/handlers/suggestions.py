"""GET /resync/api/suggestions: questions an empty chat offers, built from the live plan."""

from __future__ import annotations

from pydantic import BaseModel
from tornado import web

from resync_ext.agents.suggestions import Suggestion, Suggestions, suggest
from resync_ext.handlers.base import ResyncHandler
from resync_ext.handlers.permissions import READ
from resync_ext.tws.tools import build_tools

schemas: dict[str, type[BaseModel]] = {"Suggestion": Suggestion, "Suggestions": Suggestions}


class SuggestionsHandler(ResyncHandler):
    """Offer three or four questions about tonight's plan (its failures, late critical jobs,
    workstations that cannot run jobs, jobs waiting for a reply), for any agent to be asked."""

    permissions = {"get": READ}
    openapi = {"get": {"summary": "Suggested questions", "response": "Suggestions"}}

    @web.authenticated
    async def get(self) -> None:
        """Answer ``{"suggestions": [{"question", "reason"}], "note"?}`` (read-only TWS reads)."""
        tools = build_tools(self.tws)
        found = await suggest(tools["plan_summary"], tools["list_jobs"])
        self.write_json(found.model_dump(exclude_none=True))


routes = [(r"/resync/api/suggestions", SuggestionsHandler)]

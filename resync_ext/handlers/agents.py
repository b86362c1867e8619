"""GET /resync/api/agents: the agents the registry serves (config/runtime.json)."""

from __future__ import annotations

from pydantic import BaseModel
from tornado import web

from resync_ext.agents.errors import AgentConfigError
from resync_ext.agents.registry import AgentInfo
from resync_ext.errors import Unavailable
from resync_ext.handlers.base import ResyncHandler
from resync_ext.handlers.permissions import EXECUTE, READ


class AgentList(BaseModel):
    """Every configured agent."""

    agents: list[AgentInfo]


schemas: dict[str, type[BaseModel]] = {"AgentInfo": AgentInfo, "AgentList": AgentList}


class AgentsHandler(ResyncHandler):
    """List the configured agents."""

    permissions = {"get": READ}
    openapi = {"get": {"summary": "List agents", "response": "AgentList"}}

    @web.authenticated
    def get(self) -> None:
        """Answer ``{"agents": [...]}`` from the last good configuration."""
        try:
            agents = self.agents.list()
        except AgentConfigError as e:  # never loaded: the file was broken from the start
            raise Unavailable(f"no agents: {e.message}") from e
        self.write_json({"agents": agents})


class DemosHandler(ResyncHandler):
    """Rebuild the agents' few-shot demonstrations from the approved memories."""

    permissions = {"post": EXECUTE}
    openapi = {
        "post": {
            "summary": "Rebuild demos from approved turns",
            "responses": {"200": {"description": "Demos per agent"}},
        }
    }

    @web.authenticated
    async def post(self) -> None:
        """Answer ``{"demos": {agent_id: count}}``."""
        counts = await self.demo_learner.rebuild_all()
        self.write_json({"demos": counts})


routes = [
    (r"/resync/api/agents", AgentsHandler),
    (r"/resync/api/agents/demos/rebuild", DemosHandler),
]

"""GET /resync/api/health: is each dependency of the workbench answering?"""

from __future__ import annotations

from tornado import web

from resync_ext.handlers.base import ResyncHandler
from resync_ext.handlers.permissions import READ


class HealthHandler(ResyncHandler):
    """Report the state of TWS, memory, LM and scheduler, each with its latency."""

    permissions = {"get": READ}
    openapi = {
        "get": {
            "summary": "Health of the workbench and its dependencies",
            "responses": {"200": {"$ref": "#/components/schemas/Health"}},
        }
    }

    @web.authenticated
    async def get(self) -> None:
        """Answer 200 with ``status`` ok or degraded; the checks say which dependency is down."""
        report = await self.health.run()
        self.write_json(
            {
                "status": report["status"],
                "version": self.settings["resync_version"],
                "checks": report["checks"],
            }
        )


routes = [(r"/resync/api/health", HealthHandler)]

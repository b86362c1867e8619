"""REST and WebSocket handlers, one module per resource, each ending in its ``routes`` table."""

from __future__ import annotations

import importlib

from tornado.web import RequestHandler

Route = tuple[str, type[RequestHandler]]

#: Resource modules whose ``routes`` the extension registers, in order.
ROUTE_MODULES = (
    "health",
    "openapi",
    "agents",
    "chat",
    "memories",
    "audit",
    "review",
    "reports",
    "suggestions",
)


def collect_routes() -> list[Route]:
    """Gather the route tables of every resource module (paths are relative to base_url)."""
    routes: list[Route] = []
    for name in ROUTE_MODULES:
        module = importlib.import_module(f"resync_ext.handlers.{name}")
        routes.extend(module.routes)
    return routes

"""REST and WebSocket handlers, one module per resource, each ending in its ``routes`` table."""

from __future__ import annotations

import importlib
from typing import Any

#: Resource modules whose ``routes`` the extension registers, in order.
ROUTE_MODULES = ("health", "openapi", "agents", "chat", "memories", "audit", "reports")


def collect_routes() -> list[tuple[Any, ...]]:
    """Gather the route tables of every resource module (paths are relative to base_url)."""
    routes: list[tuple[Any, ...]] = []
    for name in ROUTE_MODULES:
        module = importlib.import_module(f"resync_ext.handlers.{name}")
        routes.extend(module.routes)
    return routes

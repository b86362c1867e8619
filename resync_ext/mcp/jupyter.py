"""Resync's tools on the Jupyter server's own MCP endpoint (``jupyter-server-mcp``).

``jupyter-server-mcp`` (a dependency of Jupyter AI 3) runs an MCP server inside the Jupyter server
and registers every ``module:function`` listed by the ``jupyter_server_mcp.tools`` entry point
group; Resync's ``pyproject.toml`` points that group at :data:`TOOLS`. Each function here is the
catalog's MCP function for one tool and answers from the services of the Resync extension running
in the same server: its TWS client (``resync_tws``) and, once it has opened, its memory store
(``resync_memory``). Nothing is opened twice. jupyter-server-mcp registers a function with no
annotations, so the ``jupyter_server_mcp.middleware`` entry point adds ``readOnlyHint`` as the tools
are listed (:func:`read_only_middleware`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from resync_ext.mcp.catalog import (
    MEMORY_TOOL,
    READ_ONLY,
    McpToolFn,
    ToolFn,
    ToolUnavailable,
    mcp_functions,
)
from resync_ext.mcp.reviewed import ReviewedAnswers
from resync_ext.memory.errors import StoreUnavailable
from resync_ext.memory.store import MemoryStore

_NOT_RUNNING = (
    "the Resync extension is not running in this Jupyter server "
    "(enable resync_ext and see the server's log)"
)
_bound: tuple[Any, dict[str, ToolFn]] | None = None


def _settings() -> Mapping[str, Any]:
    """Return the running Jupyter server's web application settings."""
    from jupyter_server.serverapp import ServerApp

    web_app = getattr(ServerApp.instance(), "web_app", None) if ServerApp.initialized() else None
    if web_app is None:
        raise ToolUnavailable("no Jupyter server is running in this process")
    return web_app.settings


@contextlib.asynccontextmanager
async def _memory() -> AsyncIterator[MemoryStore]:
    """Lend the extension's open memory store, or say why there is none."""
    settings = _settings()
    store = settings.get("resync_memory")
    if store is None:
        services = settings.get("resync_services")
        reason = getattr(services, "memory_error", None) if services is not None else None
        raise StoreUnavailable(
            reason
            or "the memory store is not open (yet): it opens in the background after the "
            "server starts, unless ResyncApp.open_memory is off"
        )
    yield store


async def resolve(name: str) -> ToolFn:
    """Return the running extension's function behind tool ``name``."""
    global _bound
    if name == MEMORY_TOOL:
        return ReviewedAnswers(_memory).search_reviewed_answers
    client = _settings().get("resync_tws")
    if client is None:
        raise ToolUnavailable(_NOT_RUNNING)
    if _bound is None or _bound[0] is not client:
        from resync_ext.tws.tools import build_tools

        _bound = (client, build_tools(client))
    return _bound[1][name]


def read_only_middleware() -> Any:
    """Return a FastMCP middleware that marks Resync's tools read-only when they are listed.

    jupyter-server-mcp registers a tool from its function alone (``mcp.tool(fn)``), which leaves
    no room for annotations; its ``jupyter_server_mcp.middleware`` entry point calls this factory.
    """
    from fastmcp.server.middleware import Middleware

    ours = frozenset(FUNCTIONS)

    class ReadOnlyAnnotations(Middleware):
        """Add ``readOnlyHint: true`` (and friends) to Resync's tools in ``tools/list``."""

        async def on_list_tools(self, context: Any, call_next: Any) -> Any:
            tools = await call_next(context)
            return [
                t.model_copy(update={"annotations": READ_ONLY}) if t.name in ours else t
                for t in tools
            ]

    return ReadOnlyAnnotations()


FUNCTIONS: dict[str, McpToolFn] = mcp_functions(resolve)
globals().update(FUNCTIONS)  # jupyter-server-mcp loads each as "resync_ext.mcp.jupyter:<name>"

#: The ``jupyter_server_mcp.tools`` entry point: one ``module:function`` per tool.
TOOLS: list[str] = [f"{__name__}:{name}" for name in FUNCTIONS]

"""``resync-mcp``: Resync's read-only tools as a standalone MCP server (the official MCP SDK).

stdio by default (an MCP client starts it as a subprocess); ``--http`` serves streamable HTTP at
``http://HOST:PORT/mcp`` on loopback unless told otherwise, and every request must carry
``Authorization: Bearer <token>`` (``--token`` or ``RESYNC_MCP_TOKEN``; it refuses to start without
one). The HWA engine and the memory store are configured with the extension's variables
(``RESYNC_TWS_URL``, ``RESYNC_TWS_USER`` ..., ``RESYNC_DATA_DIR``: see settings.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import logging
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from resync_ext import __version__
from resync_ext.mcp import settings as mcp_settings
from resync_ext.mcp.catalog import (
    INSTRUCTIONS,
    MEMORY_TOOL,
    READ_ONLY,
    SERVER_NAME,
    McpToolFn,
    ToolFn,
    mcp_functions,
)
from resync_ext.mcp.errors import McpSettingError
from resync_ext.mcp.reviewed import ReviewedAnswers, StandaloneMemory

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("resync_ext.mcp")
MCP_PATH = "/mcp"


def build_server(functions: Mapping[str, McpToolFn]) -> MCPServer:
    """Return an MCP server offering ``functions``, each annotated read-only."""
    from mcp.server.mcpserver import MCPServer

    server: MCPServer = MCPServer(
        SERVER_NAME, instructions=INSTRUCTIONS, version=__version__, log_level="WARNING"
    )
    for name, fn in functions.items():
        server.add_tool(fn, name=name, description=fn.__doc__, annotations=READ_ONLY)
    return server


class StandaloneTools:
    """The read-only TWS client, the agents' tools over it and the reviewed-answer search."""

    def __init__(self, settings: mcp_settings.Settings) -> None:
        from resync_ext.tws.client import TWSClient
        from resync_ext.tws.resilience import CircuitBreaker
        from resync_ext.tws.tools import build_tools

        tws = settings.tws
        self.client = TWSClient(
            tws.url,
            user=tws.user,
            password=tws.password,
            api_key=tws.api_key,
            verify=tws.verify,
            ca_bundle=tws.ca_bundle,
            timeout=tws.timeout,
            breaker=CircuitBreaker(tws.breaker_failures, tws.breaker_reset_s),
            max_log_bytes=tws.max_log_bytes,
            logger=log,
        )
        self.tools = build_tools(self.client)
        mem = settings.memory
        self.memory = StandaloneMemory(
            data_dir=mem.data_dir,
            qdrant_url=mem.qdrant_url,
            qdrant_api_key=mem.qdrant_api_key,
            engine=mem.engine,
            embedder=mem.embedder,
            embedder_cache=mem.embedder_cache,
        )
        self.reviewed = ReviewedAnswers(self.memory.lease)

    async def resolve(self, name: str) -> ToolFn:
        """Return the bound function behind tool ``name``."""
        if name == MEMORY_TOOL:
            return self.reviewed.search_reviewed_answers
        return self.tools[name]

    async def aclose(self) -> None:
        """Release the HTTP pool and the memory store."""
        await self.memory.aclose()
        await self.client.aclose()


class BearerAuth:
    """ASGI middleware: refuse every HTTP request without the bearer token (401)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._authorized(scope):
            from starlette.responses import JSONResponse

            response = JSONResponse(
                {"error": "unauthorized", "message": "send Authorization: Bearer <token>"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="resync-mcp"'},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        for key, value in scope.get("headers", ()):
            if key.lower() == b"authorization":
                scheme, _, given = bytes(value).partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(
                    given.strip(), self._token
                )
        return False


async def serve(
    args: argparse.Namespace, settings: mcp_settings.Settings, token: str | None
) -> None:
    """Serve until the client goes away (stdio) or the process is interrupted (HTTP)."""
    tools = StandaloneTools(settings)
    functions = mcp_functions(tools.resolve)
    server = build_server(functions)
    try:
        if token is None:
            await server.run_stdio_async()
            return
        import uvicorn

        app = BearerAuth(
            server.streamable_http_app(streamable_http_path=MCP_PATH, host=args.host), token
        )
        config = uvicorn.Config(
            app, host=args.host, port=args.port, log_level="warning", lifespan="on"
        )
        log.warning(
            "resync-mcp: %d read-only tools at http://%s:%d%s (bearer token required); HWA at %s",
            len(functions),
            args.host,
            args.port,
            MCP_PATH,
            settings.tws.url,
        )
        await uvicorn.Server(config).serve()
    finally:
        await tools.aclose()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse ``resync-mcp``'s command line."""
    parser = argparse.ArgumentParser(
        prog="resync-mcp",
        description="Serve Resync's read-only HWA tools over MCP (stdio by default). The engine "
        "and the memory store are configured with the extension's RESYNC_* variables.",
    )
    parser.add_argument(
        "--http", action="store_true", help="serve streamable HTTP at /mcp instead of stdio"
    )
    parser.add_argument(
        "--host",
        default=mcp_settings.DEFAULT_HOST,
        help=f"address to bind with --http (default {mcp_settings.DEFAULT_HOST}: loopback only)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=mcp_settings.DEFAULT_PORT,
        help=f"port to bind with --http (default {mcp_settings.DEFAULT_PORT})",
    )
    parser.add_argument(
        "--token",
        default=None,
        help=f"bearer token clients must send with --http (default ${mcp_settings.TOKEN_ENV}); "
        "prefer the variable: a flag shows in the process list",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``resync-mcp``; return the exit status (2 for a setting it cannot start with)."""
    args = parse_args(argv)
    # stdout belongs to the MCP protocol over stdio: every log line goes to stderr.
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(message)s")
    try:
        settings = mcp_settings.load()
        token = mcp_settings.http_token(args.token) if args.http else None
    except McpSettingError as e:
        print(f"resync-mcp: {e.message}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: uvicorn has already shut down
        asyncio.run(serve(args, settings, token))
    return 0

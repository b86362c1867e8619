"""Errors of the MCP server.

Hierarchy::

    ResyncError (resync_ext.errors)
    └── McpSettingError      a setting resync-mcp cannot start with: one line, exit status 2

Tools never raise to the MCP client: a failure is a tool result with ``isError`` set (catalog.py).
"""

from __future__ import annotations

from resync_ext.errors import ResyncError


class McpSettingError(ResyncError):
    """A setting (flag or environment variable) ``resync-mcp`` cannot start with."""

"""Resync's read-only tools over MCP, for agents users already run (Jupyter AI 3, Claude, Codex).

The tools are the agents' own functions (``resync_ext.tws.tools``) plus a search of reviewed
answers, each described once from its signature and docstring (``catalog.py``) and served two ways:

- ``resync-mcp`` (``server.py``): a standalone MCP server on the official SDK, stdio by default or
  streamable HTTP behind a bearer token, configured like the extension (``settings.py``);
- inside Jupyter (``jupyter.py``): registered with ``jupyter-server-mcp``'s endpoint through its
  ``jupyter_server_mcp.tools`` entry point, answering from the running extension's services.

Nothing on this surface writes to HWA: the TWS client is the read-only one, and no tool calls an
action endpoint. Importing this package is cheap; the SDK loads with ``server.py``.
"""

from __future__ import annotations

"""``python -m resync_ext.mcp``: the same as ``resync-mcp``."""

from __future__ import annotations

import sys

from resync_ext.mcp.server import main

sys.exit(main())

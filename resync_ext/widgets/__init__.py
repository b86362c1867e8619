"""ipywidgets panels over the Resync API (chat, review) and the small client they use.

Imported lazily, so ``import resync_ext.widgets`` costs nothing until a panel is built::

    from resync_ext.widgets import ChatPanel
    ChatPanel()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from resync_ext.widgets.chat_panel import ChatPanel
    from resync_ext.widgets.client import ResyncClient
    from resync_ext.widgets.errors import ResyncClientError
    from resync_ext.widgets.review_panel import ReviewPanel

__all__ = ["ChatPanel", "ResyncClient", "ResyncClientError", "ReviewPanel"]

_WHERE = {
    "ChatPanel": "resync_ext.widgets.chat_panel",
    "ReviewPanel": "resync_ext.widgets.review_panel",
    "ResyncClient": "resync_ext.widgets.client",
    "ResyncClientError": "resync_ext.widgets.errors",
}


def __getattr__(name: str) -> Any:
    """Import a panel or the client on first use."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

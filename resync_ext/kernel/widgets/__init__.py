"""ipywidgets panels over the Resync API: chat and review.

Imported lazily, so ``import resync_ext.kernel.widgets`` costs nothing until a panel is built::

    from resync_ext.kernel.widgets import ChatPanel
    ChatPanel()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from resync_ext.kernel.widgets.chat_panel import ChatPanel
    from resync_ext.kernel.widgets.review_panel import ReviewPanel

__all__ = ["ChatPanel", "ReviewPanel"]

_WHERE = {
    "ChatPanel": "resync_ext.kernel.widgets.chat_panel",
    "ReviewPanel": "resync_ext.kernel.widgets.review_panel",
}


def __getattr__(name: str) -> Any:
    """Import a panel on first use."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

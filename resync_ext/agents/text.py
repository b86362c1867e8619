"""One line of engine or rule text, bounded and masked: how every sentence quotes what it read."""

from __future__ import annotations

from typing import Any

from resync_ext.redact import mask_secrets


def clip(text: Any, limit: int = 160, *, mask: bool = True) -> str:
    """Return ``text`` on one line, masked (unless static text), at most ``limit`` characters."""
    flat = " ".join(str(text).split())
    flat = mask_secrets(flat) if mask else flat
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"

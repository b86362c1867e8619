"""Watching a chat turn's agent: is it still making progress, and what did the LM's failure mean.

A streaming answer is never cut: the limit is on silence (no tool event, no token), not on the
whole turn. An exception from the LM layer (LiteLLM, llama.cpp, DSPy raise many types) becomes
the turn's ``lm_timeout`` or ``lm_error``, its message masked and kept to one line.
"""

from __future__ import annotations

import asyncio
import time
from typing import TypeVar

from resync_ext.chat.errors import TurnFailed
from resync_ext.redact import mask_secrets

T = TypeVar("T")


class Activity:
    """When the turn last showed progress (a tool event or a token)."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def touch(self) -> None:
        """Note progress now."""
        self.last = time.monotonic()

    async def wait_while_busy(self, task: asyncio.Future[T], idle_limit: float) -> bool:
        """Wait for ``task``; False when it stayed silent for ``idle_limit`` seconds first."""
        while not task.done():
            remaining = idle_limit - (time.monotonic() - self.last)
            if remaining <= 0:
                return False
            await asyncio.wait({task}, timeout=remaining)
        return True


def lm_failure(e: Exception) -> TurnFailed:
    """The turn's error for an exception the LM layer raised (timeout or other failure)."""
    name = type(e).__name__
    text = mask_secrets(str(e)).splitlines()[0][:300] if str(e) else ""
    if "timeout" in name.lower() or "timed out" in text.lower():
        return TurnFailed("lm_timeout", f"the language model timed out ({name})")
    return TurnFailed("lm_error", f"the language model failed: {name}: {text}")

"""Small helpers shared by tests that drive an in-process server's services."""

from __future__ import annotations

import asyncio
from typing import Any


async def wait_memory(services: Any, timeout: float = 90.0) -> Any:
    """The in-process server's memory store, once open (it opens in the background)."""
    async with asyncio.timeout(timeout):
        while services.memory is None:
            assert services.memory_error is None, services.memory_error
            await asyncio.sleep(0.1)
    return services.memory

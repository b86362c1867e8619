"""Memory: every chat turn remembered in Mem0 over an embedded Qdrant engine, with a review state.

Importing this package is cheap; Mem0, torch and the engine load in ``MemoryStore.open()``.
"""

from __future__ import annotations

from resync_ext.memory.errors import (
    InvalidState,
    MemoryNotFound,
    MemoryStoreError,
    StateConflict,
    StoreLocked,
    StoreUnavailable,
)
from resync_ext.memory.factory import create_memory_store
from resync_ext.memory.models import STATES, Memory
from resync_ext.memory.store import MemoryStore

__all__ = [
    "STATES",
    "InvalidState",
    "Memory",
    "MemoryNotFound",
    "MemoryStore",
    "MemoryStoreError",
    "StateConflict",
    "StoreLocked",
    "StoreUnavailable",
    "create_memory_store",
]

"""Memory: every chat turn remembered in Mem0 over an embedded Qdrant engine, with a review state.

Importing this package is cheap; Mem0, torch and the engine load in ``MemoryStore.open()``.
Mem0 reads its environment once, when first imported (and then writes ``$MEM0_DIR/config.json``):
so that an early import of an adapter module cannot phone home or write into ``~/.mem0``,
telemetry is switched off and ``MEM0_DIR`` defaulted under the data directory right here; the
store points ``MEM0_DIR`` at its own data directory before it imports Mem0 itself.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ["MEM0_TELEMETRY"] = "False"
os.environ.setdefault(
    "MEM0_DIR",
    str(
        Path(os.environ.get("RESYNC_DATA_DIR") or Path.home() / ".local" / "share" / "resync")
        / "memory"
        / "mem0"
    ),
)

# The environment above must be set before anything below can import Mem0.
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

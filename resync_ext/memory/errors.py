"""Errors of the memory store, each carrying the HTTP status the handler base renders it with.

Hierarchy::

    MemoryStoreError                 base of every error the memory store raises on purpose
    ├── InvalidState          400    a state name outside SPEC.md section 6, or a bad id
    ├── MemoryNotFound        404    no memory with that id
    ├── StateConflict         409    compare-and-set lost: the memory left the expected states
    ├── StoreUnavailable      503    the store is not open, closed, or its engine failed
    │   └── StoreLocked       503    another process holds the embedded store's directory
"""

from __future__ import annotations

from collections.abc import Collection
from typing import ClassVar


class MemoryStoreError(Exception):
    """Base of the errors the memory store raises on purpose."""

    http_status: ClassVar[int] = 500
    reason: ClassVar[str] = "memory_error"


class InvalidState(MemoryStoreError):
    """A state (or id) the store does not accept."""

    http_status = 400
    reason = "invalid_input"


class MemoryNotFound(MemoryStoreError):
    """No memory with that id."""

    http_status = 404
    reason = "not_found"

    def __init__(self, memory_id: str) -> None:
        super().__init__(f"no memory with id {memory_id}")
        self.memory_id = memory_id


class StateConflict(MemoryStoreError):
    """The memory is not in a state the caller expected (someone else changed it first)."""

    http_status = 409
    reason = "conflict"

    def __init__(self, memory_id: str, current: str, expected: Collection[str]) -> None:
        wanted = ", ".join(sorted(expected))
        super().__init__(f"memory {memory_id} is {current!r}, expected one of: {wanted}")
        self.memory_id = memory_id
        self.current = current
        self.expected = tuple(sorted(expected))


class StoreUnavailable(MemoryStoreError):
    """The store is not open or its engine failed."""

    http_status = 503
    reason = "unavailable"


class StoreLocked(StoreUnavailable):
    """Another process already opened the embedded store in that directory."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"the embedded memory store at {path} is already open in another process; only one "
            "process may own it (stop the other Jupyter server, or point ResyncApp.data_dir "
            "elsewhere, or use a Qdrant server with ResyncApp.qdrant_url)"
        )
        self.path = path

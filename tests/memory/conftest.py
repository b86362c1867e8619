"""One opened memory store per test module: loading torch and the embedder takes seconds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from resync_ext.memory import create_memory_store
from resync_ext.memory.mem0_store import Mem0MemoryStore


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def store(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Mem0MemoryStore]:
    """A Mem0 store over Qdrant Edge in a temporary data directory, shared by a module."""
    data_dir: Path = tmp_path_factory.mktemp("resync-data")
    opened = create_memory_store(data_dir=data_dir, qdrant_url=None, qdrant_api_key=None)
    assert isinstance(opened, Mem0MemoryStore)
    await opened.open()
    yield opened
    await opened.close()

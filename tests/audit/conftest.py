"""A real embedded memory store shared by the audit tests of one module (opening it loads torch)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from resync_ext.memory.factory import create_memory_store


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def store(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    data_dir: Path = tmp_path_factory.mktemp("memstore")
    s = create_memory_store(data_dir=data_dir, qdrant_url=None, qdrant_api_key=None)
    await s.open()
    yield s
    await s.close()


@pytest_asyncio.fixture(loop_scope="module")
async def empty_store(store: Any) -> Any:
    """The shared store with every memory deleted first."""
    while page := await store.list(limit=200):
        for m in page:
            await store.delete(m.id)
    return store

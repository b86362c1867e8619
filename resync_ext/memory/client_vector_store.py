"""Mem0's own Qdrant adapter (qdrant-client), extended with what the memory store needs.

Used for a Qdrant server or cluster (``qdrant_url``) and for qdrant-client's pure-Python local mode
(``vector_engine = "local"``, kept selectable for comparison; it is slow past ~20 000 points).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from mem0.vector_stores.qdrant import Qdrant
from qdrant_client import models

log = logging.getLogger(__name__)


class ClientVectorStore(Qdrant):
    """Mem0's Qdrant adapter plus ordered paging, counting and the state/created_at indexes."""

    def _create_filter_indexes(self) -> None:
        super()._create_filter_indexes()
        if self.is_local:  # local mode has no payload indexes
            return
        for name, schema in (("state", "keyword"), ("kind", "keyword"), ("created_at", "datetime")):
            try:
                self.client.create_payload_index(self.collection_name, name, field_schema=schema)
            except Exception as e:
                log.debug("index %s on %s: %s", name, self.collection_name, e)

    def page(self, filters: Any, limit: int, offset: int) -> list[Any]:
        """Return points newest first (by ``created_at``), skipping ``offset``."""
        records, _ = self.client.scroll(
            collection_name=self.collection_name,
            scroll_filter=self._create_filter(filters) if filters else None,
            limit=offset + limit,
            with_payload=True,
            with_vectors=False,
            order_by=models.OrderBy(key="created_at", direction=models.Direction.DESC),
        )
        return list(records[offset:])

    def count(self, filters: Any = None) -> int:
        """Count points passing ``filters`` exactly."""
        result = self.client.count(
            collection_name=self.collection_name,
            count_filter=self._create_filter(filters) if filters else None,
            exact=True,
        )
        return int(result.count)

    def flush(self) -> None:
        """Nothing to do: the server and local mode persist every write themselves."""

    def close(self) -> None:
        """Close the client (local mode releases its directory lock)."""
        with contextlib.suppress(Exception):
            self.client.close()

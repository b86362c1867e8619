"""The Qdrant Edge adapter behind Mem0, against the real engine in a temporary directory."""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from resync_ext.memory.edge_vector_store import EdgeVectorStore

DIMS = 8


def _vec(rng: random.Random) -> list[float]:
    return [rng.uniform(-1, 1) for _ in range(DIMS)]


@pytest.fixture
def edge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The adapter module, imported with Mem0's directory in the test's temporary directory."""
    monkeypatch.setenv("MEM0_DIR", str(tmp_path / "mem0"))
    from resync_ext.memory import edge_vector_store

    return edge_vector_store


@pytest.fixture
def store(tmp_path: Path, edge: Any) -> Any:
    vs = edge.EdgeVectorStore("mem", str(tmp_path), embedding_model_dims=DIMS)
    yield vs
    vs.close()


def _fill(vs: EdgeVectorStore) -> list[str]:
    rng = random.Random(7)
    ids = [str(uuid.uuid4()) for _ in range(12)]
    payloads = [
        {
            "data": f"turn {i}",
            "user_id": "resync",
            "agent_id": "a1" if i % 2 else "a2",
            "state": ["new", "approved", "rejected"][i % 3],
            "created_at": f"2026-01-{i + 1:02d}T10:00:00+00:00",
        }
        for i in range(12)
    ]
    vs.insert([_vec(rng) for _ in ids], payloads, ids)
    return ids


def test_search_returns_str_ids_and_cosine_scores_best_first(store: EdgeVectorStore) -> None:
    ids = _fill(store)
    target = store.get(ids[4])
    assert target is not None
    rng = random.Random(7)
    vectors = [_vec(rng) for _ in ids]
    hits = store.search("q", vectors[4], top_k=3)
    assert hits[0].id == ids[4] and isinstance(hits[0].id, str)
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"agent_id": "a1"}, {1, 3, 5, 7, 9, 11}),
        ({"state": {"nin": ["rejected"]}}, {0, 1, 3, 4, 6, 7, 9, 10}),
        ({"state": {"in": ["approved"]}, "agent_id": "a1"}, {1, 7}),
        ({"state": ["approved", "rejected"], "agent_id": {"ne": "a1"}}, {2, 4, 8, 10}),
        ({"created_at": {"gte": "2026-01-10T00:00:00+00:00"}}, {9, 10, 11}),
        ({"OR": [{"state": "approved"}, {"agent_id": "a2"}]}, {0, 1, 2, 4, 6, 7, 8, 10}),
        ({"NOT": [{"state": "new"}]}, {1, 2, 4, 5, 7, 8, 10, 11}),
        ({"user_id": "resync", "agent_id": "*"}, set(range(12))),
    ],
)
def test_filters_select_the_same_points_in_search_list_and_count(
    store: EdgeVectorStore, filters: dict[str, Any], expected: set[int]
) -> None:
    ids = _fill(store)
    want = {ids[i] for i in expected}
    hits = store.search("q", [0.1] * DIMS, top_k=50, filters=filters)
    assert {h.id for h in hits} == want
    listed, _ = store.list(filters=filters, top_k=50)
    assert {h.id for h in listed} == want
    assert store.count(filters) == len(want)


def test_page_is_newest_first_with_offset(store: EdgeVectorStore) -> None:
    ids = _fill(store)
    page = store.page({"agent_id": "a1"}, limit=2, offset=1)
    assert [h.id for h in page] == [ids[9], ids[7]]


def test_update_merges_payload_delete_removes(store: EdgeVectorStore) -> None:
    ids = _fill(store)
    store.update(ids[0], payload={"state": "approved", "review": {"by": "ann"}})
    hit = store.get(ids[0])
    assert hit is not None
    assert hit.payload["state"] == "approved" and hit.payload["data"] == "turn 0"
    store.delete(ids[0])
    assert store.get(ids[0]) is None
    assert store.count() == 11


def test_adapters_on_one_directory_share_the_shard(tmp_path: Path, edge: Any) -> None:
    first = edge.EdgeVectorStore("mem", str(tmp_path), embedding_model_dims=DIMS)
    second = edge.EdgeVectorStore("mem", str(tmp_path), embedding_model_dims=DIMS)
    pid = str(uuid.uuid4())
    first.insert([[0.5] * DIMS], [{"data": "x"}], [pid])
    first.close()
    assert edge.is_open(tmp_path / "mem")
    assert second.get(pid) is not None
    second.close()
    assert not edge.is_open(tmp_path / "mem")
    reopened = edge.EdgeVectorStore("mem", str(tmp_path), embedding_model_dims=DIMS)
    assert reopened.get(pid) is not None
    assert reopened.list_cols() == ["mem"]
    reopened.close()

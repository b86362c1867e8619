"""The memory store over Mem0 and Qdrant Edge: turns in, similar turns out, states changed once."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import datetime
from pathlib import Path

import pytest

from resync_ext.memory import InvalidState, MemoryNotFound, StateConflict
from resync_ext.memory.mem0_store import APPROVED_BOOST, Mem0MemoryStore

pytestmark = pytest.mark.asyncio(loop_scope="module")

PAYROLL = (
    "Why did PAYROLL_EXTRACT abend last night?",
    "It ended ABEND with RC 12: ORA-01017 invalid username/password, the DB credential expired.",
)
LINK = (
    "Which workstations are unlinked right now?",
    "AGT_WIN02 is unlinked since 02:10; the agent service stopped on the host.",
)


async def _add(store: Mem0MemoryStore, qa: tuple[str, str], agent: str = "tws-troubleshooter"):
    return await store.add_turn(agent_id=agent, question=qa[0], answer=qa[1], evidence=[])


async def test_a_turn_becomes_the_spec_record(store: Mem0MemoryStore) -> None:
    evidence = [{"tool": "get_job", "args": {"name": "PAYROLL_EXTRACT"}, "summary": "ABEND rc=12"}]
    memory = await store.add_turn(
        agent_id="tws-troubleshooter",
        question=PAYROLL[0],
        answer=PAYROLL[1],
        evidence=evidence,
        session="s-1",
    )
    record = json.loads(memory.model_dump_json())
    assert set(record) == {"id", "text", "created_at", "metadata"}
    assert set(record["metadata"]) == {
        "kind",
        "agent_id",
        "question",
        "answer",
        "evidence",
        "session",
        "conversation",
        "previous",
        "state",
        "audit",
        "review",
    }
    meta = record["metadata"]
    assert meta["kind"] == "conversation" and meta["state"] == "new"
    assert (meta["agent_id"], meta["question"], meta["answer"]) == (
        "tws-troubleshooter",
        PAYROLL[0],
        PAYROLL[1],
    )
    assert meta["evidence"] == evidence and meta["session"] == "s-1"
    # A turn asked outside a conversation links to none (SPEC's record, plus the two links).
    assert meta["conversation"] is None and meta["previous"] is None
    assert PAYROLL[0] in record["text"] and PAYROLL[1] in record["text"]
    assert datetime.fromisoformat(record["created_at"]).tzinfo is not None
    assert (await store.get(memory.id)) == memory


async def test_search_ranks_the_similar_turn_first_with_scores(store: Mem0MemoryStore) -> None:
    payroll = await _add(store, PAYROLL)
    link = await _add(store, LINK)
    found = await store.search("payroll job failed with an Oracle login error", limit=10)
    ids = [m.id for m in found]
    assert payroll.id in ids
    assert link.id not in ids[: ids.index(payroll.id)]
    assert all(m.score is not None for m in found)
    assert [m.score for m in found] == sorted((m.score or 0 for m in found), reverse=True)
    assert "score" in found[0].model_dump()
    by_link = await store.search("agent workstation not linked", limit=1)
    assert by_link[0].id == link.id


async def test_search_excludes_rejected_and_filters_by_agent(store: Mem0MemoryStore) -> None:
    question = ("Is the BACKUP_NIGHTLY stream late?", "BACKUP_NIGHTLY is 40 minutes late.")
    kept = await _add(store, question, agent="sla-watch")
    dropped = await _add(store, question, agent="sla-watch")
    other = await _add(store, question, agent="tws-troubleshooter")
    await store.set_state(dropped.id, "rejected_by_auditor", audit={"verdict": "incorrect"})
    ids = {m.id for m in await store.search(question[0], agent_id="sla-watch", limit=10)}
    assert kept.id in ids and dropped.id not in ids and other.id not in ids
    everything = await store.search(
        question[0], agent_id="sla-watch", limit=10, include_rejected=True
    )
    assert dropped.id in {m.id for m in everything}


async def test_approved_memory_is_preferred_at_equal_similarity(store: Mem0MemoryStore) -> None:
    qa = ("Why is FINANCE_CLOSE held?", "FINANCE_CLOSE waits on resource GL_LOCK held by GL_POST.")
    plain = await _add(store, qa, agent="approval-test")
    approved = await _add(store, qa, agent="approval-test")
    await store.set_state(approved.id, "approved", review={"by": "ann"})
    found = await store.search(qa[0], agent_id="approval-test", limit=2)
    assert [m.id for m in found] == [approved.id, plain.id]
    assert found[0].score == pytest.approx((found[1].score or 0) + APPROVED_BOOST, abs=1e-4)


async def test_set_state_is_a_compare_and_set(store: Mem0MemoryStore) -> None:
    memory = await _add(store, LINK, agent="cas-test")
    outcomes = await asyncio.gather(
        *(
            store.set_state(
                memory.id,
                "flagged",
                expect={"new"},
                audit={"verdict": "suspicious", "confidence": 0.6, "reason": f"judge {i}"},
            )
            for i in range(5)
        ),
        return_exceptions=True,
    )
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(o, StateConflict) for o in outcomes if o not in winners)
    current = await store.get(memory.id)
    assert current.state == "flagged" and current.metadata.audit is not None
    assert current.metadata.audit.confidence == 0.6
    with pytest.raises(StateConflict, match="flagged"):
        await store.set_state(memory.id, "audited_ok", expect={"new"})
    decided = await store.set_state(
        memory.id, "approved", expect={"flagged"}, review={"by": "ann", "comment": "right"}
    )
    assert decided.metadata.review is not None and decided.metadata.review.by == "ann"
    events = await store.history(memory.id)
    assert [e["event"] for e in events] == ["add", "state", "state"]
    assert [(e["from"], e["to"], e["by"]) for e in events[1:]] == [
        ("new", "flagged", "auditor"),
        ("flagged", "approved", "ann"),
    ]


async def test_list_filters_pages_newest_first_and_counts(store: Mem0MemoryStore) -> None:
    made = [
        await _add(store, (f"list question {i}", f"answer {i}"), agent="list-test")
        for i in range(5)
    ]
    await store.set_state(made[1].id, "audited_ok")
    page = await store.list(agent_id="list-test", limit=2, offset=1)
    assert [m.id for m in page] == [made[3].id, made[2].id]
    assert [m.id for m in await store.list(agent_id="list-test", state="audited_ok")] == [
        made[1].id
    ]
    counts = await store.counts()
    assert set(counts) == {
        "new",
        "audited_ok",
        "flagged",
        "approved",
        "rejected",
        "rejected_by_auditor",
    }
    total = len(await store.list(limit=1000))
    assert sum(counts.values()) == total and counts["audited_ok"] >= 1


async def test_delete_forgets_but_keeps_history(store: Mem0MemoryStore) -> None:
    memory = await _add(store, LINK, agent="delete-test")
    await store.delete(memory.id)
    with pytest.raises(MemoryNotFound):
        await store.get(memory.id)
    with pytest.raises(MemoryNotFound):
        await store.delete(memory.id)
    assert [e["event"] for e in await store.history(memory.id)] == ["add", "delete"]


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.get("not-a-uuid"),
        lambda s: s.set_state("00000000-0000-4000-8000-000000000000", "done"),
        lambda s: s.list(state="pending"),
        lambda s: s.add_turn(agent_id="a", question="q", answer="a", evidence=[], state="x"),
    ],
)
async def test_bad_ids_and_states_are_invalid(store: Mem0MemoryStore, call) -> None:
    with pytest.raises(InvalidState):
        await call(store)


async def test_unknown_id_is_not_found(store: Mem0MemoryStore) -> None:
    with pytest.raises(MemoryNotFound):
        await store.get("00000000-0000-4000-8000-000000000000")
    with pytest.raises(MemoryNotFound):
        await store.history("00000000-0000-4000-8000-000000000000")


async def test_concurrent_turns_are_all_kept(store: Mem0MemoryStore) -> None:
    before = await store.counts()
    made = await asyncio.gather(
        *(
            _add(store, (f"concurrent question {i}", f"answer {i}"), agent="burst")
            for i in range(16)
        )
    )
    assert len({m.id for m in made}) == 16
    after = await store.counts()
    assert after["new"] == before["new"] + 16
    listed = await store.list(agent_id="burst", limit=100)
    assert {m.id for m in listed} == {m.id for m in made}


async def test_counts_taken_while_states_change_add_up_to_the_total(
    store: Mem0MemoryStore,
) -> None:
    """A memory moving from one state to another while the states are counted is counted once."""
    made = [
        await _add(store, (f"moving question {i}", f"answer {i}"), agent="moving") for i in range(8)
    ]
    total = sum((await store.counts()).values())

    async def move() -> None:
        for state in ("audited_ok", "flagged", "approved", "rejected"):
            await asyncio.gather(*(store.set_state(m.id, state) for m in made))

    async def count() -> list[int]:
        seen = []
        for _ in range(12):
            seen.append(sum((await store.counts()).values()))
        return seen

    _, seen = await asyncio.gather(move(), count())
    assert seen == [total] * len(seen)


async def test_ping_counts_the_memories_on_the_engine(store: Mem0MemoryStore) -> None:
    await _add(store, ("is CPU_LNX7 linked?", "yes, since 02:10"), agent="ping")
    total = sum((await store.counts()).values())
    result = await store.ping()
    assert result["ok"] is True
    # What /health shows: how many memories, on which engine, where.
    assert result["detail"] == f"{total} memories (edge: {store.location})"
    assert total >= 1 and store.location.endswith("edge/memories")
    assert 0 < result["latency_ms"] < 5_000


async def test_ping_of_a_store_not_open_says_it_is_not_open(tmp_path: Path) -> None:
    closed = Mem0MemoryStore(data_dir=tmp_path)
    result = await closed.ping()
    assert result["ok"] is False
    assert result["detail"] == (
        f"StoreUnavailable: the memory store at {tmp_path / 'memory' / 'edge' / 'memories'} "
        "is not open"
    )


async def test_a_chat_turn_is_stored_at_once_and_embedded_whole_in_the_background(
    store: Mem0MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = store._mem.embedding_model
    question = "Why is the INVOICE_PRINT job stuck in READY on CPU_LNX7?"
    answer = "INVOICE_PRINT waits for the PRINT_SLOTS resource: the printer queue is full."
    text = f"Q: {question}\nA: {answer}"
    await store.search(question, limit=1)  # what a chat turn does first: embeds the question
    misses = embedder.misses
    # Hold the whole turn's embedding until the test lets it go: add_turn must not wait on it.
    gate = threading.Event()
    inner_embed = embedder.inner.embed

    def held(value: str, action: str | None = None) -> list[float]:
        if value == text:
            assert gate.wait(30)
        return inner_embed(value, action)

    monkeypatch.setattr(embedder.inner, "embed", held)
    memory = await asyncio.wait_for(_add(store, (question, answer)), 10)
    assert memory.text == text
    found = await store.search(question, limit=1)  # findable at once, by its question
    assert found[0].id == memory.id and found[0].score == pytest.approx(1.0, abs=1e-3)
    gate.set()
    await store.settle()
    # One new embedding in all: the whole turn's; the question's vector came from the search.
    assert embedder.misses == misses + 1
    # Its vector is now the whole turn's: the answer's words find it, and the question alone
    # is no longer an exact match.
    by_answer = await store.search("printer queue full, no print slots left", limit=1)
    assert by_answer[0].id == memory.id
    by_question = await store.search(question, limit=1)
    assert by_question[0].id == memory.id and (by_question[0].score or 0) < 0.99


async def test_a_turn_deleted_before_its_full_embedding_is_not_revived(
    store: Mem0MemoryStore,
) -> None:
    question = "Is the CLOSE_BOOKS stream late tonight?"
    await store.search(question, limit=1)
    memory = await _add(store, (question, "CLOSE_BOOKS is 20 minutes late."))
    await store.delete(memory.id)
    await store.settle()
    with pytest.raises(MemoryNotFound):
        await store.get(memory.id)
    # not even a bare point (a vector with no payload) in the engine
    assert await store._run(store._mem.vector_store.get, memory.id) is None


async def test_a_question_asked_elsewhere_is_embedded_for_its_own_text() -> None:
    from resync_ext.memory.embedder import RecentEmbeddings

    class Counting:
        calls: list[str] = []

        def embed(self, text: str, memory_action: str | None = None) -> list[float]:
            self.calls.append(text)
            return [float(len(text)), 1.0]

    inner = Counting()
    cache = RecentEmbeddings(inner, size=2)
    assert not cache.has("a")
    assert cache.embed("a") == [1.0, 1.0]
    assert cache.has("a")
    with cache.embedding_as("a long turn", "a"):
        assert cache.embed("a long turn") == [1.0, 1.0]  # the alias, from the cache
        # another thread does not see this thread's alias
        other = await asyncio.to_thread(cache.embed, "a long turn")
        assert other == [11.0, 1.0]
    assert cache.embed("a long turn") == [11.0, 1.0]  # the alias ended with the block
    cache.embed("b")
    cache.embed("c")  # size 2: "a" is evicted, "b" and "c" kept
    cache.embed("a")
    assert inner.calls == ["a", "a long turn", "b", "c", "a"]
    returned = cache.embed("c")
    returned.append(9.0)  # a caller changing its list does not change the cache
    assert cache.embed("c") == [1.0, 1.0]

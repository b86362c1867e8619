"""The reviewed-answer search over MCP: approved turns only, screened, honest about the store."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from resync_ext.mcp.catalog import MEMORY_TOOL, mcp_functions
from resync_ext.mcp.reviewed import ReviewedAnswers, StandaloneMemory
from resync_ext.mcp.server import build_server
from resync_ext.memory import StoreLocked, create_memory_store
from resync_ext.memory.edge_maintenance import point_counts
from resync_ext.tws.simulator.testing import ThreadedSimulator
from tests.mcp.conftest import mcp_env
from tests.security.conftest import INJECTION, SECRETS


def shard_dir(data_dir: Path) -> Path:
    return data_dir / "memory" / "edge" / "memories"


@pytest.fixture
def held_store(tmp_path: Path) -> Iterator[Path]:
    """A data directory whose embedded store another owner holds open (as a Jupyter server)."""
    import qdrant_edge as qe

    data_dir = tmp_path / "data"
    path = shard_dir(data_dir)
    path.mkdir(parents=True)
    config = qe.EdgeConfig(vectors=qe.EdgeVectorParams(size=384, distance=qe.Distance.Cosine))
    shard = qe.EdgeShard.create(str(path), config)
    try:
        yield data_dir
    finally:
        shard.close()


async def search(lease: Any, query: str, limit: int = 5) -> Any:
    """Call the search tool through an in-process MCP server reading the store via ``lease``."""
    reviewed = ReviewedAnswers(lease)

    async def resolve(name: str) -> Any:
        assert name == MEMORY_TOOL
        return reviewed.search_reviewed_answers

    server = build_server({MEMORY_TOOL: mcp_functions(resolve)[MEMORY_TOOL]})
    async with Client(server) as client:
        return await client.call_tool(MEMORY_TOOL, {"query": query, "limit": limit})


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.asyncio
async def test_a_store_held_by_a_server_is_a_tool_error_and_the_rest_still_serves(
    script: Path, twsim: ThreadedSimulator, held_store: Path
) -> None:
    params = StdioServerParameters(command=str(script), env=mcp_env(twsim, held_store))
    async with Client(params, read_timeout_seconds=60) as client:
        locked = await client.call_tool(MEMORY_TOOL, {"query": "why did payroll fail"})
        assert locked.is_error
        error = json.loads(locked.content[0].text)["error"]
        assert error["kind"] == "unavailable"
        assert "already open in another process" in error["message"]
        summary = await client.call_tool("plan_summary", {})
        assert not summary.is_error and summary.structured_content["total_jobs"] > 200


@pytest.mark.timeout(30)
@pytest.mark.asyncio
async def test_no_store_says_where_it_looked_and_creates_nothing(tmp_path: Path) -> None:
    memory = StandaloneMemory(data_dir=tmp_path)
    result = await search(memory.lease, "why did payroll fail")
    assert result.is_error
    message = json.loads(result.content[0].text)["error"]["message"]
    assert f"no memory store at {tmp_path / 'memory'}" in message and "RESYNC_DATA_DIR" in message
    assert not (tmp_path / "memory").exists()
    await memory.aclose()


@pytest.mark.timeout(30)
@pytest.mark.asyncio
async def test_an_empty_query_is_a_tool_error(tmp_path: Path) -> None:
    result = await search(StandaloneMemory(data_dir=tmp_path).lease, "   ")
    assert result.is_error and "query is empty" in result.content[0].text


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.asyncio
async def test_only_approved_turns_come_back_masked_and_screened(tmp_path: Path) -> None:
    store = create_memory_store(data_dir=tmp_path, qdrant_url=None, qdrant_api_key=None)
    await store.open()
    try:
        question = "Why did PAYROLL_EXTRACT abend last night?"
        answer = (
            "PAYROLL_EXTRACT abended with ORA-01017: the database refused the job's "
            f"credentials (DB_PASSWORD={SECRETS['db_password']}). Fix the connection settings."
        )
        approved = await store.add_turn(
            agent_id="tws-troubleshooter", question=question, answer=answer, evidence=[]
        )
        await store.set_state(approved.id, "approved", review={"by": "ana", "comment": "right"})
        unreviewed = await store.add_turn(
            agent_id="tws-troubleshooter", question=question, answer="It was the network.",
            evidence=[],
        )  # fmt: skip
        injected = await store.add_turn(
            agent_id="tws-troubleshooter",
            question=f"Why did PAYROLL_EXTRACT abend? {INJECTION}",
            answer="PAYROLL_EXTRACT abended with ORA-01017.",
            evidence=[],
        )
        await store.set_state(injected.id, "approved", review={"by": "bo"})
        await store.settle()
    finally:
        await store.close()

    # standalone: opened on the first search, released once idle (the server can take it back)
    memory = StandaloneMemory(data_dir=tmp_path, idle_s=0.2)
    try:
        result = await search(memory.lease, "payroll extract abend ORA-01017")
        assert not result.is_error, result.content[0].text
        data = result.structured_content
        ids = [m["id"] for m in data["matches"]]
        assert ids == [approved.id] and unreviewed.id not in ids
        match = data["matches"][0]
        assert match["reviewed_by"] == "ana" and match["review_comment"] == "right"
        assert "ORA-01017" in match["answer"]
        assert SECRETS["db_password"] not in result.content[0].text
        assert data["withheld"] == 1 and INJECTION not in result.content[0].text
        assert "not the current plan" in data["note"]
        for _ in range(50):
            await asyncio.sleep(0.1)
            try:
                point_counts(shard_dir(tmp_path))
                break
            except StoreLocked:
                continue
        else:
            pytest.fail("the standalone server kept the store after it went idle")
    finally:
        await memory.aclose()

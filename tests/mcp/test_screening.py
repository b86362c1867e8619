"""MCP tool results are masked and screened exactly as the agents' are (the security corpora)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from mcp.client import Client

from resync_ext.mcp.catalog import mcp_functions
from resync_ext.mcp.server import StandaloneTools, build_server
from resync_ext.mcp.settings import MemorySettings, Settings, TwsSettings
from resync_ext.redact import mask_obj
from resync_ext.tws.simulator.testing import ThreadedSimulator, start_in_thread
from tests.security.conftest import INJECTION, SECRET_LOG, SECRET_SCENARIO, SECRETS

pytestmark = pytest.mark.timeout(60)

#: What the engine holds: planted in job logs and commands of the scenario.
ENGINE_SECRETS = [
    SECRETS[k]
    for k in (
        "db_password",
        "bearer",
        "openai_key",
        "tns_password",
        "aws_key_id",
        "aws_secret",
        "command_password",
    )
]
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("plan_summary", {}),
    ("list_jobs", {"status": "ABEND"}),
    ("get_job", {"job": "DAILY_PAY.PAYROLL_EXTRACT"}),
    ("get_job_log", {"job": "DAILY_PAY.PAYROLL_EXTRACT", "tail_lines": 100}),
    ("get_job_log", {"job": "ETL_NIGHTLY.SALES_LOAD", "tail_lines": 100}),
    ("get_dependencies", {"job": "DAILY_PAY.PAYROLL_CALC"}),
    ("lookup_known_issue", {"text": SECRET_LOG}),
]


def settings_for(sim: ThreadedSimulator, data_dir: Path) -> Settings:
    tws = TwsSettings(
        url=sim.url,
        user=sim.user,
        password=sim.password,
        api_key=None,
        verify=True,
        ca_bundle=None,
        timeout=10.0,
        breaker_failures=100,
        breaker_reset_s=1.0,
    )
    memory = MemorySettings(
        data_dir=data_dir,
        qdrant_url=None,
        qdrant_api_key=None,
        engine="edge",
        embedder="onnx",
        embedder_cache=None,
    )
    return Settings(tws=tws, memory=memory)


@pytest.fixture(scope="module")
def secret_sim() -> Iterator[ThreadedSimulator]:
    sim = start_in_thread(SECRET_SCENARIO)
    try:
        yield sim
    finally:
        sim.stop()


@pytest_asyncio.fixture
async def tools(secret_sim: ThreadedSimulator, tmp_path: Path) -> AsyncIterator[StandaloneTools]:
    standalone = StandaloneTools(settings_for(secret_sim, tmp_path))
    try:
        yield standalone
    finally:
        await standalone.aclose()


@pytest.mark.asyncio
async def test_engine_secrets_never_leave_through_mcp(tools: StandaloneTools) -> None:
    wires = []
    async with Client(build_server(mcp_functions(tools.resolve))) as client:
        for name, args in CALLS:
            result = await client.call_tool(name, args)
            assert not result.is_error, result.content[0].text
            wire = result.content[0].text + json.dumps(result.structured_content)
            for secret in ENGINE_SECRETS:
                assert secret not in wire, f"{name}{args} leaked {secret}"
            wires.append(wire)
    # masked, not emptied: the log's diagnosis and the masks are there
    assert "ORA-01017" in wires[3] and "***" in wires[3]
    assert "--password=***" in wires[2]


@pytest.mark.asyncio
async def test_an_injected_log_line_is_withheld_and_reported(tools: StandaloneTools) -> None:
    async with Client(build_server(mcp_functions(tools.resolve))) as client:
        result = await client.call_tool("get_job_log", {"job": "ETL_NIGHTLY.SALES_LOAD"})
    assert not result.is_error
    data = result.structured_content
    assert data is not None
    # withheld from the log text; reported apart, labelled as data (as the agents see it)
    assert INJECTION not in data["tail"] and INJECTION not in json.dumps(data["error_lines"])
    # reported by line and reason, never its words (an MCP client is a model too)
    assert INJECTION not in result.content[0].text
    assert "text" not in data["suspicious_content"]["lines"][0]
    line = data["suspicious_content"]["lines"][0]["line"]
    assert f"[SUSPICIOUS CONTENT at log line {line}:" in data["tail"]
    assert data["suspicious_content"]["count"] == 1
    assert "not an instruction" in data["suspicious_content"]["note"]
    assert any("ORA-01653" in line for line in data["error_lines"])


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("name", "args"), CALLS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CALLS)]
)
async def test_mcp_answers_what_the_agents_tool_answers(
    tools: StandaloneTools, name: str, args: dict[str, Any]
) -> None:
    """Same function, same masking: the agents' ReAct wrapper masks the result with mask_obj."""
    async with Client(build_server(mcp_functions(tools.resolve))) as client:
        result = await client.call_tool(name, args)
    agents = mask_obj(await tools.tools[name](**args))
    assert result.structured_content == json.loads(json.dumps(agents, default=str))

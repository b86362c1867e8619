"""``resync-mcp`` through the SDK's own client, over stdio and streamable HTTP, on the demo plan."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from resync_ext.mcp.catalog import MEMORY_TOOL, tool_names
from resync_ext.tws.simulator.testing import ThreadedSimulator
from tests.mcp.conftest import ABENDED, TOKEN, HttpServer, mcp_env, only_gets

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

EVERY_TOOL: dict[str, dict[str, Any]] = {
    "plan_summary": {},
    "list_jobs": {"status": "ERROR"},
    "get_job": {"job": ABENDED},
    "get_job_log": {"job": ABENDED},
    "get_dependencies": {"job": ABENDED, "depth": 2},
    "list_job_streams": {"status": "ABEND"},
    "list_workstations": {"problems_only": True},
    "list_resources": {"exhausted_only": True},
    "lookup_known_issue": {"text": "ORA-01017: invalid username/password"},
    MEMORY_TOOL: {"query": "payroll"},  # no store in this data dir: a tool error
}


def payload(result: Any) -> dict[str, Any]:
    """Return a tool result's data, checking the text content says the same."""
    data = json.loads(result.content[0].text)
    assert result.structured_content == data
    return data  # type: ignore[no-any-return]


async def exercise(client: Client, sim: ThreadedSimulator) -> None:
    """What an agent does first: list the tools, read an abended job and its log, err."""
    listed = (await client.list_tools()).tools
    assert [t.name for t in listed] == tool_names()
    by_name = {t.name: t for t in listed}
    for tool in listed:
        assert tool.annotations is not None and tool.annotations.read_only_hint is True
        assert tool.annotations.destructive_hint is False
        assert tool.input_schema["type"] == "object" and tool.description
    assert by_name["get_job"].input_schema["required"] == ["job"]
    assert by_name["get_job_log"].input_schema["properties"]["tail_lines"]["type"] == "integer"
    assert "secrets are masked" in by_name["get_job_log"].description.lower()

    job = await client.call_tool("get_job", {"job": ABENDED})
    assert not job.is_error
    facts = payload(job)
    assert facts["name"] == "PAYROLL_EXTRACT" and facts["return_code"] == 12
    assert facts["internal_status"] == "ABEND"

    log = await client.call_tool("get_job_log", {"job": ABENDED})
    assert not log.is_error
    lines = payload(log)["error_lines"]
    assert any("ORA-01017" in line for line in lines), lines

    missing = await client.call_tool("get_job", {"job": "NO_SUCH_JOB_ANYWHERE"})
    assert missing.is_error
    assert payload(missing)["error"]["kind"] == "not_found"

    bad = await client.call_tool("get_job_log", {"tail_lines": "many"})
    assert bad.is_error
    text = bad.content[0].text
    assert "get_job_log" in text and "job" in text and "tail_lines" in text

    # every tool, once: the engine sees reads only
    assert sorted(EVERY_TOOL) == sorted(tool_names())
    for name, args in EVERY_TOOL.items():
        result = await client.call_tool(name, args)
        assert not result.is_error or name == MEMORY_TOOL, result.content[0].text
    assert only_gets(sim.calls()) == {"GET"}


@pytest.mark.asyncio
async def test_stdio_client_lists_reads_and_errs_without_writing(
    script: Path, twsim: ThreadedSimulator, tmp_path: Path
) -> None:
    params = StdioServerParameters(command=str(script), env=mcp_env(twsim, tmp_path / "data"))
    async with Client(params, read_timeout_seconds=60) as client:
        await exercise(client, twsim)


@pytest.mark.asyncio
async def test_http_client_with_the_token_lists_reads_and_errs_without_writing(
    http_server: HttpServer, twsim: ThreadedSimulator
) -> None:
    auth = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    async with auth, Client(streamable_http_client(http_server.url, http_client=auth)) as client:
        await exercise(client, twsim)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token-0123456789abcdef"}, {"Authorization": TOKEN}],
    ids=["no-token", "wrong-token", "not-bearer"],
)
def test_http_without_the_token_is_refused(
    http_server: HttpServer, twsim: ThreadedSimulator, headers: dict[str, str]
) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    accept = {"Accept": "application/json, text/event-stream"}
    r = httpx.post(http_server.url, json=body, headers={**accept, **headers}, timeout=10)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert "PAYROLL" not in r.text and twsim.calls() == []


def test_http_refuses_to_start_without_a_token(
    script: Path, twsim: ThreadedSimulator, tmp_path: Path
) -> None:
    done = subprocess.run(
        [str(script), "--http", "--port", "9"],
        env=mcp_env(twsim, tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "RESYNC_MCP_TOKEN" in done.stderr and "--token" in done.stderr


def test_a_bad_engine_url_is_one_clear_line(script: Path, tmp_path: Path) -> None:
    env = {"PATH": "", "HOME": str(tmp_path), "RESYNC_TWS_URL": "mdm.example.com:31116"}
    done = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "resync-mcp: RESYNC_TWS_URL='mdm.example.com:31116' must be an http(s) URL such as "
        "https://host:31116"
    ]

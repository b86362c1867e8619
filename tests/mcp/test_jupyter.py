"""The Jupyter server's MCP endpoint (jupyter-server-mcp) serves the same tools as resync-mcp.

A real in-process Jupyter server with both extensions enabled, configured through their traits;
jupyter-server-mcp finds Resync's tools through the ``jupyter_server_mcp.tools`` entry point and
the SDK's client reads them over streamable HTTP, as a Jupyter AI 3 agent does.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from mcp.client import Client
from traitlets.config import Config

from resync_ext.mcp.catalog import MEMORY_TOOL, mcp_functions, tool_names
from resync_ext.mcp.jupyter import TOOLS
from resync_ext.mcp.server import build_server
from resync_ext.tws.simulator.testing import ThreadedSimulator
from tests.mcp.conftest import ABENDED
from tests.support import wait_memory

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture
def resync_config(resync_config: dict[str, Any], twsim: ThreadedSimulator) -> dict[str, Any]:
    return {**resync_config, "tws_url": twsim.url}


@pytest.fixture
def jp_server_config(resync_config: dict[str, Any]) -> Config:
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"resync_ext": True, "jupyter_server_mcp": True}},
            "ResyncApp": resync_config,
            "MCPExtensionApp": {"mcp_port": 0},  # a free port, as with several servers
        }
    )


def mcp_url(serverapp: Any) -> str:
    apps = serverapp.extension_manager.extension_apps["jupyter_server_mcp"]
    server = next(iter(apps)).mcp_server_instance
    assert server is not None, "jupyter-server-mcp did not start: see the captured log"
    return f"http://127.0.0.1:{server.port}/mcp"


async def standalone_tools() -> list[Any]:
    async def unused(name: str) -> Any:
        raise AssertionError(name)

    async with Client(build_server(mcp_functions(unused))) as client:
        return list((await client.list_tools()).tools)


def test_the_entry_point_names_every_tool() -> None:
    from importlib.metadata import entry_points

    (point,) = entry_points(group="jupyter_server_mcp.tools", name="resync")
    assert point.load() == TOOLS
    assert [spec.rsplit(":", 1)[1] for spec in TOOLS] == tool_names()
    (middleware,) = entry_points(group="jupyter_server_mcp.middleware", name="resync")
    assert middleware.value == "resync_ext.mcp.jupyter:read_only_middleware"


def test_jupyter_endpoint_serves_the_same_read_only_tools(
    resync_services: Any, jp_serverapp: Any, jp_asyncio_loop: Any, twsim: ThreadedSimulator
) -> None:
    url = mcp_url(jp_serverapp)

    async def run() -> tuple[list[Any], Any, Any, list[Any]]:
        async with Client(url, read_timeout_seconds=60) as client:
            listed = list((await client.list_tools()).tools)
            job = await client.call_tool("get_job_log", {"job": ABENDED})
            memory = await client.call_tool(MEMORY_TOOL, {"query": "payroll"})
        return listed, job, memory, await standalone_tools()

    listed, job, memory, standalone = jp_asyncio_loop.run_until_complete(
        asyncio.wait_for(run(), 90)
    )
    ours = {t.name: t for t in listed if t.name in tool_names()}
    assert sorted(ours) == sorted(tool_names())
    for reference in standalone:
        tool = ours[reference.name]
        assert tool.annotations is not None and tool.annotations.read_only_hint is True
        assert tool.description == reference.description
        schema, expected = tool.input_schema, reference.input_schema
        assert set(schema["properties"]) == set(expected["properties"])
        assert schema.get("required", []) == expected.get("required", [])

    # the tools answer from the extension's own TWS client
    assert not job.is_error
    assert any("ORA-01017" in line for line in job.structured_content["error_lines"])
    assert {c["method"] for c in twsim.calls()} == {"GET"}
    # the memory store is off in this server: a clear tool error, not a crash
    assert memory.is_error and "memory store is not open" in memory.content[0].text


class TestWithTheMemoryOpen:
    """The reviewed-answer search answers from the extension's own open store."""

    @pytest.fixture
    def resync_config(self, resync_config: dict[str, Any]) -> dict[str, Any]:
        return {**resync_config, "open_memory": True}

    @pytest.mark.timeout(180)
    def test_reviewed_answers_come_from_the_servers_store(
        self, resync_services: Any, jp_serverapp: Any, jp_asyncio_loop: Any
    ) -> None:
        async def run() -> tuple[str, Any]:
            store = await wait_memory(resync_services)
            turn = await store.add_turn(
                agent_id="tws-troubleshooter",
                question="Why is AGT_WIN02 not running jobs?",
                answer="AGT_WIN02 has been unlinked since 02:10; link it again.",
                evidence=[],
            )
            await store.set_state(turn.id, "approved", review={"by": "ann"})
            await store.settle()
            async with Client(mcp_url(jp_serverapp), read_timeout_seconds=60) as client:
                return turn.id, await client.call_tool(MEMORY_TOOL, {"query": "AGT_WIN02 unlinked"})

        turn_id, result = jp_asyncio_loop.run_until_complete(asyncio.wait_for(run(), 150))
        assert not result.is_error, result.content[0].text
        matches = result.structured_content["matches"]
        assert [m["id"] for m in matches] == [turn_id] and matches[0]["reviewed_by"] == "ann"


def test_the_tokenless_endpoint_is_off_in_an_installed_server() -> None:
    """jupyter-server-mcp's endpoint has no token: an installed Resync leaves it switched off."""
    from jupyter_core.paths import jupyter_config_path
    from jupyter_server.extension.config import ExtensionConfigManager

    enabled = ExtensionConfigManager(read_config_path=jupyter_config_path())
    extensions = enabled.get_jpserver_extensions()
    assert extensions.get("resync_ext") is True
    assert extensions.get("jupyter_server_mcp") is False

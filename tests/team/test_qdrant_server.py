"""The memory on a Qdrant server by URL: the service keeps no vector data of its own.

Needs a Qdrant server binary (``qdrant`` on PATH, or RESYNC_TEST_QDRANT_BIN): Qdrant ships it as a
release download or a container image only, and neither PyPI, Debian nor npm packages it, so on a
machine without one this test is skipped (said in the skip reason). With one, a real server is
started on a free port with its storage in a temporary directory, a Resync server process uses it
through ``qdrant_url``, and a chat turn's memory is in the server's collection, found by search,
while ``data_dir`` holds no embedded vector store.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.crash.integrity import chat_turns
from tests.llm.openai_stub import OpenAIStub
from tests.load.fixtures import lm_stub, script, sim
from tests.server_process import ServerProcess, free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
QDRANT = os.environ.get("RESYNC_TEST_QDRANT_BIN") or shutil.which("qdrant")


@pytest.fixture(scope="module")
def qdrant_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not QDRANT:
        pytest.skip(
            "no Qdrant server binary: it is not packaged on PyPI, Debian or npm (install one "
            "and put `qdrant` on PATH, or set RESYNC_TEST_QDRANT_BIN)"
        )
    root = tmp_path_factory.mktemp("qdrant")
    port, grpc = free_port(), free_port()
    env = {
        **os.environ,
        "QDRANT__STORAGE__STORAGE_PATH": str(root / "storage"),
        "QDRANT__STORAGE__SNAPSHOTS_PATH": str(root / "snapshots"),
        "QDRANT__SERVICE__HOST": "127.0.0.1",
        "QDRANT__SERVICE__HTTP_PORT": str(port),
        "QDRANT__SERVICE__GRPC_PORT": str(grpc),
        "QDRANT__TELEMETRY_DISABLED": "true",
    }
    log = (root / "qdrant.log").open("wb")
    proc = subprocess.Popen([QDRANT], cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "qdrant did not start"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, qdrant_url: str, sim: Any, lm_stub: OpenAIStub
) -> Iterator[ServerProcess]:
    traits = {
        "tws_url": sim.url,
        "lm_model": "openai/stub-model",
        "lm_api_base": lm_stub.base_url,
        "lm_api_key": "sk-test-key",
        "qdrant_url": qdrant_url,
        "open_memory": True,
        "audit_interval_min": 0.0,
        "report_cron": "",
        "agents_config": str(REPO / "config" / "runtime.json"),
    }
    srv = ServerProcess(tmp_path_factory.mktemp("resync"), traits)
    srv.start()
    try:
        srv.wait_memory_open()
        yield srv
    finally:
        srv.stop()


def test_memories_live_on_the_qdrant_server(server: ServerProcess, qdrant_url: str) -> None:
    from qdrant_client import QdrantClient

    [memory_id] = asyncio.run(chat_turns(server, ["qsrv0001"]))
    with server.client() as http:
        found = http.get("/resync/api/memories", params={"query": "ticket qsrv0001"}).json()
    assert found["memories"][0]["id"] == memory_id
    client = QdrantClient(url=qdrant_url)
    try:
        collections = [c.name for c in client.get_collections().collections]
        assert any(client.count(name).count >= 1 for name in collections), collections
    finally:
        client.close()
    memory_dir = server.data_dir / "memory"
    assert not (memory_dir / "edge").exists() and not (memory_dir / "local").exists()


__all__ = ["lm_stub", "script", "sim"]

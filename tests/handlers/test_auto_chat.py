"""The auto chat socket through a real Jupyter server, the TWS simulator and a loopback LM: the
ready frame describes auto, each final frame names the agent that answered, and the turn is
remembered under that agent (a reviewer sees who wrote it; its approval teaches that agent)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from resync_ext.tws.simulator.testing import run_in_thread
from tests.llm.openai_stub import OpenAIStub
from tests.load.chat_client import close, collect_turn, open_chat, send_chat
from tests.support import wait_memory

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ANSWER = "Why: the database refused the login.\nNext steps:\n1. Check the job's credentials."


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    with run_in_thread("demo") as running:
        yield running


@pytest.fixture(scope="module")
def lm_stub() -> Iterator[OpenAIStub]:
    with OpenAIStub(reply=lambda _body: ANSWER) as stub:
        yield stub


@pytest.fixture
def resync_config(
    resync_config: dict[str, Any], sim: Any, lm_stub: OpenAIStub, tmp_path: Path
) -> dict[str, Any]:
    config = tmp_path / "config" / "runtime.json"
    config.parent.mkdir()
    shutil.copy(REPO / "config" / "runtime.json", config)
    return {
        **resync_config,
        "tws_url": sim.url,
        "lm_model": "openai/stub-model",
        "lm_api_base": lm_stub.base_url,
        "lm_api_key": "sk-test-key",
        "lm_timeout": 20.0,
        "open_memory": True,
        "agents_config": str(config),
    }


async def test_auto_names_the_answering_agent_and_remembers_the_turn_under_it(
    jp_ws_fetch: Any, resync_services: Any
) -> None:
    store = await wait_memory(resync_services, timeout=60)
    ws = await open_chat(jp_ws_fetch, agent="auto")  # checks the ready frame describes auto
    answered = {}
    for turn_id, question in (("p1", "How is tonight going?"), ("j1", "Is AGT_WIN02 linked?")):
        await send_chat(ws, turn_id, question)
        final = (await collect_turn(ws, turn_id))[-1]
        assert final["type"] == "final" and final["memory_id"], final
        memory = await store.get(final["memory_id"])
        answered[question] = (final["agent"], memory.metadata.agent_id)
    await close(ws)
    assert answered == {
        "How is tonight going?": ("tws-analyzer", "tws-analyzer"),
        "Is AGT_WIN02 linked?": ("tws-troubleshooter", "tws-troubleshooter"),
    }

"""One real Jupyter server subprocess per module, SIGKILLed and restarted on the same data dir.

Each test leaves the server running (restarted) for the next; the simulator and the scripted LM
run in this process, on loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.llm.openai_stub import OpenAIStub
from tests.load.chat_client import LMScript
from tests.load.fixtures import lm_stub, script, sim
from tests.server_process import ServerProcess

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, sim: Any, lm_stub: OpenAIStub
) -> Iterator[ServerProcess]:
    traits = {
        "tws_url": sim.url,
        "lm_model": "openai/stub-model",
        "lm_api_base": lm_stub.base_url,
        "lm_api_key": "sk-test-key",
        "lm_timeout": 30.0,
        "open_memory": True,
        "audit_interval_min": 0.0,
        "report_cron": "",
        "agents_config": str(REPO / "config" / "runtime.json"),
        # The scripted judge is trusted with the review queue, as a capable judge LM would be:
        # its doubt alone (at most 0.55) files the memory, so every judged memory is flagged.
        "audit_flag_confidence": 0.3,
    }
    srv = ServerProcess(tmp_path_factory.mktemp("crash"), traits, fresh_lm_cache=True)
    srv.start()
    try:
        srv.wait_memory_open()
        yield srv
    finally:
        srv.stop()


@pytest.fixture(autouse=True)
def _normal_lm(script: LMScript) -> Iterator[None]:
    yield
    script.mode, script.judge_mode, script.delay_s, script.judge_delay_s = (
        "normal",
        "normal",
        0.0,
        0.0,
    )


__all__ = ["lm_stub", "script", "sim"]

"""The in-process server for the load tests: simulator, scripted loopback LM, memory open."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from resync_ext.tws.simulator.testing import run_in_thread
from tests.llm.openai_stub import OpenAIStub
from tests.load.chat_client import LMScript


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    with run_in_thread("demo") as running:
        yield running


@pytest.fixture(scope="module")
def script() -> Iterator[LMScript]:
    s = LMScript()
    yield s
    s.release.set()


@pytest.fixture(scope="module")
def lm_stub(script: LMScript) -> Iterator[OpenAIStub]:
    with OpenAIStub(reply=script) as stub:
        yield stub


@pytest.fixture
def resync_config(resync_config: dict[str, Any], sim: Any, lm_stub: OpenAIStub) -> dict[str, Any]:
    return {
        **resync_config,
        "tws_url": sim.url,
        "lm_model": "openai/stub-model",
        "lm_api_base": lm_stub.base_url,
        "lm_api_key": "sk-test-key",
        "lm_timeout": 60.0,
        "open_memory": True,
    }

"""The in-process server for the load tests: simulator, scripted loopback LM, memory open."""

from __future__ import annotations

from typing import Any

import pytest

from tests.llm.openai_stub import OpenAIStub
from tests.load.fixtures import lm_stub, script, sim


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


__all__ = ["lm_stub", "script", "sim"]

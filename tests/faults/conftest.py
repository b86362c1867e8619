"""The in-process server for the fault tests: simulator with faults, scripted LM, short timeouts
(the breaker's cool-down through ``tws_breaker_reset_s``, as a user would set it)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.llm.openai_stub import OpenAIStub
from tests.load.chat_client import LMScript
from tests.load.fixtures import lm_stub, script, sim

LM_TIMEOUT_S = 6.0
TWS_TIMEOUT_S = 2.0
BREAKER_COOL_DOWN_S = 1.0


@pytest.fixture(autouse=True)
def _healthy(sim: Any, script: LMScript, lm_stub: OpenAIStub) -> Iterator[None]:
    """Every test starts and ends with a healthy engine and LM."""
    sim.clear_faults()
    yield
    sim.clear_faults()
    script.mode, script.judge_mode, lm_stub.status = "normal", "normal", None
    script.release.set()
    script.release = threading.Event()


@pytest.fixture
def resync_config(resync_config: dict[str, Any], sim: Any, lm_stub: OpenAIStub) -> dict[str, Any]:
    return {
        **resync_config,
        "tws_url": sim.url,
        "tws_timeout": TWS_TIMEOUT_S,
        "lm_model": "openai/stub-model",
        "lm_api_base": lm_stub.base_url,
        "lm_api_key": "sk-test-key",
        "lm_timeout": LM_TIMEOUT_S,
        "tws_breaker_reset_s": BREAKER_COOL_DOWN_S,
        "open_memory": True,
        # The scripted judge is trusted with the review queue, as a capable judge LM would be:
        # its doubt alone (at most 0.55) files the memory, so a pass's outcome shows it judged.
        "audit_flag_confidence": 0.3,
    }


@pytest.fixture
def tws(resync_services: Any) -> Any:
    """The server's TWS client, its cache emptied so every tool reads the (faulty) engine."""
    client = resync_services.tws
    assert client.breaker.reset_timeout == BREAKER_COOL_DOWN_S
    client.cache.clear()
    return client


def clear_after_failures(sim: Any, failures: int, timeout: float = 20.0) -> threading.Thread:
    """Clear the simulator's faults once ``failures`` requests were answered 5xx (a burst)."""

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            failed = sum(1 for c in sim.calls() if (c.get("status") or 0) >= 500)
            if failed >= failures:
                break
            time.sleep(0.002)
        sim.clear_faults()

    thread = threading.Thread(target=watch, name="burst-watch", daemon=True)
    thread.start()
    return thread


async def health(jp_fetch: Any) -> dict[str, Any]:
    """GET /resync/api/health."""
    import json

    body: dict[str, Any] = json.loads((await jp_fetch("resync", "api", "health")).body)
    return body


async def wait_for(predicate: Any, timeout: float = 15.0, step: float = 0.1) -> None:
    """Wait until the (async) predicate holds."""
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(step)


__all__ = ["lm_stub", "script", "sim"]

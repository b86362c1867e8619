"""Fixtures shared by the load, fault and crash tests: the demo simulator and a scripted LM.

Import them into a folder's conftest (``from tests.load.fixtures import lm_stub, script, sim``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from resync_ext.tws.simulator.testing import run_in_thread
from tests.llm.openai_stub import OpenAIStub
from tests.load.chat_client import LMScript


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    """The demo plan served from a background thread."""
    with run_in_thread("demo") as running:
        yield running


@pytest.fixture(scope="module")
def script() -> Iterator[LMScript]:
    """What the loopback LM answers; released at the end so no stalled reply outlives a module."""
    s = LMScript()
    yield s
    s.release.set()


@pytest.fixture(scope="module")
def lm_stub(script: LMScript) -> Iterator[OpenAIStub]:
    """The loopback OpenAI-compatible LM answering with ``script``."""
    with OpenAIStub(reply=script) as stub:
        yield stub

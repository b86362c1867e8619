"""The local model is loaded when the server starts, not inside the first question."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.server_process import ServerProcess

pytestmark = pytest.mark.slow


def _wait_for(server: ServerProcess, text: str, timeout: float = 90.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = server.log()
        if text in log:
            return log
        time.sleep(0.3)
    raise AssertionError(f"{text!r} never logged:\n{server.log()}")


@pytest.mark.parametrize("warm", [True, False])
def test_the_local_model_loads_at_start_without_a_question(tmp_path: Path, warm: bool) -> None:
    # Not a GGUF file: the load fails, and its failure names when it was tried.
    model = tmp_path / "broken.gguf"
    model.write_bytes(b"not a model" * 100)
    traits = {
        "lm_model": "local",
        "local_model_path": str(model),
        "lm_warm_at_start": warm,
        "open_memory": False,
    }
    with ServerProcess(tmp_path, traits) as server:
        server.start()
        if warm:
            log = _wait_for(server, "could not load the model at start")
            assert "broken.gguf" in log or "Failed to load" in log, log[-2000:]
        else:
            # The warm-up would follow the agents' load at once (it took ~1 s when on): give it
            # five; nothing may try the model before a question.
            _wait_for(server, "Resync agents: loaded")
            time.sleep(5)
            assert "could not load the model" not in server.log()

"""The LM the cases are asked with: the configured one, or the evidence-echo baseline."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

#: The labels of the explain signatures' inputs that are not evidence (for the echo LM).
_NOT_EVIDENCE = re.compile(r"\n(?:Question|Past cases|Past turns|History|Context):")


def echo_lm() -> Any:
    """Return a scripted LM whose answer is the evidence of its prompt (a pre-analysis baseline)."""
    import dspy
    from dspy.lm15 import Message, Response, TextPart, Usage, response_to_events

    class EchoEngine:
        def complete(self, request: Any) -> Any:
            text = request.messages[-1].text or ""
            # Only the evidence: past turns offered as context are not what this turn found.
            evidence = _NOT_EVIDENCE.split(text, maxsplit=1)[0]
            evidence = evidence.split("Question:")[0].strip().removeprefix("Evidence:").strip()
            return Response(
                id=None,
                model="echo",
                message=Message.assistant([TextPart(evidence or "No evidence.")]),
                finish_reason="stop",
                usage=Usage(input_tokens=0, output_tokens=0),
            )

        def stream(self, request: Any) -> Any:
            return response_to_events(self.complete(request))

        def close(self) -> None:
            """Nothing to release."""

    class AsyncEchoEngine:
        def __init__(self) -> None:
            self.sync = EchoEngine()

        async def complete(self, request: Any) -> Any:
            return self.sync.complete(request)

        async def stream(self, request: Any) -> Any:
            for event in self.sync.stream(request):
                yield event

        async def aclose(self) -> None:
            """Nothing to release."""

    return dspy.LM(
        "echo/evidence", engine=EchoEngine(), async_engine=AsyncEchoEngine(), cache=False
    )


def configured_lm(choice: str | None, data_dir: Path) -> Any:
    """Build the LM the server would use (from RESYNC_* variables), or the echo baseline."""
    from resync_ext.llm import build_lm

    model = choice or os.environ.get("RESYNC_LM_MODEL") or "local"
    if model == "echo":
        return echo_lm()
    return build_lm(
        model=model,
        api_base=os.environ.get("RESYNC_LM_API_BASE") or None,
        api_key=os.environ.get("RESYNC_LM_API_KEY") or None,
        local_model_path=os.environ.get("RESYNC_LOCAL_MODEL_PATH") or None,
        data_dir=data_dir,
        cache=False,
    )


def warm_up(lm: Any) -> None:
    """Load the embedded model before the first case, so no case is charged the load.

    The first use joins and checks the packaged weights (a minute on two cores) and loads them;
    inside a case that would count against the turn's silence limit and its time.
    """
    from resync_ext.llm import local_engine_of

    engine = local_engine_of(lm)
    if engine is not None:
        engine.load()

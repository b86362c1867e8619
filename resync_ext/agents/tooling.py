"""Shared pieces of the agent programs: ReAct tool wrappers and few-shot demos from review."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from resync_ext.agents.evidence import clip
from resync_ext.agents.toolbox import ToolFn, current_recorder
from resync_ext.redact import mask_obj, mask_secrets
from resync_ext.tws.injection import KNOWLEDGE_KEYS, screen_obj

MAX_DEMOS = 2


def react_tools(tools: Mapping[str, ToolFn]) -> list[Any]:
    """Wrap TWS tools as dspy.Tool objects whose calls go through the turn's ToolRecorder."""
    import dspy

    out = []
    for name, fn in tools.items():
        tool = dspy.Tool(fn, name=name)  # reads the arguments and description from fn

        def make(name: str = name, fn: ToolFn = fn) -> ToolFn:
            async def call(**kwargs: Any) -> Any:
                rec = current_recorder.get()
                result = await (rec.call(name, **kwargs) if rec is not None else fn(**kwargs))
                # What the model reads: masked, and engine text that reads like an instruction
                # withheld (TWS tools do it themselves; this covers every other tool too).
                return screen_obj(mask_obj(result), trusted=KNOWLEDGE_KEYS)

            return call

        tool.func = make()
        out.append(tool)
    return out


def demo_evidence(evidence: Sequence[dict[str, Any]]) -> str:
    """Rebuild an evidence paragraph from a turn's recorded evidence summaries."""
    return mask_secrets(
        " ".join(clip(e.get("summary", ""), 240) for e in evidence if e.get("summary"))
    )


def learn_demos(examples: Sequence[dict[str, Any]], limit: int = MAX_DEMOS) -> list[Any]:
    """Turn approved turns into dspy.Example demos (evidence, question -> answer), newest first.

    Few: each demo costs the small model about a second of prompt reading per 60 tokens.
    """
    import dspy

    demos = []
    for ex in examples:
        question, answer = ex.get("question"), ex.get("answer")
        evidence = demo_evidence(ex.get("evidence") or [])
        if not (question and answer and evidence):
            continue
        demos.append(
            dspy.Example(
                evidence=clip(evidence, 700),
                avoid="",
                question=mask_secrets(str(question)),
                answer=mask_secrets(str(answer)),
            ).with_inputs("evidence", "avoid", "question")
        )
        if len(demos) >= limit:
            break
    return demos

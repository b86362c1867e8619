"""Mem0's LLM slot filled by the workbench's own DSPy LM (for ``infer=True`` fact extraction).

Mem0 builds an LLM client even when turns are stored verbatim; with this adapter no cloud key is
ever needed, and when a user turns extraction on it runs on the same LM as the chat, with the text
masked before it leaves the process.
"""

from __future__ import annotations

from typing import Any

from mem0.llms.base import LLMBase

from resync_ext.redact import mask_secrets

PROVIDER = "resync_dspy"


class DspyLLM(LLMBase):
    """Answer Mem0's prompts with a DSPy LM (``config.model`` holds the ``dspy.LM`` or None)."""

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.lm = self.config.model

    def _validate_config(self) -> None:
        """Accept any config: the model is an LM object, not a provider model name."""

    def generate_response(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str = "auto",
        **kwargs: Any,
    ) -> str:
        """Return the LM's text answer to ``messages`` (tools are not offered to the LM)."""
        if self.lm is None or isinstance(self.lm, str):
            raise RuntimeError(
                "memory fact extraction (infer=True) needs the workbench's LM, and none was given"
            )
        masked = [
            {"role": str(m.get("role", "user")), "content": mask_secrets(str(m.get("content", "")))}
            for m in messages
        ]
        outputs = self.lm(messages=masked)
        first: Any = outputs[0] if outputs else ""
        if isinstance(first, dict):
            first = first.get("text") or ""
        return str(first)

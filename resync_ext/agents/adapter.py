"""A compact DSPy adapter for small local models: plain prompt in, plain answer out.

DSPy's ChatAdapter spends ~150 tokens describing fields and markers, and a 1.5B model on two
cores reads ~60 prompt tokens a second. For a signature with text inputs and ONE text output this
adapter sends the signature's docstring as the system message, the inputs as ``Label: value``
lines, and takes the whole completion as the output field, so every streamed token is answer text.
"""

from __future__ import annotations

import re
from typing import Any

_MARKER = re.compile(r"\[\[ ## (\w+) ## \]\]")


def _label(name: str, field: Any) -> str:
    prefix = (getattr(field, "json_schema_extra", None) or {}).get("prefix")
    return str(prefix).rstrip(":") if prefix else name.replace("_", " ").capitalize()


def _render(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "\n".join(f"- {v}" for v in value)
    return str(value)


def _compact_adapter_class() -> type:
    import dspy

    class CompactAdapter(dspy.Adapter):
        """Format inputs as short labelled lines and read the completion as the one output."""

        def format(
            self, signature: Any, demos: list[dict[str, Any]], inputs: dict[str, Any]
        ) -> list[dict[str, Any]]:
            messages: list[dict[str, Any]] = [
                {"role": "system", "content": signature.instructions.strip()}
            ]
            out_name = self._output_name(signature)
            for demo in demos:
                if demo.get(out_name) and any(demo.get(k) for k in signature.input_fields):
                    messages.append({"role": "user", "content": self._user(signature, demo)})
                    messages.append({"role": "assistant", "content": str(demo[out_name])})
            messages.append({"role": "user", "content": self._user(signature, inputs)})
            return messages

        def _user(self, signature: Any, values: dict[str, Any]) -> str:
            lines = []
            for name, field in signature.input_fields.items():
                value = values.get(name)
                if value in (None, "", [], ()):
                    continue
                text = _render(value)
                sep = "\n" if "\n" in text else " "
                lines.append(f"{_label(name, field)}:{sep}{text}")
            return "\n".join(lines)

        @staticmethod
        def _output_name(signature: Any) -> str:
            names = list(signature.output_fields)
            if len(names) != 1:
                raise ValueError("CompactAdapter needs a signature with exactly one output field")
            return names[0]

        def format_field_with_value(
            self, fields_with_values: dict[Any, Any], role: str = "user"
        ) -> str:
            """Render output values the way this adapter expects them back: the bare text."""
            return "\n\n".join(str(v) for v in fields_with_values.values())

        def parse(self, signature: Any, completion: str) -> dict[str, Any]:
            name = self._output_name(signature)
            text = completion
            # Tolerate a model (or a scripted LM) that answers in ChatAdapter's marker format.
            found = {m.group(1): m for m in _MARKER.finditer(text)}
            if name in found:
                text = text[found[name].end() :]
                nxt = _MARKER.search(text)
                text = text[: nxt.start()] if nxt else text
            text = text.strip()
            if not text:
                from dspy.utils.exceptions import AdapterParseError

                raise AdapterParseError(
                    adapter_name="CompactAdapter",
                    signature=signature,
                    lm_response=completion,
                    message="empty answer",
                )
            return {name: text}

    return CompactAdapter


_cls: type | None = None


def compact_adapter() -> Any:
    """Return a CompactAdapter instance (dspy is imported on first use)."""
    global _cls
    if _cls is None:
        _cls = _compact_adapter_class()
    return _cls()

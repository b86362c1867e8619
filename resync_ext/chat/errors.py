"""Errors of the chat turn.

Hierarchy::

    TurnFailed        a turn that ends with an ``error`` frame; ``code`` names the cause
                      (``lm_timeout``, ``lm_error``), sent to the client as the frame's code
    FrameError        a client frame that cannot be served (``bad_json``, ``bad_frame``,
                      ``unknown_type``, ``too_large``); the socket stays open
"""

from __future__ import annotations


class TurnFailed(Exception):
    """A turn that ends with an error frame; ``code`` names the cause."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class FrameError(Exception):
    """A client frame that cannot be served; ``code`` goes into the error frame."""

    def __init__(self, code: str, message: str, frame_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.frame_id = frame_id

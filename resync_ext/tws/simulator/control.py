"""The simulator's control plane (not HWA): injected faults and the log of calls received.

``PUT /twsim/faults`` takes a partial update of
``{"latency_ms", "error_rate", "error_status", "down", "auth_fail", "error_paths"}``
(``error_paths``: inject errors only on paths ending with one of these, e.g.
``["/plan/job/count"]``; empty: every path); ``GET`` returns them all
and ``DELETE`` clears them. ``GET /twsim/calls`` lists the HWA requests received (oldest first,
the last 2 000 kept) and ``DELETE`` clears the list. ``POST /twsim/reset`` reloads the scenario,
clears faults and calls. ``GET /twsim/scenario`` tells which scenario and clock are served.
The control plane needs no credentials: it is a test and demo tool, served on loopback.
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from resync_ext.tws.simulator.errors import BadRequest

_LIMITS: dict[str, tuple[type, float, float]] = {
    "latency_ms": (int, 0, 120_000),
    "error_rate": (float, 0.0, 1.0),
    "error_status": (int, 400, 599),
}


@dataclass
class Faults:
    """Faults applied to every HWA request: latency, random errors, down, auth failure.

    ``down`` drops the connection without an answer (the client sees a connection reset, as
    with an engine that died behind its port); use ``error_rate: 1, error_status: 503`` for
    an engine that answers "unavailable".
    """

    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 500
    down: bool = False
    auth_fail: bool = False
    error_paths: list[str] = field(default_factory=list)

    def applies_to(self, path: str) -> bool:
        """Return whether injected errors apply to ``path`` (``error_paths`` empty: all)."""
        return not self.error_paths or any(path.endswith(p) for p in self.error_paths)

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a validated partial update (BadRequest on an unknown key or a bad value)."""
        if not isinstance(changes, dict):
            raise BadRequest("the faults body must be a JSON object")
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            if key == "error_paths":
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise BadRequest("error_paths must be a list of path endings")
                clean[key] = list(value)
            elif key in ("down", "auth_fail"):
                if not isinstance(value, bool):
                    raise BadRequest(f"{key} must be true or false")
                clean[key] = value
            elif key in _LIMITS:
                kind, low, high = _LIMITS[key]
                ok_type = isinstance(value, int | float) and not isinstance(value, bool)
                if not ok_type or (kind is int and float(value) != int(value)):
                    raise BadRequest(f"{key} must be a number of type {kind.__name__}")
                if not low <= value <= high:
                    raise BadRequest(f"{key} must be between {low} and {high}")
                clean[key] = kind(value)
            else:
                raise BadRequest(f"unknown fault {key!r}; known: {', '.join(self.as_dict())}")
        for key, value in clean.items():
            setattr(self, key, value)

    def as_dict(self) -> dict[str, Any]:
        """Return the faults as a JSON-ready mapping."""
        return asdict(self)


class CallLog:
    """Keep the last ``size`` HWA requests received (a ring buffer)."""

    def __init__(self, size: int = 2000) -> None:
        self._calls: deque[dict[str, Any]] = deque(maxlen=size)

    def record(
        self, method: str, path: str, query: str, params: dict[str, list[str]], auth: str | None
    ) -> dict[str, Any]:
        """Record one request and return its entry (the status is filled in when answered)."""
        entry = {
            "method": method,
            "path": path,
            "query": query,
            "params": {k: v[0] if len(v) == 1 else v for k, v in params.items()},
            "auth": auth,
            "time": time.time(),
            "status": None,
        }
        self._calls.append(entry)
        return entry

    def list(self) -> list[dict[str, Any]]:
        """Return the recorded calls, oldest first."""
        return list(self._calls)

    def clear(self) -> None:
        """Forget every recorded call."""
        self._calls.clear()


def parse_json_body(raw: bytes) -> Any:
    """Parse a JSON request body (BadRequest when it is not JSON)."""
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as e:
        raise BadRequest(f"the body is not valid JSON: {e}") from e

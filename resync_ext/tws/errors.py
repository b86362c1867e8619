"""Errors raised by the read-only HWA/TWS client.

Hierarchy::

    TWSError                    any failure talking to TWS (status, path, message, messages)
    ├── TWSAuthError            401 / 403: bad credentials or not allowed
    ├── TWSNotFound             404: unknown job, run, stream, workstation or resource
    ├── TWSBadRequest           400: invalid parameters, e.g. an OQL syntax error
    ├── TWSUnavailable          engine down, breaker open, timeouts or 5xx/429 after retries
    └── TWSWriteRefused         a write (or a non-read path) stopped before a byte was sent

Every error carries the HTTP ``status`` (``None`` when no answer came back), the URL ``path``
and the product's own ``message``/``messages`` (its JSON error body holds ``messages``, usually
AWS* codes), so callers and tools can show what the engine said without parsing strings.
"""

from __future__ import annotations

from typing import Any


class TWSError(Exception):
    """Fail a call to the TWS engine."""

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        path: str | None = None,
        messages: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.path = path
        self.messages = list(messages or [])

    def to_dict(self) -> dict[str, Any]:
        """Return the error as plain data (what tools hand to an agent)."""
        out: dict[str, Any] = {"kind": self.kind, "message": self.message}
        if self.status is not None:
            out["status"] = self.status
        if self.path:
            out["path"] = self.path
        if self.messages:
            out["messages"] = self.messages[:5]
        return out


class TWSAuthError(TWSError):
    """Reject the credentials (401) or the permission (403)."""

    kind = "auth"


class TWSNotFound(TWSError):
    """Report that the requested object does not exist in the plan (404)."""

    kind = "not_found"


class TWSBadRequest(TWSError):
    """Report parameters the engine refused (400), such as a bad OQL filter."""

    kind = "bad_request"


class TWSUnavailable(TWSError):
    """Report that the engine cannot be reached or keeps failing."""

    kind = "unavailable"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        path: str | None = None,
        messages: list[str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, path=path, messages=messages)
        self.retry_after = retry_after


class TWSWriteRefused(TWSError):
    """Refuse a request that is not a read of an allowed endpoint."""

    kind = "write_refused"

    def __init__(self, method: str, path: str) -> None:
        super().__init__(
            f"read-only client refused {method} {path}", status=None, path=path, messages=[]
        )
        self.method = method

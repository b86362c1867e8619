"""Errors of the kernel-side code: the client, the panels and the report's data.

Hierarchy::

    ResyncClientError          base: something the notebook user should read
    ├── ServerNotFound         no running Jupyter server with Resync could be found
    ├── ServerUnreachable      the server did not answer (stopped, wrong URL, network)
    ├── ApiError               the server answered with an HTTP error ``{"message", "reason"}``
    └── ReportDataError        the report's kernel cannot read what it reports on
        └── ServiceDown        a service behind the API answered 503
"""

from __future__ import annotations

NO_SERVER = (
    "No running Jupyter server with Resync found: start it with `make run`, "
    "or set RESYNC_URL and RESYNC_TOKEN"
)


class ResyncClientError(Exception):
    """Base of the client's errors; ``message`` is meant for the notebook user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ServerNotFound(ResyncClientError):
    """No running Jupyter server with the Resync extension could be found."""

    def __init__(self, message: str = NO_SERVER) -> None:
        super().__init__(message)


class ServerUnreachable(ResyncClientError):
    """The server did not answer."""


class ApiError(ResyncClientError):
    """The server refused a request; carries its HTTP status and the ``reason`` it gave."""

    def __init__(self, status: int, message: str, reason: str = "error") -> None:
        super().__init__(f"{message} (HTTP {status}, {reason})")
        self.status = status
        self.reason = reason
        self.detail = message


class ReportDataError(ResyncClientError):
    """The report kernel could not read what it reports on (no server, token refused)."""


class ServiceDown(ReportDataError):
    """A service behind the API answered 503 (the memory store not open, TWS down)."""

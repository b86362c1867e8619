"""Errors shared by every Resync service, and how they map to HTTP.

Hierarchy::

    ResyncError                  base of every error a service raises on purpose
    ├── InvalidInput      400    a request the user can fix (bad field, bad name, bad id)
    ├── NotFound          404    an id or name that does not exist
    ├── Conflict          409    a state that forbids the change (pending items, decided twice)
    └── Unavailable       503    a dependency that is down or still starting (TWS, memory, LM)

Service packages (``tws``, ``memory``, ``audit``, ...) keep their own ``errors.py``; any exception
class with an ``http_status`` class attribute is rendered by the handler base with that status, so a
package does not need to inherit from these to be mapped correctly.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ResyncError(Exception):
    """Base of the errors a Resync service raises on purpose."""

    http_status: ClassVar[int] = 500
    reason: ClassVar[str] = "error"

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


class InvalidInput(ResyncError):
    """A request the user can fix."""

    http_status = 400
    reason = "invalid_input"


class NotFound(ResyncError):
    """An id or name that does not exist."""

    http_status = 404
    reason = "not_found"


class Conflict(ResyncError):
    """The current state forbids the change."""

    http_status = 409
    reason = "conflict"


class Unavailable(ResyncError):
    """A dependency is down or still starting."""

    http_status = 503
    reason = "unavailable"


class ConfigError(ResyncError):
    """A setting has a value the extension cannot start with."""

    def __init__(self, setting: str, value: Any, problem: str) -> None:
        super().__init__(f"ResyncApp.{setting}={value!r}: {problem}", setting=setting)
        self.setting = setting

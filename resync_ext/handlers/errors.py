"""Errors of the HTTP layer itself (the services' errors live in their packages' errors.py).

Hierarchy::

    ResyncError (resync_ext.errors)
    └── PayloadTooLarge   413   a request body over the limit, refused before any handler runs
"""

from __future__ import annotations

from resync_ext.errors import ResyncError


class PayloadTooLarge(ResyncError):
    """A request body over the limit."""

    http_status = 413
    reason = "too_large"

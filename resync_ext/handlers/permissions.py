"""What each Resync request needs from Jupyter's authorizer, and the check itself.

Every Resync handler declares, per HTTP method it implements, one :class:`Permission` in its
``permissions`` class attribute; :class:`~resync_ext.handlers.base.ServiceHandler` asks the
server's ``Authorizer`` for it in ``prepare()``, after authentication and before the method runs.
A method that declares nothing is refused (fail closed), so a handler added later without a
declaration is denied rather than silently open. The contract, which a JupyterHub role mapping
builds on (``jupyter_server.auth.Authorizer.is_authorized(handler, user, action, resource)``):

- ``resync`` / ``read``: the chat socket and every GET (health, agents, memories, review queue,
  metrics, reports);
- ``resync`` / ``write``: review decisions (approve, reject, correct) and comments;
- ``resync`` / ``execute``: run an audit pass, run a report, re-check a card, rebuild demos;
- ``resync:admin`` / ``write``: delete memories or reports, archive review batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from jupyter_core.utils import ensure_async
from tornado import web

if TYPE_CHECKING:
    from jupyter_server.base.handlers import JupyterHandler

Action = Literal["read", "write", "execute"]


@dataclass(frozen=True)
class Permission:
    """One ``(resource, action)`` pair as Jupyter's authorizer sees it."""

    resource: str
    action: Action

    def __str__(self) -> str:
        return f"{self.resource}:{self.action}"


READ = Permission("resync", "read")
WRITE = Permission("resync", "write")
EXECUTE = Permission("resync", "execute")
ADMIN = Permission("resync:admin", "write")

#: Every permission a Resync handler may declare.
ALL = (READ, WRITE, EXECUTE, ADMIN)


class PermissionDenied(web.HTTPError):
    """403: the authorizer refused the request's permission, or the handler declared none."""

    def __init__(self, permission: Permission | None, message: str) -> None:
        super().__init__(403, "%s", message)
        self.permission = permission


def declared(handler: type[web.RequestHandler], method: str) -> Permission | None:
    """Return the permission ``handler`` declares for ``method`` (lower case), if any."""
    table: dict[str, Permission] = getattr(handler, "permissions", {})
    return table.get(method.lower())


def implements(handler: type[web.RequestHandler], method: str) -> bool:
    """Tell whether ``handler`` serves ``method`` itself (tornado answers 405 otherwise)."""
    own = getattr(handler, method.lower(), None)
    return own is not None and own is not getattr(web.RequestHandler, method.lower(), None)


async def authorize(handler: JupyterHandler) -> None:
    """Ask the server's authorizer for the request's declared permission; 403 when refused.

    ``OPTIONS`` (CORS preflight, answered by Jupyter without running anything) and methods the
    handler does not implement (tornado's 405) are left alone; anything else without a
    declaration is refused and logged, so the gap shows up in development.
    """
    method = (handler.request.method or "").lower()
    if method == "options" or not implements(type(handler), method):
        return
    user = handler.current_user
    if not user:  # authentication already refused it; never authorise an anonymous request
        raise PermissionDenied(None, "authentication required")
    needed = declared(type(handler), method)
    if needed is None:
        handler.log.error(
            "resync: %s declares no permission for %s; refused",
            type(handler).__name__,
            method.upper(),
        )
        raise PermissionDenied(None, f"{method.upper()} on this resource declares no permission")
    allowed = await ensure_async(
        handler.authorizer.is_authorized(handler, user, needed.action, needed.resource)
    )
    if not allowed:
        name = user_name(handler)
        handler.log.info(
            "resync: %s refused %s %s (needs %s)",
            name,
            method.upper(),
            handler.request.path,
            needed,
        )
        raise PermissionDenied(needed, f"user {name} lacks the permission {needed}")


def user_name(handler: JupyterHandler) -> str:
    """The Jupyter user's name for the record (``username``, else ``name``)."""
    user = handler.current_user
    return str(getattr(user, "username", None) or getattr(user, "name", None) or user)

"""A Jupyter ``Authorizer`` for Resync as a JupyterHub service: Hub scopes decide each request.

The service runs under ``jupyterhub-singleuser``, whose ``JupyterHubIdentityProvider`` completes
the Hub's OAuth (or checks a Hub API token) and yields a user carrying the Hub's user model
(``hub_user``, with the ``scopes`` of the token or OAuth grant, subscopes expanded). Resync's
handlers ask ``is_authorized(handler, user, action, resource)`` for one pair of the contract in
resync_ext/handlers/permissions.py; this authorizer grants it when the user holds the custom scope
resync_ext/hub/scopes.py maps it to.

Everything else the Jupyter server serves (contents, kernels, terminals...) is refused unless
listed in ``allowed_jupyter_permissions``: the service runs as one system account for the whole
team, so a kernel or a terminal there would run as that account for anybody with read access.

Configure it on the service's command line::

    jupyterhub-singleuser --ServerApp.authorizer_class=resync_ext.hub.authorizer.HubScopeAuthorizer
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jupyter_server.auth import Authorizer
from traitlets import List, Unicode

from resync_ext.hub.scopes import granted, scope_for

if TYPE_CHECKING:
    from jupyter_server.auth import User
    from jupyter_server.base.handlers import JupyterHandler


def hub_scopes(user: Any) -> set[str]:
    """Return the Hub scopes of ``user`` (a ``JupyterHubUser``); none for any other user."""
    model = getattr(user, "hub_user", None)
    if not isinstance(model, dict):
        return set()
    scopes = model.get("scopes") or []
    return {s for s in scopes if isinstance(s, str)}


class HubScopeAuthorizer(Authorizer):
    """Grant Resync's ``(resource, action)`` pairs by the user's ``custom:resync:*`` Hub scopes."""

    allowed_jupyter_permissions = List(
        Unicode(),
        default_value=[],
        config=True,
        help="Jupyter server permissions ('resource:action', e.g. 'contents:read') any user "
        "holding custom:resync:read may use on the service besides Resync's own; empty (the "
        "default) refuses kernels, terminals, contents and every other Jupyter API.",
    )

    def is_authorized(
        self, handler: JupyterHandler, user: User, action: str, resource: str
    ) -> bool:
        """Return whether ``user``'s Hub scopes grant ``action`` on ``resource``."""
        held = granted(hub_scopes(user))
        needed = scope_for(resource, action)
        if needed is None:
            allowed = (
                f"{resource}:{action}" in self.allowed_jupyter_permissions
                and scope_for("resync", "read") in held
            )
        else:
            allowed = needed in held
        if not allowed:
            self.log.info(
                "resync hub: %s may not %s %s (holds %s)",
                user.username,
                action,
                resource,
                ", ".join(sorted(s for s in held if s.startswith("custom:resync")))
                or "no Resync scope",
            )
        return allowed

"""The parts of a ``jupyterhub_config.py`` that run Resync as a Hub-managed service.

deploy/jupyterhub/jupyterhub_config.py is the example; a deployment calls::

    c.JupyterHub.custom_scopes = custom_scopes()
    c.JupyterHub.services = [managed_service(port=10101, traits={"tws_url": ...})]
    c.JupyterHub.load_roles = team_roles({"analyst": [...], "reviewer": [...], "admin": [...]})
    c.Spawner.server_token_scopes = server_token_scopes()

The service is Jupyter Server with the Resync extension started by the Hub through
``jupyterhub-singleuser`` (JupyterHub's identity provider: OAuth for browsers, Hub API tokens for
kernels), served behind the proxy at ``/services/<name>/``, authorised by
:class:`~resync_ext.hub.authorizer.HubScopeAuthorizer`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from resync_ext.hub.scopes import DESCRIPTIONS, IMPLIES, ROLES, role_scopes

SERVICE_NAME = "resync"
AUTHORIZER = "resync_ext.hub.authorizer.HubScopeAuthorizer"


def access_scope(name: str = SERVICE_NAME) -> str:
    """The Hub scope that lets a user reach the service at all."""
    return f"access:services!service={name}"


def custom_scopes() -> dict[str, dict[str, Any]]:
    """``c.JupyterHub.custom_scopes``: Resync's four scopes with their subscopes."""
    out: dict[str, dict[str, Any]] = {}
    for scope, description in DESCRIPTIONS.items():
        out[scope] = {"description": description}
        if IMPLIES[scope]:
            out[scope]["subscopes"] = list(IMPLIES[scope])
    return out


def team_roles(
    members: Mapping[str, list[str]], *, name: str = SERVICE_NAME, group_members: bool = False
) -> list[dict[str, Any]]:
    """``c.JupyterHub.load_roles`` entries: role -> users (or groups with ``group_members``).

    Each role is ``resync-<role>`` with access to the service and the role's Resync scopes.
    """
    roles = []
    for role in ROLES:
        entry: dict[str, Any] = {
            "name": f"{name}-{role}",
            "description": f"Resync {role}",
            "scopes": [access_scope(name), *role_scopes(role)],
        }
        entry["groups" if group_members else "users"] = list(members.get(role, []))
        roles.append(entry)
    return roles


def server_token_scopes(name: str = SERVICE_NAME) -> list[str]:
    """``c.Spawner.server_token_scopes``: the server role's scopes plus Resync's.

    The Hub gives each user's ``JUPYTERHUB_API_TOKEN`` the subset of these that the user holds,
    so the panels in the user's kernels reach the service with the user's own rights.
    """
    return [
        "access:servers!server",
        "users:activity!user",
        access_scope(name),
        *sorted(DESCRIPTIONS),
    ]


def managed_service(
    *,
    port: int,
    traits: Mapping[str, Any] | None = None,
    name: str = SERVICE_NAME,
    python: str = sys.executable,
    environment: Mapping[str, str] | None = None,
    extra_args: list[str] | None = None,
) -> dict[str, Any]:
    """One ``c.JupyterHub.services`` entry: Resync on ``127.0.0.1:port``, started by the Hub.

    ``traits`` are ResyncApp settings (``{"tws_url": ..., "qdrant_url": ...}``), passed on the
    command line; ``environment`` reaches the service process (the Hub passes little else).
    """
    cmd = [
        python,
        "-m",
        "jupyterhub.singleuser",
        f"--ServerApp.authorizer_class={AUTHORIZER}",
        "--ServerApp.jpserver_extensions={'resync_ext': True}",
        "--ServerApp.terminals_enabled=False",
        *(f"--ResyncApp.{k}={v}" for k, v in (traits or {}).items()),
        *(extra_args or []),
    ]
    if os.geteuid() == 0:  # a Hub run as root starts its services as root
        cmd.append("--allow-root")
    return {
        "name": name,
        "url": f"http://127.0.0.1:{port}",
        "command": cmd,
        "environment": dict(environment or {}),
        # the Hub's OAuth grant carries the user's Resync scopes to the service
        "oauth_client_allowed_scopes": sorted(DESCRIPTIONS),
        "oauth_no_confirm": True,
    }

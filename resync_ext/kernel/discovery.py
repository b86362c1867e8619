"""Find the team's Resync service from a kernel on JupyterHub, and say what a refusal lacks.

On a Hub, Resync runs once as a service at ``/services/resync/`` (resync_ext/hub/) and every
user's own server gives its kernels the Hub's conventions in the environment: the user's
``JUPYTERHUB_API_TOKEN`` (carrying the user's ``custom:resync:*`` scopes, see
``resync_ext.hub.service.server_token_scopes``), ``JUPYTERHUB_BASE_URL`` (the Hub's base path)
and ``JUPYTERHUB_PUBLIC_HUB_URL`` (its public address). The panels therefore need no copied
token::

    RESYNC_URL            explicit service URL (wins; with RESYNC_TOKEN, else the Hub token)
    RESYNC_SERVICE_NAME   the service's name on the Hub (default "resync")

A request the service refuses names the permission it lacked (``{"permission":
"resync:write"}``, resync_ext/handlers/permissions.py); :func:`refusal` turns that into the
scope and the role to ask a Hub admin for.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from resync_ext.hub.scopes import READ, lowest_role_with, permission_scope

TOKEN_ENV = "JUPYTERHUB_API_TOKEN"
SERVICE_ENV = "RESYNC_SERVICE_NAME"
DEFAULT_SERVICE = "resync"


def on_hub(env: Mapping[str, str] | None = None) -> bool:
    """Whether this kernel runs in a JupyterHub user's server (it has the Hub's API token)."""
    env = os.environ if env is None else env
    return bool(env.get(TOKEN_ENV, "").strip())


def hub_token(env: Mapping[str, str] | None = None) -> str:
    """The user's Hub API token, or ''."""
    env = os.environ if env is None else env
    return env.get(TOKEN_ENV, "").strip()


def service_url(env: Mapping[str, str] | None = None) -> str | None:
    """The Resync service's URL on this Hub, from the Hub's variables; None when unknown.

    The origin comes from ``JUPYTERHUB_PUBLIC_HUB_URL`` (else ``JUPYTERHUB_PUBLIC_URL``), the
    path from ``JUPYTERHUB_BASE_URL``: ``<origin><base_url>services/<name>/``.
    """
    env = os.environ if env is None else env
    public = (
        env.get("JUPYTERHUB_PUBLIC_HUB_URL", "").strip()
        or env.get("JUPYTERHUB_PUBLIC_URL", "").strip()
    )
    parts = urlsplit(public)
    if not (parts.scheme and parts.netloc):
        return None
    base = env.get("JUPYTERHUB_BASE_URL", "").strip() or "/"
    base = base if base.endswith("/") else base + "/"
    name = env.get(SERVICE_ENV, "").strip() or DEFAULT_SERVICE
    return f"{parts.scheme}://{parts.netloc}{base}services/{name}/"


def discover_hub(env: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """Return ``(url, token)`` of the Resync service, or None when not on a Hub.

    ``RESYNC_URL`` overrides the URL (its token is ``RESYNC_TOKEN``, else the Hub token).
    """
    env = os.environ if env is None else env
    url = env.get("RESYNC_URL", "").strip()
    if url:
        return url, env.get("RESYNC_TOKEN", "").strip() or hub_token(env)
    if not on_hub(env):
        return None
    found = service_url(env)
    return (found, hub_token(env)) if found else None


def refusal(permission: str | None, *, hub: bool) -> str:
    """Say why a 403 happened and what to ask for.

    ``permission`` is what the service said the request needed (``"resync:write"``); None
    means the service did not let the user in at all (no access to it, or a bad token).
    """
    if permission:
        scope = permission_scope(permission)
        role = lowest_role_with(scope) if scope else None
        if scope and role and hub:
            return (
                f"You may not do this: it needs the Hub scope {scope}, which the "
                f"'resync-{role}' role grants; ask a JupyterHub admin for that role"
            )
        return f"You may not do this: it needs the permission {permission}"
    if hub:
        return (
            "The Resync service refused your Hub token: your Hub user has no access to it "
            f"(the 'resync-{lowest_role_with(READ)}' role or higher grants it); ask a JupyterHub "
            "admin"
        )
    return "the server refused the token"

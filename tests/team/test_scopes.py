"""Hub scopes onto Resync's permissions (the authorizer), and how a kernel finds the service."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from resync_ext.hub.authorizer import HubScopeAuthorizer
from resync_ext.hub.scopes import role_scopes
from resync_ext.hub.service import custom_scopes, managed_service, team_roles
from resync_ext.kernel.discovery import discover_hub, refusal, service_url

CONTRACT = [
    ("resync", "read"),
    ("resync", "write"),
    ("resync", "execute"),
    ("resync:admin", "write"),
]
# What each role may do, in CONTRACT's order (the roles table of README "For a team").
EXPECTED = {
    "analyst": [True, False, False, False],
    "reviewer": [True, True, True, False],
    "admin": [True, True, True, True],
}


def hub_user(name: str, scopes: list[str]) -> SimpleNamespace:
    """A user as JupyterHub's identity provider yields it (``hub_user`` is the Hub's model)."""
    return SimpleNamespace(username=name, hub_user={"name": name, "scopes": scopes})


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_role_gets_exactly_its_permissions(role: str) -> None:
    auth = HubScopeAuthorizer()
    user = hub_user(role, ["access:services!service=resync", *role_scopes(role)])
    got = [auth.is_authorized(None, user, action, res) for res, action in CONTRACT]  # type: ignore[arg-type]
    assert got == EXPECTED[role]


def test_a_hub_that_does_not_expand_subscopes_grants_the_same() -> None:
    auth = HubScopeAuthorizer()
    admin = hub_user("adam", ["custom:resync:admin"])  # no read/write/execute listed
    assert all(auth.is_authorized(None, admin, a, r) for r, a in CONTRACT)  # type: ignore[arg-type]


def test_no_resync_scope_and_jupyters_own_apis_are_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    auth = HubScopeAuthorizer()
    auth.log = logging.getLogger("test.hub")
    olga = hub_user("olga", ["access:services!service=resync"])
    reviewer = hub_user("rita", role_scopes("reviewer"))
    plain = SimpleNamespace(username="local", name="local")  # not a Hub user at all
    with caplog.at_level(logging.INFO, "test.hub"):
        assert not auth.is_authorized(None, olga, "read", "resync")  # type: ignore[arg-type]
    assert "olga may not read resync (holds no Resync scope)" in caplog.text
    assert not auth.is_authorized(None, plain, "read", "resync")  # type: ignore[arg-type]
    for resource in ("kernels", "terminals", "contents"):
        assert not auth.is_authorized(None, reviewer, "execute", resource)  # type: ignore[arg-type]
    auth.allowed_jupyter_permissions = ["contents:read"]
    assert auth.is_authorized(None, reviewer, "read", "contents")  # type: ignore[arg-type]
    assert not auth.is_authorized(None, olga, "read", "contents")  # type: ignore[arg-type]


def test_the_hub_configuration_pieces() -> None:
    scopes = custom_scopes()
    assert scopes["custom:resync:admin"]["subscopes"] == [
        "custom:resync:write",
        "custom:resync:execute",
        "custom:resync:read",
    ]
    roles = {r["name"]: r for r in team_roles({"analyst": ["ana"], "reviewer": ["rita"]})}
    assert roles["resync-analyst"]["users"] == ["ana"]
    assert roles["resync-admin"]["users"] == []
    assert "access:services!service=resync" in roles["resync-reviewer"]["scopes"]
    service = managed_service(port=10101, traits={"tws_url": "http://tws:31116"})
    assert service["url"] == "http://127.0.0.1:10101"
    assert "--ResyncApp.tws_url=http://tws:31116" in service["command"]
    assert set(service["oauth_client_allowed_scopes"]) == set(scopes)


def test_a_kernel_finds_the_service_from_the_hubs_variables() -> None:
    env = {
        "JUPYTERHUB_API_TOKEN": "tok",
        "JUPYTERHUB_PUBLIC_HUB_URL": "https://hub.example.org/jhub/hub/",
        "JUPYTERHUB_BASE_URL": "/jhub/",
    }
    assert discover_hub(env) == ("https://hub.example.org/jhub/services/resync/", "tok")
    assert service_url({**env, "RESYNC_SERVICE_NAME": "resync-prod"}) == (
        "https://hub.example.org/jhub/services/resync-prod/"
    )
    # RESYNC_URL wins, and takes the Hub token when no RESYNC_TOKEN is set
    assert discover_hub({**env, "RESYNC_URL": "http://10.0.0.5:9000/"}) == (
        "http://10.0.0.5:9000/",
        "tok",
    )
    # no public address: unknown (the client then looks for a local server)
    assert discover_hub({"JUPYTERHUB_API_TOKEN": "tok"}) is None
    assert discover_hub({}) is None


def test_a_refusal_names_the_scope_and_the_role() -> None:
    write = refusal("resync:write", hub=True)
    assert "custom:resync:write" in write and "'resync-reviewer'" in write
    assert "'resync-admin'" in refusal("resync:admin:write", hub=True)
    assert "'resync-analyst'" in refusal(None, hub=True)
    assert refusal(None, hub=False) == "the server refused the token"
    assert (
        refusal("resync:write", hub=False)
        == "You may not do this: it needs the permission resync:write"
    )

"""The Hub's custom scopes for Resync, the roles that grant them, and what each one allows.

Resync's handlers ask Jupyter's authorizer for one ``(resource, action)`` pair per request
(resync_ext/handlers/permissions.py); on a Hub each pair is one custom scope::

    resync        read     custom:resync:read      chat and every GET           analyst
    resync        write    custom:resync:write     review decisions, comments   reviewer
    resync        execute  custom:resync:execute   audit runs, reports, checks  reviewer
    resync:admin  write    custom:resync:admin     deletes and archive          admin

A role grants its scopes plus those of the roles above it in the table (a reviewer also reads).
JupyterHub expands subscopes into the user model's ``scopes``, and the authorizer also checks
the implied scopes itself, so a Hub configured with flat scopes behaves the same.
"""

from __future__ import annotations

PREFIX = "custom:resync"
READ = f"{PREFIX}:read"
WRITE = f"{PREFIX}:write"
EXECUTE = f"{PREFIX}:execute"
ADMIN = f"{PREFIX}:admin"

#: The scope each ``(resource, action)`` of the handlers' contract needs.
SCOPE_FOR: dict[tuple[str, str], str] = {
    ("resync", "read"): READ,
    ("resync", "write"): WRITE,
    ("resync", "execute"): EXECUTE,
    ("resync:admin", "read"): ADMIN,
    ("resync:admin", "write"): ADMIN,
    ("resync:admin", "execute"): ADMIN,
}

#: What holding a scope also grants (JupyterHub's ``subscopes``).
IMPLIES: dict[str, tuple[str, ...]] = {
    READ: (),
    WRITE: (READ,),
    EXECUTE: (READ,),
    ADMIN: (WRITE, EXECUTE, READ),
}

DESCRIPTIONS: dict[str, str] = {
    READ: "Resync: chat with the agents and read memories, the review queue and reports",
    WRITE: "Resync: decide on flagged memories (approve, reject, correct, comment)",
    EXECUTE: "Resync: run audit passes and reports, re-check answers",
    ADMIN: "Resync: delete memories and reports, archive review batches",
}

#: Role name -> the Resync scope it is granted (the lowest role first).
ROLES: dict[str, str] = {"analyst": READ, "reviewer": WRITE, "admin": ADMIN}
#: Extra scopes of a role besides its own (a reviewer also runs audits).
ROLE_EXTRA: dict[str, tuple[str, ...]] = {"reviewer": (EXECUTE,)}


def role_scopes(role: str) -> list[str]:
    """Return the Resync scopes ``role`` grants, implied ones included."""
    own = [ROLES[role], *ROLE_EXTRA.get(role, ())]
    return sorted(granted(own))


def granted(scopes: list[str] | set[str] | tuple[str, ...]) -> set[str]:
    """Return ``scopes`` with every Resync scope they imply (JupyterHub's subscope expansion)."""
    out = set(scopes)
    for scope in list(out):
        out.update(IMPLIES.get(scope, ()))
    return out


def scope_for(resource: str, action: str) -> str | None:
    """Return the scope ``action`` on ``resource`` needs; None for a resource not Resync's."""
    return SCOPE_FOR.get((resource, action))


def permission_scope(permission: str) -> str | None:
    """Return the scope a handler's permission (``"resync:write"``, ``"resync:admin:write"``,
    as Resync's 403 bodies name it) needs."""
    resource, _, action = permission.rpartition(":")
    return scope_for(resource, action)


def lowest_role_with(scope: str) -> str | None:
    """Return the lowest role that grants ``scope`` (the one to ask an admin for)."""
    for role in ROLES:
        if scope in role_scopes(role):
            return role
    return None

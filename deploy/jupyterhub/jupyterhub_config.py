"""JupyterHub for a Resync team: one shared Resync as a managed service, roles from the Hub.

Try it with ``make team`` (the simulator and this Hub, see scripts/run-team.sh), or by hand::

    RESYNC_TWS_URL=http://127.0.0.1:31116 \\
        .venv/bin/jupyterhub -f deploy/jupyterhub/jupyterhub_config.py

then log in at http://127.0.0.1:8000 as ``ana`` (an analyst; DummyAuthenticator: any password)
and open http://127.0.0.1:8000/services/resync/resync/api/health.

What it sets up (see deploy/jupyterhub/README.md for a real authenticator and replicas):
- the ``resync`` service: Jupyter Server with the Resync extension under ``jupyterhub-singleuser``
  (the Hub's OAuth; Hub API tokens for kernels) at ``/services/resync/``, authorised by
  ``resync_ext.hub.authorizer.HubScopeAuthorizer``;
- custom scopes ``custom:resync:read|write|execute|admin`` and the roles ``resync-analyst``,
  ``resync-reviewer`` and ``resync-admin`` that grant them;
- each user's own server (SimpleLocalProcessSpawner here) gets a ``JUPYTERHUB_API_TOKEN`` carrying
  the user's Resync scopes, which the chat and review panels use to reach the service.

Every ``RESYNC_*`` variable of the Hub's environment reaches the service (the Hub passes its
services little else): ``RESYNC_TWS_URL``, ``RESYNC_LM_MODEL``, ``RESYNC_QDRANT_URL``,
``RESYNC_SCHEDULER_LOCK_URL``, ... The ports are ``RESYNC_HUB_PORT`` (the proxy, 8000),
``RESYNC_HUB_API_PORT`` (8081), ``RESYNC_PROXY_API_PORT`` (8001) and ``RESYNC_SERVICE_PORT``
(10101).
"""

import json
import os
import shutil
import sys
from pathlib import Path

from resync_ext.hub.service import (
    custom_scopes,
    managed_service,
    server_token_scopes,
    team_roles,
)

c = get_config()  # noqa: F821  (JupyterHub's config loader defines it)

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
HUB_PORT = int(os.environ.get("RESYNC_HUB_PORT", "8000"))
HUB_API_PORT = int(os.environ.get("RESYNC_HUB_API_PORT", "8081"))
PROXY_API_PORT = int(os.environ.get("RESYNC_PROXY_API_PORT", "8001"))
SERVICE_PORT = int(os.environ.get("RESYNC_SERVICE_PORT", "10101"))

# -- who is on the team (a JSON object in RESYNC_TEAM overrides the demo team) ----------------
TEAM: dict[str, list[str]] = json.loads(
    os.environ.get("RESYNC_TEAM")
    or '{"analyst": ["ana", "alex"], "reviewer": ["rita"], "admin": ["adam"]}'
)
# Users who may log in to the Hub but hold no Resync role (refused by the service).
OTHERS: list[str] = json.loads(os.environ.get("RESYNC_OTHER_USERS") or '["olga"]')

# -- the Hub and its proxy -------------------------------------------------------------------
c.JupyterHub.bind_url = f"http://127.0.0.1:{HUB_PORT}"
# The public address is what users' kernels derive the service's URL from
# (JUPYTERHUB_PUBLIC_HUB_URL); behind a load balancer, set it to the address users see.
c.JupyterHub.public_url = os.environ.get("RESYNC_HUB_PUBLIC_URL") or f"http://127.0.0.1:{HUB_PORT}"
c.JupyterHub.hub_port = HUB_API_PORT
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{PROXY_API_PORT}"
# configurable-http-proxy from npm: `make install-team` puts it under .venv/team-node.
local_chp = REPO / ".venv" / "team-node" / "node_modules" / ".bin" / "configurable-http-proxy"
chp = os.environ.get("RESYNC_CHP") or (str(local_chp) if local_chp.exists() else None)
if chp or shutil.which("configurable-http-proxy"):
    c.ConfigurableHTTPProxy.command = [chp or "configurable-http-proxy"]

# -- log in: DummyAuthenticator is for trying it only (see README.md for a real one): it lets
# any of the users below in with any password, so the Hub listens on 127.0.0.1 only.
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = {u for users in TEAM.values() for u in users} | set(OTHERS)

# -- users' own servers: their panels reach the service with their own Hub token -------------
c.JupyterHub.spawner_class = "simple"  # SimpleLocalProcessSpawner: no system users needed
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
# A user's server runs the panels (resync_ext.kernel), not a Resync of its own: the team's memory,
# review queue and schedules are the service's.
c.Spawner.args = ["--ServerApp.jpserver_extensions={'resync_ext': False}"]
if os.geteuid() == 0:  # a Hub run as root (a container) starts users' servers as root too
    c.Spawner.args.append("--allow-root")
c.Spawner.server_token_scopes = server_token_scopes()

# -- Resync, once, for everybody -------------------------------------------------------------
c.JupyterHub.custom_scopes = custom_scopes()
c.JupyterHub.load_roles = team_roles(TEAM)
FORWARDED = ("RESYNC_", "JUPYTER_", "HF_", "MEM0_", "DSPY_")
service_env = {k: v for k, v in os.environ.items() if k.startswith(FORWARDED)}
service_env.setdefault("HOME", os.environ.get("HOME", str(Path.home())))
service_env.setdefault("PYTHONUNBUFFERED", "1")
c.JupyterHub.services = [
    managed_service(
        port=SERVICE_PORT,
        environment=service_env,
        extra_args=[f"--ServerApp.root_dir={os.environ.get('RESYNC_SERVICE_ROOT', REPO)}"],
    )
]

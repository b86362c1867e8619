"""Resync for a team on JupyterHub: one shared Resync run as a Hub-managed service.

- ``scopes``: the Hub's custom scopes and roles, and the ``(resource, action)`` each one grants;
- ``authorizer``: the Jupyter ``Authorizer`` that maps a Hub user's scopes onto Resync's contract;
- ``service``: the pieces of a ``jupyterhub_config.py`` (the managed service, the custom scopes,
  the roles, the scopes of each user's server token), used by ``deploy/jupyterhub/``.

Nothing here imports JupyterHub: the service runs ``jupyterhub-singleuser`` (JupyterHub's
identity provider for Jupyter Server) and this package only reads the user model it yields.
"""

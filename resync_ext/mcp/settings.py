"""The standalone MCP server's settings: the extension's own, read from the same variables.

``ResyncSettings`` (the traits ``ResyncApp`` inherits) already say what each ``RESYNC_*`` variable
means and what its default is (the simulator's URL and demo user, ``~/.local/share/resync``...);
:func:`load` builds one and reads them, so ``resync-mcp`` and the Jupyter extension never
disagree. Only the MCP server's own HTTP settings are new: ``--host``/``--port`` and the
bearer token (``--token`` or ``RESYNC_MCP_TOKEN``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from resync_ext.mcp.errors import McpSettingError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 31130
TOKEN_ENV = "RESYNC_MCP_TOKEN"
MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True)
class TwsSettings:
    """How to reach the HWA engine (ResyncApp's ``tws_*`` traits)."""

    url: str
    user: str | None
    password: str | None
    api_key: str | None
    verify: bool
    ca_bundle: str | None
    timeout: float
    breaker_failures: int
    breaker_reset_s: float
    max_log_bytes: int = 256 * 1024


@dataclass(frozen=True)
class MemorySettings:
    """Where the reviewed answers live (ResyncApp's memory traits)."""

    data_dir: Path
    qdrant_url: str | None
    qdrant_api_key: str | None
    engine: str
    embedder: str
    embedder_cache: Path | None


@dataclass(frozen=True)
class Settings:
    """Everything ``resync-mcp`` reads from the environment."""

    tws: TwsSettings
    memory: MemorySettings


def load() -> Settings:
    """Read the extension's settings from the environment (``RESYNC_*``) and check them."""
    from resync_ext.settings import ResyncSettings

    app = ResyncSettings()  # ResyncApp's own settings, defaults computed from the environment
    tws = TwsSettings(
        url=app.tws_url,
        user=app.tws_user or None,
        password=app.tws_password or None,
        api_key=app.tws_api_key or None,
        verify=app.tws_verify,
        ca_bundle=app.tws_ca_bundle or None,
        timeout=app.tws_timeout,
        breaker_failures=app.tws_breaker_failures,
        breaker_reset_s=app.tws_breaker_reset_s,
        max_log_bytes=app.tws_max_log_kb * 1024,
    )
    parsed = urlparse(tws.url)
    if parsed.username is not None or parsed.password is not None:
        bare = parsed._replace(netloc=parsed.netloc.rpartition("@")[2]).geturl()
        raise McpSettingError(
            f"RESYNC_TWS_URL={bare!r} must not carry user:password@ in the URL; "
            "set RESYNC_TWS_USER and RESYNC_TWS_PASSWORD (tws_user, tws_password) instead"
        )
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise McpSettingError(
            f"RESYNC_TWS_URL={tws.url!r} must be an http(s) URL such as https://host:31116"
        )
    if tws.ca_bundle and not os.path.isfile(tws.ca_bundle):
        raise McpSettingError(f"RESYNC_TWS_CA_BUNDLE={tws.ca_bundle!r} is not a readable file")
    memory = MemorySettings(
        data_dir=Path(app.data_dir).expanduser(),
        qdrant_url=app.qdrant_url or None,
        qdrant_api_key=app.qdrant_api_key or None,
        engine=app.vector_engine,
        embedder=app.embedder,
        embedder_cache=Path(app.embedder_cache).expanduser() if app.embedder_cache else None,
    )
    return Settings(tws=tws, memory=memory)


def http_token(given: str | None) -> str:
    """Return the bearer token for HTTP (``--token`` or ``RESYNC_MCP_TOKEN``), or refuse."""
    token = (given or os.environ.get(TOKEN_ENV) or "").strip()
    if not token:
        raise McpSettingError(f"--http needs a bearer token: pass --token or set {TOKEN_ENV}")
    if len(token) < MIN_TOKEN_LENGTH:
        raise McpSettingError(
            f"the bearer token is too short: use at least {MIN_TOKEN_LENGTH} characters"
        )
    return token

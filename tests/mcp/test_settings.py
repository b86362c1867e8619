"""resync-mcp reads the extension's own settings from the same variables, with the same defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from resync_ext.app import ResyncApp
from resync_ext.mcp import settings
from resync_ext.mcp.errors import McpSettingError


def test_defaults_are_the_extensions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWSIM_PORT", raising=False)
    loaded = settings.load()
    app = ResyncApp()
    assert loaded.tws.url == app.tws_url == "http://127.0.0.1:31116"
    assert (loaded.tws.user, loaded.tws.password) == ("demo", "demo")
    assert loaded.tws.verify is True and loaded.tws.api_key is None
    assert loaded.memory.data_dir == Path.home() / ".local" / "share" / "resync"
    assert loaded.memory.engine == "edge" and loaded.memory.qdrant_url is None


def test_the_extensions_variables_configure_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("RESYNC_TWS_URL", "https://mdm.example.com:31116")
    monkeypatch.setenv("RESYNC_TWS_API_KEY", "jwt-key")
    monkeypatch.setenv("RESYNC_TWS_CA_BUNDLE", str(ca))
    monkeypatch.setenv("RESYNC_TWS_VERIFY", "false")
    monkeypatch.setenv("RESYNC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RESYNC_QDRANT_URL", "http://qdrant:6333")
    loaded = settings.load()
    assert loaded.tws.url == "https://mdm.example.com:31116"
    assert loaded.tws.api_key == "jwt-key" and loaded.tws.ca_bundle == str(ca)
    assert loaded.tws.verify is False
    assert loaded.memory.data_dir == tmp_path / "data"
    assert loaded.memory.qdrant_url == "http://qdrant:6333"


def test_a_missing_ca_bundle_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RESYNC_TWS_CA_BUNDLE", str(tmp_path / "nope.pem"))
    with pytest.raises(McpSettingError, match=r"RESYNC_TWS_CA_BUNDLE=.*nope\.pem.* not a readable"):
        settings.load()


def test_http_needs_a_real_token(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(McpSettingError, match="RESYNC_MCP_TOKEN"):
        settings.http_token(None)
    with pytest.raises(McpSettingError, match="too short"):
        settings.http_token("short")
    monkeypatch.setenv("RESYNC_MCP_TOKEN", " from-the-environment-0123 ")
    assert settings.http_token(None) == "from-the-environment-0123"
    assert settings.http_token("from-the-flag-0123456789") == "from-the-flag-0123456789"

"""The extension as installed: enabled by its shipped config, configured and validated by traits."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from resync_ext.app import ResyncApp
from resync_ext.handlers.health import HealthHandler


def test_extension_is_listed_as_enabled_after_install() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", "server", "extension", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)
    assert re.search(r"resync_ext\s+enabled", text), text
    assert re.search(r"resync_ext \S+ OK", text), text


def test_settings_default_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RESYNC_TWS_URL", "https://mdm.example.com:31116")
    monkeypatch.setenv("RESYNC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RESYNC_TWS_VERIFY", "false")
    monkeypatch.setenv("RESYNC_AUDIT_INTERVAL_MIN", "5")
    monkeypatch.setenv("RESYNC_SERVER_CA_BUNDLE", "/etc/pki/jupyter-ca.pem")
    app = ResyncApp()
    assert app.tws_url == "https://mdm.example.com:31116"
    assert app.data_dir == str(tmp_path)
    assert app.tws_verify is False
    assert app.audit_interval_min == 5.0
    assert app.server_ca_bundle == "/etc/pki/jupyter-ca.pem"
    assert app.lm_model == "local"


def test_every_setting_has_help() -> None:
    from resync_ext.settings import ResyncSettings

    # The settings live in ResyncSettings (resync-mcp reads them too); ResyncApp adds the classes.
    traits = {
        **ResyncSettings.class_own_traits(config=True),
        **ResyncApp.class_own_traits(config=True),
    }
    assert set(ResyncApp.class_traits(config=True)) >= set(traits)
    assert {"tws_url", "lm_model", "data_dir", "review_queue_class", "judge_class"} <= set(traits)
    for name, trait in traits.items():
        assert len(trait.help) > 20, name


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("tws_url", "ftp://x", "tws_url"),
        ("tws_max_log_kb", 1, "tws_max_log_kb"),
        ("report_cron", "every morning", "report_cron"),
        ("audit_reject_confidence", 1.5, "audit_reject_confidence"),
        ("vector_engine", "faiss", "vector_engine"),
        ("embedder", "tensorflow", "embedder"),
        ("lm_model", "gpt4", "lm_model"),
        ("server_ca_bundle", "/nonexistent/jupyter-ca.pem", "server_ca_bundle"),
        ("scheduler_lock_url", "mysql://db/resync", "scheduler_lock_url"),
        ("scheduler_lock_retry_s", 0.0, "scheduler_lock_retry_s"),
    ],
)
def test_bad_setting_is_one_clear_line(
    setting: str, value: Any, expected: str, tmp_path: Path
) -> None:
    from resync_ext.config_check import validate_settings
    from resync_ext.errors import ConfigError

    app = ResyncApp(data_dir=str(tmp_path))
    setattr(app, setting, value)
    with pytest.raises(ConfigError) as exc:
        validate_settings(app)
    assert f"ResyncApp.{expected}=" in exc.value.message
    assert "\n" not in exc.value.message


def test_a_refused_lock_url_never_shows_its_password(tmp_path: Path) -> None:
    from resync_ext.config_check import validate_settings
    from resync_ext.errors import ConfigError

    app = ResyncApp(data_dir=str(tmp_path), scheduler_lock_url="mysql://ops:S3cr3t!@db/resync")
    with pytest.raises(ConfigError) as exc:
        validate_settings(app)
    assert "S3cr3t" not in exc.value.message
    assert "mysql://db/resync" in exc.value.message


class TestInvalidConfigDisablesTheExtension:
    @pytest.fixture
    def resync_config(self, resync_config: dict[str, Any]) -> dict[str, Any]:
        return {**resync_config, "tws_url": "not a url"}

    async def test_no_routes(self, jp_fetch: Any) -> None:
        with pytest.raises(HTTPClientError) as exc:
            await jp_fetch("resync", "api", "health")
        assert exc.value.code == 404


def test_invalid_setting_is_logged_as_one_line(tmp_path: Path) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    app = ResyncApp(tws_url="not a url", data_dir=str(tmp_path))
    app.log = logging.getLogger("test.resync.config")
    app.log.addHandler(handler)
    app.initialize_settings()
    app.initialize_handlers()
    assert app.handlers == []
    # The same app with a valid setting serves the routes.
    valid = ResyncApp(data_dir=str(tmp_path))
    valid.initialize_settings()
    valid.initialize_handlers()
    assert ("/resync/api/health", HealthHandler) in valid.handlers
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (
            logging.ERROR,
            "Resync is disabled: invalid setting ResyncApp.tws_url='not a url': "
            "must be an http(s) URL such as https://host:31116",
        )
    ]


def test_building_the_services_imports_nothing_heavy(tmp_path: Path) -> None:
    """initialize_settings runs before the server serves: DSPy, Mem0, torch wait for start()."""
    code = (
        "import sys; from resync_ext.app import ResyncApp; "
        f"app = ResyncApp(data_dir={str(tmp_path)!r}); app.initialize_settings(); "
        "assert app.services is not None; "
        "heavy = [m for m in ('dspy', 'mem0', 'torch', 'qdrant_client', 'qdrant_edge', "
        "'sentence_transformers', 'llama_cpp', 'litellm', 'papermill') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr


def test_import_is_light() -> None:
    """Importing the extension must not pull DSPy, Mem0, torch or Qdrant (server start time)."""
    code = (
        "import sys, resync_ext.app, resync_ext.handlers; "
        "from resync_ext.handlers import collect_routes; collect_routes(); "
        "heavy = [m for m in ('dspy', 'mem0', 'torch', 'qdrant_client', 'qdrant_edge', "
        "'sentence_transformers', 'llama_cpp', 'litellm') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ},
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr

"""Validate ResyncApp's settings at start, so a wrong value is one clear line naming the setting."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from resync_ext.errors import ConfigError
from resync_ext.files import private_dir

_CRON_FIELDS = 5


def _without_userinfo(value: str) -> str:
    """``value`` with any ``user:password@`` taken out of its network location."""
    parsed = urlparse(value)
    return parsed._replace(netloc=parsed.netloc.rpartition("@")[2]).geturl()


def _check_url(name: str, value: str, *, required: bool) -> None:
    if not value:
        if required:
            raise ConfigError(name, value, "must be set to an http(s) URL")
        return
    parsed = urlparse(value)
    if parsed.username is not None or parsed.password is not None:
        # Refused, and never echoed: the message shows the URL without its user:password@.
        bare = _without_userinfo(value)
        where = "tws_user and tws_password" if name == "tws_url" else "the matching key setting"
        raise ConfigError(name, bare, f"must not carry user:password@ in the URL; set {where}")
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise ConfigError(name, value, "must be an http(s) URL such as https://host:31116")
    try:
        parsed.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as e:
        raise ConfigError(name, value, f"has a bad port ({e})") from e


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(name, value, f"must be between {low:g} and {high:g}")


def _check_cron(name: str, value: str) -> None:
    if not value:
        return
    if len(value.split()) != _CRON_FIELDS:
        raise ConfigError(name, value, "must be a 5-field crontab expression like '0 6 * * *'")
    from apscheduler.triggers.cron import CronTrigger  # light: apscheduler has no heavy deps

    try:
        CronTrigger.from_crontab(value)
    except ValueError as e:
        raise ConfigError(name, value, f"is not a valid crontab expression ({e})") from e


def validate_settings(app: Any) -> None:
    """Raise ConfigError for the first setting of ``app`` that cannot work."""
    _check_url("tws_url", app.tws_url, required=True)
    _check_url("lm_api_base", app.lm_api_base, required=False)
    _check_url("qdrant_url", app.qdrant_url, required=False)
    if app.tws_ca_bundle and not os.path.isfile(app.tws_ca_bundle):
        raise ConfigError("tws_ca_bundle", app.tws_ca_bundle, "is not a readable file")
    if app.server_ca_bundle and not os.path.isfile(app.server_ca_bundle):
        raise ConfigError("server_ca_bundle", app.server_ca_bundle, "is not a readable file")
    _check_range("tws_timeout", app.tws_timeout, 0.1, 600)
    _check_range("tws_breaker_failures", app.tws_breaker_failures, 1, 100)
    _check_range("tws_breaker_reset_s", app.tws_breaker_reset_s, 0.1, 3600)
    _check_range("tws_max_log_kb", app.tws_max_log_kb, 4, 1024 * 1024)
    _check_range("lm_timeout", app.lm_timeout, 1, 3600)
    _check_range("lm_temperature", app.lm_temperature, 0, 2)
    _check_range("lm_max_tokens", app.lm_max_tokens, 16, 32768)
    _check_range("audit_interval_min", app.audit_interval_min, 0, 7 * 24 * 60)
    _check_range("audit_reject_confidence", app.audit_reject_confidence, 0, 1)
    _check_range("audit_flag_confidence", app.audit_flag_confidence, 0, 1)
    _check_cron("report_cron", app.report_cron)
    _check_range("scheduler_lock_retry_s", app.scheduler_lock_retry_s, 0.1, 3600)
    _check_range("audit_claim_lease_s", app.audit_claim_lease_s, 5, 24 * 3600)
    for setting in ("scheduler_lock_url", "team_database_url"):
        url = getattr(app, setting)
        if url and not url.startswith(("postgresql", "postgres:")):
            # The URL carries the database password: the message shows it without userinfo.
            raise ConfigError(
                setting,
                _without_userinfo(url),
                "must be a PostgreSQL URL like 'postgresql://user:password@host/db'",
            )
    if app.vector_engine not in {"edge", "local"}:
        raise ConfigError("vector_engine", app.vector_engine, "must be 'edge' or 'local'")
    if app.embedder not in {"onnx", "torch"}:
        raise ConfigError("embedder", app.embedder, "must be 'onnx' or 'torch'")
    if app.lm_model != "local" and "/" not in app.lm_model:
        raise ConfigError(
            "lm_model", app.lm_model, "must be 'local' or a provider id like 'openai/gpt-4o-mini'"
        )
    if app.local_model_path and not os.path.isfile(app.local_model_path):
        raise ConfigError("local_model_path", app.local_model_path, "is not a file")
    data_dir = Path(app.data_dir).expanduser()
    try:
        private_dir(data_dir)  # 0700: memories, reviews and reports are this user's alone
    except OSError as e:
        raise ConfigError("data_dir", app.data_dir, f"cannot be created ({e.strerror})") from e
    if not os.access(data_dir, os.W_OK):
        raise ConfigError("data_dir", app.data_dir, "is not writable")

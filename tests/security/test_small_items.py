"""Issue 15's small items: no credentials in tws_url, private data files, bounded memory window."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from resync_ext.config_check import validate_settings
from resync_ext.errors import ConfigError
from resync_ext.files import atomic_write_json, private_dir
from resync_ext.handlers.memories import MAX_LIST_WINDOW, MAX_SEARCH_WINDOW
from resync_ext.kernel.audit_data import MEMORY_CAP, MEMORY_PAGE
from resync_ext.mcp import settings as mcp_settings
from resync_ext.mcp.errors import McpSettingError
from resync_ext.memory.mem0_store import MAX_SEARCH
from resync_ext.settings import ResyncSettings

PASSWORD = "Pa55-in-the-URL"


@pytest.mark.parametrize(
    "url",
    [
        f"https://ops:{PASSWORD}@mdm.example.com:31116",
        f"https://ops:{PASSWORD}@extra@mdm.example.com",  # a password holding "@"
        "https://ops@mdm.example.com:31116",
    ],
)
def test_credentials_in_tws_url_are_refused_naming_the_right_settings(
    url: str, tmp_path: Path
) -> None:
    app = ResyncSettings(tws_url=url, data_dir=str(tmp_path / "data"))
    with pytest.raises(ConfigError) as exc:
        validate_settings(app)
    message = str(exc.value)
    assert exc.value.setting == "tws_url"
    assert "tws_user" in message and "tws_password" in message
    assert PASSWORD not in message and "ops" not in message
    assert "mdm.example.com" in message


def test_the_mcp_server_refuses_them_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESYNC_TWS_URL", f"https://ops:{PASSWORD}@mdm.example.com:31116")
    with pytest.raises(McpSettingError) as exc:
        mcp_settings.load()
    assert "RESYNC_TWS_PASSWORD" in str(exc.value) and PASSWORD not in str(exc.value)


def test_a_plain_tws_url_is_accepted(tmp_path: Path) -> None:
    validate_settings(
        ResyncSettings(tws_url="https://mdm.example.com:31116", data_dir=str(tmp_path / "d"))
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_dir_is_private_and_tightened(tmp_path: Path) -> None:
    fresh = tmp_path / "new" / "resync"
    validate_settings(ResyncSettings(tws_url="http://127.0.0.1:9", data_dir=str(fresh)))
    assert _mode(fresh) == 0o700
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    assert _mode(private_dir(loose)) == 0o700


def test_json_files_are_written_for_the_owner_only(tmp_path: Path) -> None:
    target = private_dir(tmp_path / "audit" / "flags") / "audit-20261124T073000Z.json"
    atomic_write_json(target, {"items": []})
    assert _mode(target) == 0o600
    assert json.loads(target.read_text()) == {"items": []}


async def test_memory_listing_and_search_beyond_their_window_are_refused(
    jp_fetch: Any, resync_services: Any
) -> None:
    refused = [
        ({"offset": str(MAX_LIST_WINDOW), "limit": "1"}, MAX_LIST_WINDOW),
        ({"offset": str(MAX_SEARCH_WINDOW - 10), "limit": "20", "query": "x"}, MAX_SEARCH_WINDOW),
    ]
    for params, window in refused:
        with pytest.raises(HTTPClientError) as exc:
            await jp_fetch("resync", "api", "memories", params=params)
        assert exc.value.code == 400, params
        assert exc.value.response is not None
        message = json.loads(exc.value.response.body)["message"]
        assert f"offset + limit must be at most {window}" in message
    # The last page the audit report reads is inside the window (503 here: no store is open).
    last = {"offset": str(MEMORY_CAP - MEMORY_PAGE), "limit": str(MEMORY_PAGE)}
    with pytest.raises(HTTPClientError) as exc:
        await jp_fetch("resync", "api", "memories", params=last)
    assert exc.value.code == 503


def test_the_store_ranks_no_more_than_the_api_lets_a_search_ask() -> None:
    assert MAX_SEARCH == MAX_SEARCH_WINDOW
    assert MEMORY_CAP <= MAX_LIST_WINDOW


def test_review_batches_reports_and_the_audit_trail_are_private(tmp_path: Path) -> None:
    from resync_ext.audit.review_queue import ReviewQueue
    from resync_ext.files import append_private_line
    from resync_ext.reports.store import ReportStore

    data = tmp_path / "data"
    queue = ReviewQueue(data)
    assert _mode(data) == _mode(data / "audit") == _mode(queue.flags_dir) == 0o700
    assert _mode(queue.archive_dir) == 0o700
    name, folder = ReportStore(data / "reports").create("audit_report", {"status": "queued"})
    assert _mode(data / "reports") == _mode(folder) == 0o700
    assert all(_mode(f) == 0o600 for f in folder.iterdir()), name
    trail = data / "audit" / "passes.jsonl"
    append_private_line(trail, '{"audited": 1}')
    append_private_line(trail, '{"audited": 2}')
    assert _mode(trail) == 0o600 and trail.read_text().count("\n") == 2


async def test_an_agent_id_with_spaces_is_a_400_not_a_500(
    jp_fetch: Any, resync_services: Any
) -> None:
    with pytest.raises(HTTPClientError) as exc:
        await jp_fetch("resync", "api", "memories", params={"agent_id": "0 0", "query": "x"})
    assert exc.value.code == 400

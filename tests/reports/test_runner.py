"""ReportRunner with real papermill runs of small notebooks: failures, timeouts, stop, pruning."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from resync_ext.reports.errors import (
    BadReportName,
    ReportFailed,
    ReportNotFound,
    ReportRunning,
    UnknownNotebook,
)
from resync_ext.reports.runner import ReportRunner
from resync_ext.reports.store import ReportStore

REPO = Path(__file__).resolve().parents[2]
CLOSED = ("http://127.0.0.1:9/", "secret-token-xyz")  # discard port: nothing listens


def template(folder: Path, name: str, *sources: str) -> Path:
    """Write a papermill template: a parameters cell, then ``sources`` as code cells."""
    params = new_code_cell("data_path = ''\nreport_name = ''")
    params.metadata["tags"] = ["parameters"]
    cells = [new_markdown_cell(f"# {name}"), params, *(new_code_cell(s) for s in sources)]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def runner(tmp_path: Path, notebooks: Path | None = None, **kw: object) -> ReportRunner:
    return ReportRunner(
        tmp_path / "data",
        notebooks or REPO / "notebooks",
        connection=lambda: CLOSED,
        tws={"url": "http://127.0.0.1:9", "user": "demo", "password": "tws-pass-123"},
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.slow
@pytest.mark.asyncio
async def test_a_failing_cell_is_recorded_with_its_error(tmp_path: Path) -> None:
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    template(
        nbs,
        "boom",
        "import os, sys, time\n"
        "open(data_path, 'w').write(sys.executable + '\\n' + os.environ['RESYNC_TOKEN'])",
        "time.sleep(1.5)",
        "raise ValueError('boom: the report broke')",
        "print('never reached')",
    )
    r = runner(tmp_path, nbs, default_notebook="boom")
    started = await r.start()
    with pytest.raises(ReportRunning):
        await r.get(started["name"], "html")  # 409 while it runs
    final = await asyncio.wait_for(r.wait(started["name"]), 100)

    assert final["status"] == "failed" and final["finished"] and final["duration_s"] > 1
    err = final["error"]
    assert err["ename"] == "ValueError" and err["evalue"] == "boom: the report broke"
    assert "raise ValueError" in err["source"]
    assert set(final["formats"]) == {"html", "ipynb"}
    nb = nbformat.reads((await r.get(started["name"], "ipynb")).decode(), as_version=4)
    assert "raise ValueError" in nb.cells[err["cell"]].source
    assert "boom: the report broke" in (await r.get(started["name"], "html")).decode()
    # The kernel was this interpreter, and it got the token through its environment only.
    folder = r.store.folder(started["name"])
    executable, token = (folder / "data.json").read_text().splitlines()
    assert Path(executable).resolve() == Path(sys.executable).resolve()
    assert token == CLOSED[1]
    for path in folder.iterdir():
        if path.name == "data.json":
            continue  # this test's notebook wrote the token there on purpose
        assert CLOSED[1] not in path.read_text(errors="replace"), path.name
        assert "tws-pass-123" not in path.read_text(errors="replace"), path.name
    assert [x["name"] for x in await r.list()] == [started["name"]]

    with pytest.raises(ReportFailed, match="boom"):
        await asyncio.wait_for(r.scheduled_run(), 100)


@pytest.mark.slow
@pytest.mark.asyncio
async def test_the_audit_report_fails_clearly_when_the_server_is_unreachable(
    tmp_path: Path,
) -> None:
    r = runner(tmp_path)
    started = await r.start()
    final = await asyncio.wait_for(r.wait(started["name"]), 100)
    assert final["status"] == "failed"
    assert final["error"]["ename"] == "ReportDataError"
    assert "cannot reach the Resync server at http://127.0.0.1:9/" in final["error"]["evalue"]


@pytest.mark.slow
@pytest.mark.asyncio
async def test_close_stops_a_running_report_and_records_it(tmp_path: Path) -> None:
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    template(nbs, "slow", "import time\ntime.sleep(120)")
    r = runner(tmp_path, nbs, default_notebook="slow")
    started = await r.start()
    await asyncio.sleep(1.0)
    await asyncio.wait_for(r.close(), 30)
    final = await r.status(started["name"])
    assert final["status"] == "failed" and final["error"]["ename"] == "Interrupted"


@pytest.mark.slow
@pytest.mark.asyncio
async def test_a_run_over_the_timeout_is_killed_and_recorded(tmp_path: Path) -> None:
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    template(nbs, "stuck", "import time\ntime.sleep(120)")
    r = runner(tmp_path, nbs, default_notebook="stuck", timeout_s=2.0)
    started = await r.start()
    final = await asyncio.wait_for(r.wait(started["name"]), 100)
    assert final["status"] == "failed"
    assert final["error"]["ename"] in ("CellTimeoutError", "TimeoutError", "Timeout")


@pytest.mark.asyncio
async def test_names_and_templates_are_validated(tmp_path: Path) -> None:
    r = runner(tmp_path)
    for bad in ("../audit_report", "/etc/passwd", "audit_report/..", "AUDIT", "a b"):
        with pytest.raises(BadReportName):
            await r.start(bad)
    with pytest.raises(UnknownNotebook):
        await r.start("nonexistent")
    for bad in ("..", "../../x", "audit_report", "audit_report-2026-11-24"):
        with pytest.raises(BadReportName):
            await r.get(bad)
    with pytest.raises(ReportNotFound):
        await r.get("audit_report-20261124T060000Z")
    assert await r.list() == []


def test_runbooks_are_report_templates_too(tmp_path: Path) -> None:
    r = runner(tmp_path)
    assert r.template("runbooks/abend_triage")[0] == "abend_triage"
    assert r.template("audit_report.ipynb")[0] == "audit_report"


def _fake_run(store: ReportStore, name: str, status: str, **extra: object) -> None:
    folder = store.root / name
    folder.mkdir(parents=True)
    status_data = {"name": name, "status": status, "host": store.host, **extra}
    (folder / "status.json").write_text(json.dumps(status_data))


def test_prune_keeps_the_newest_and_never_an_active_run(tmp_path: Path) -> None:
    store = ReportStore(tmp_path / "reports")
    names = [f"audit_report-2026112{d}T060000Z" for d in range(1, 6)]
    for name in names:
        _fake_run(store, name, "done")
    removed = store.prune(2, active={names[0]})
    assert sorted(removed) == names[1:3]
    assert store.names() == [names[4], names[3], names[0]]


def test_previous_data_is_the_newest_successful_run_of_the_same_notebook(tmp_path: Path) -> None:
    store = ReportStore(tmp_path / "reports")
    _fake_run(store, "audit_report-20261121T060000Z", "done")
    _fake_run(store, "audit_report-20261122T060000Z", "failed")
    _fake_run(store, "sla_risk-20261122T070000Z", "done")
    for name in store.names():
        (store.root / name / "data.json").write_text("{}")
    found = store.previous_data("audit_report", before="audit_report-20261123T060000Z")
    assert found == store.root / "audit_report-20261121T060000Z" / "data.json"
    assert store.previous_data("audit_report", before="audit_report-20261121T060000Z") is None


def test_a_run_left_running_by_a_dead_server_shows_as_failed(tmp_path: Path) -> None:
    r = runner(tmp_path)
    _fake_run(r.store, "audit_report-20261124T060000Z", "running", server_pid=2**22 + 12345)
    [status] = r._list_sync()
    assert status["status"] == "failed" and status["error"]["ename"] == "Interrupted"
    assert "server_pid" not in status and "host" not in status


class _IdP:
    token = "t0k"


class _Server:
    def __init__(self, ip: str, base_url: str = "/", sock: str = "", certfile: str = "") -> None:
        self.ip, self.port, self.base_url = ip, 8888, base_url
        self.sock, self.certfile = sock, certfile
        self.identity_provider = _IdP()


@pytest.mark.parametrize(
    ("ip", "base_url", "certfile", "url"),
    [
        ("", "/", "", "http://127.0.0.1:8888/"),
        ("0.0.0.0", "/user/ann/", "", "http://127.0.0.1:8888/user/ann/"),
        ("localhost", "/a%40b/", "", "http://127.0.0.1:8888/a%40b/"),
        ("::", "/", "", "http://[::1]:8888/"),
        ("10.1.2.3", "/", "/etc/cert.pem", "https://10.1.2.3:8888/"),
    ],
)
def test_the_kernel_calls_the_server_back_on_a_connectable_url(
    ip: str, base_url: str, certfile: str, url: str
) -> None:
    from resync_ext.reports.factory import server_connection

    assert server_connection(_Server(ip, base_url, certfile=certfile)) == (url, "t0k")


def test_a_tls_server_is_verified_with_its_certificate_or_the_configured_ca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from resync_ext.reports.factory import server_ca_bundle

    monkeypatch.chdir(tmp_path)
    plain = SimpleNamespace(serverapp=_Server(""), server_ca_bundle="/etc/pki/ca.pem")
    assert server_ca_bundle(plain) == "", "plain HTTP: nothing to verify"
    # A relative certfile is made absolute: the report runs in its own folder.
    self_signed = SimpleNamespace(serverapp=_Server("", certfile="cert.pem"), server_ca_bundle="")
    assert server_ca_bundle(self_signed) == str(tmp_path / "cert.pem")
    private_ca = SimpleNamespace(
        serverapp=_Server("", certfile="cert.pem"), server_ca_bundle="/etc/pki/ca.pem"
    )
    assert server_ca_bundle(private_ca) == "/etc/pki/ca.pem"


def test_the_server_ca_reaches_the_report_through_its_environment_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESYNC_SERVER_CA_BUNDLE", "/inherited/by/the/server.pem")
    assert runner(tmp_path)._child_env()["RESYNC_SERVER_CA_BUNDLE"] == ""
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    template(nbs, "empty")
    r = runner(tmp_path, nbs, server_ca_bundle="/etc/pki/ca.pem")
    assert r._child_env()["RESYNC_SERVER_CA_BUNDLE"] == "/etc/pki/ca.pem"
    # Not in the spec the report process reads its parameters from.
    stem, path = r.template("empty")
    folder = tmp_path / "out"
    folder.mkdir()
    spec = r._write_spec("empty-20261124T060000Z", stem, path, folder, {})
    assert "ca.pem" not in spec.read_text() and "RESYNC_SERVER_CA_BUNDLE" not in spec.read_text()


def test_a_unix_socket_server_is_refused_clearly() -> None:
    from resync_ext.reports.errors import ReportError
    from resync_ext.reports.factory import server_connection

    with pytest.raises(ReportError, match="UNIX socket"):
        server_connection(_Server("", sock="/tmp/jupyter.sock"))

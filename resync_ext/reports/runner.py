"""ReportRunner: run report notebooks with papermill in a separate process, keep the last N.

``start`` answers at once with the new report's name; the run itself is a task on the server's
loop that only waits on a child process (``python -m resync_ext.reports.execute``), so the loop
never blocks on the kernel, papermill or nbconvert. Runs go one at a time (two CPU cores are
shared with everything else); later ones wait as ``queued``. The report calls the server back
with the URL and token given by ``connection`` (verifying a TLS server against
``server_ca_bundle``) and reads TWS with ``tws``: all reach the kernel through its environment,
never through the saved notebook or the command line.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from resync_ext.redact import mask_obj

from .errors import (
    BadParameters,
    BadReportName,
    ReportFailed,
    ReportNotFound,
    ReportRunning,
    UnknownNotebook,
)
from .store import ACTIVE, DATA_FILE, ReportStore, check_name, utc_now

NOTEBOOK = re.compile(r"(?:(?P<dir>runbooks)/)?(?P<stem>[a-z][a-z0-9_]{0,63})(?:\.ipynb)?")
PARAM_NAME = re.compile(r"[a-z_][a-z0-9_]{0,63}")
SECRET_NAME = re.compile(r"token|passw|pwd|secret|api_?key|credential", re.IGNORECASE)
#: Parameters the runner sets itself; a request may not override them.
RESERVED = frozenset(
    {"server_url", "tws_url", "tws_user", "tws_verify", "tws_ca_bundle"}
    | {"data_path", "previous_report", "report_name"}
)
MAX_PARAMS, MAX_TEXT, MAX_LIST = 32, 2000, 100
KILL_GRACE_S = 5.0


def check_parameters(parameters: dict[str, Any] | None) -> dict[str, Any]:
    """Return user parameters if they are few plain values under ordinary names, else 400."""
    params = dict(parameters or {})
    if len(params) > MAX_PARAMS:
        raise BadParameters(f"at most {MAX_PARAMS} parameters")
    for key, value in params.items():
        if not isinstance(key, str) or PARAM_NAME.fullmatch(key) is None:
            raise BadParameters(f"parameter name {key!r} is not a lower-case identifier")
        if key in RESERVED:
            raise BadParameters(f"parameter {key} is set by the server and cannot be given")
        if SECRET_NAME.search(key):
            raise BadParameters(f"parameter {key} looks like a secret: secrets are never passed")
        values = value if isinstance(value, list) else [value]
        if len(values) > MAX_LIST or not all(_plain(v) for v in values):
            raise BadParameters(f"parameter {key}: only numbers, strings, booleans or short lists")
    return params


def _plain(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= MAX_TEXT
    return value is None or isinstance(value, bool | int | float)


class ReportRunner:
    """Start, list and serve report runs of the notebook templates in ``notebooks_dir``."""

    def __init__(
        self,
        data_dir: Path,
        notebooks_dir: Path,
        *,
        connection: Callable[[], tuple[str, str]],
        tws: dict[str, Any],
        server_ca_bundle: str = "",
        keep: int = 30,
        timeout_s: float = 900.0,
        default_notebook: str = "audit_report",
        kernel: str = "python3",
        log: logging.Logger | None = None,
    ) -> None:
        self.store = ReportStore(Path(data_dir).resolve() / "reports")
        self.notebooks_dir = Path(notebooks_dir).resolve()
        self.connection = connection
        self.tws = dict(tws)
        self.server_ca_bundle = server_ca_bundle
        self.keep = keep
        self.timeout_s = timeout_s
        self.default_notebook = default_notebook
        self.kernel = kernel
        self.log = log or logging.getLogger("resync_ext.reports")
        self._tasks: dict[str, asyncio.Task[dict[str, Any]]] = {}
        self._one_at_a_time = asyncio.Semaphore(1)

    # -- templates ------------------------------------------------------------------------------
    def template(self, notebook: str) -> tuple[str, Path]:
        """Return the stem and path of an allowed template (400 bad name, 404 unknown)."""
        m = NOTEBOOK.fullmatch(notebook) if isinstance(notebook, str) else None
        if m is None:
            raise BadReportName(f"{notebook!r} is not a notebook name like 'audit_report'")
        folder = self.notebooks_dir / m["dir"] if m["dir"] else self.notebooks_dir
        path = folder / f"{m['stem']}.ipynb"
        if not path.is_file() or not _has_parameters_cell(path):
            raise UnknownNotebook(f"no report notebook {notebook!r} in {self.notebooks_dir}")
        return m["stem"], path

    # -- API ------------------------------------------------------------------------------------
    async def start(
        self, notebook: str | None = None, parameters: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Start a run of ``notebook`` (the audit report by default); answer its name and status."""
        params = check_parameters(parameters)
        stem, path = await asyncio.to_thread(self.template, notebook or self.default_notebook)
        status = {
            "notebook": str(path.relative_to(self.notebooks_dir).with_suffix("")),
            "status": "queued",
            "created": utc_now().isoformat(),
            "parameters": mask_obj(params),
            "server_pid": os.getpid(),
        }
        name, folder = await asyncio.to_thread(self.store.create, stem, status)
        task = asyncio.create_task(
            self._run(name, stem, path, folder, params), name=f"report-{name}"
        )
        self._tasks[name] = task
        task.add_done_callback(lambda _t: self._tasks.pop(name, None))
        self.log.info("report %s queued (%s)", name, status["notebook"])
        return {"name": name, "status": "queued" if self._one_at_a_time.locked() else "running"}

    async def list(self) -> list[dict[str, Any]]:
        """Return every kept report's status, newest first."""
        return await asyncio.to_thread(self._list_sync)

    def _list_sync(self) -> builtins.list[dict[str, Any]]:
        out = []
        for name in self.store.names():
            with contextlib.suppress(Exception):
                out.append(self._status_sync(name))
        return out

    def _status_sync(self, name: str) -> dict[str, Any]:
        status = self.store.read_status(name)
        if self.store.is_orphan(status, set(self._tasks)):
            status = self.store.update_status(
                name,
                status="failed",
                finished=utc_now().isoformat(),
                error={"cell": None, "ename": "Interrupted", "evalue": "the server stopped"},
            )
        status.pop("host", None)
        status.pop("server_pid", None)
        return status

    async def status(self, name: str) -> dict[str, Any]:
        """Return the status of one report (400 bad name, 404 unknown)."""
        return await asyncio.to_thread(self._status_sync, check_name(name))

    async def get(self, name: str, fmt: Literal["html", "ipynb"] = "html") -> bytes:
        """Return the executed report as HTML or ipynb (409 while it runs, 404 if absent)."""
        if fmt not in ("html", "ipynb"):
            raise BadParameters(f"format must be html or ipynb, not {fmt!r}")
        status = await self.status(name)
        if status["status"] in ACTIVE:
            raise ReportRunning(f"report {name} is still {status['status']}")
        path = self.store.folder(name) / f"{name}.{fmt}"
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError as e:
            raise ReportNotFound(f"report {name} has no {fmt} output") from e

    async def wait(self, name: str) -> dict[str, Any]:
        """Wait for a run started here to end; return its final status."""
        task = self._tasks.get(check_name(name))
        if task is not None:
            await asyncio.shield(task)
        return await self.status(name)

    async def scheduled_run(self) -> None:
        """Run the default report to the end (the scheduler's job); raise if it failed."""
        started = await self.start()
        final = await self.wait(started["name"])
        if final["status"] != "done":
            err = final.get("error") or {}
            raise ReportFailed(
                f"report {started['name']} failed: {err.get('ename')}: {err.get('evalue')}"
            )

    async def close(self) -> None:
        """Cancel the runs in progress (their processes are killed and recorded as failed)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task

    # -- one run --------------------------------------------------------------------------------
    async def _run(
        self, name: str, stem: str, path: Path, folder: Path, params: dict[str, Any]
    ) -> dict[str, Any]:
        async with self._one_at_a_time:
            return await self._execute(name, stem, path, folder, params)

    async def _execute(
        self, name: str, stem: str, path: Path, folder: Path, params: dict[str, Any]
    ) -> dict[str, Any]:
        t0 = time.perf_counter()
        started = utc_now().isoformat()
        await asyncio.to_thread(self.store.update_status, name, status="running", started=started)
        result: dict[str, Any]
        try:
            spec_path = await asyncio.to_thread(self._write_spec, name, stem, path, folder, params)
            result = await self._child(spec_path, folder)
        except asyncio.CancelledError:
            await asyncio.to_thread(
                self._finish, name, t0, {"ok": False, "error": _error("Interrupted", "stopped")}
            )
            raise
        except Exception as e:  # the server could not even start the run: record it
            self.log.exception("report %s could not run", name)
            result = {"ok": False, "error": _error(type(e).__name__, str(e))}
        final = await asyncio.to_thread(self._finish, name, t0, result)
        if final["status"] == "done":
            self.log.info("report %s done in %.1fs", name, final["duration_s"])
        else:
            err = final.get("error") or {}
            self.log.warning(
                "report %s failed (cell %s): %s: %s",
                name,
                err.get("cell"),
                err.get("ename"),
                err.get("evalue"),
            )
        return final

    def _write_spec(
        self, name: str, stem: str, path: Path, folder: Path, params: dict[str, Any]
    ) -> Path:
        previous = self.store.previous_data(stem, before=name)
        server_url, _token = self.connection()
        parameters = {
            **params,
            "server_url": server_url,
            "tws_url": self.tws.get("url") or "",
            "report_name": name,
            "data_path": str(folder / DATA_FILE),
            "previous_report": str(previous) if previous else "",
        }
        spec = {
            "input": str(path),
            "output": str(folder / f"{name}.ipynb"),
            "html": str(folder / f"{name}.html"),
            "result": str(folder / "result.json"),
            "parameters": parameters,
            "kernel": self.kernel,
            "cell_timeout": self.timeout_s,
            "cwd": str(folder),
            "title": name,
            "show_code": bool(params.get("show_code", False)),
        }
        spec_path = folder / "spec.json"
        spec_path.write_text(json.dumps(spec, indent=1), encoding="utf-8")
        return spec_path

    def _child_env(self) -> dict[str, str]:
        server_url, token = self.connection()
        env = dict(os.environ)
        env.update({"RESYNC_URL": server_url, "RESYNC_TOKEN": token or ""})
        # The kernel verifies an https server against this file (its system CAs when empty).
        env["RESYNC_SERVER_CA_BUNDLE"] = self.server_ca_bundle
        tws = self.tws
        for key, var in (
            ("url", "RESYNC_TWS_URL"),
            ("user", "RESYNC_TWS_USER"),
            ("password", "RESYNC_TWS_PASSWORD"),
            ("api_key", "RESYNC_TWS_API_KEY"),
            ("ca_bundle", "RESYNC_TWS_CA_BUNDLE"),
        ):
            env[var] = str(tws.get(key) or "")
        env["RESYNC_TWS_VERIFY"] = "true" if tws.get("verify", True) else "false"
        # The kernel must be this interpreter (it imports resync_ext): put this environment's
        # kernel specs ahead of a user-level "python3" that may point at another Python.
        share = str(Path(sys.prefix) / "share" / "jupyter")
        env["JUPYTER_PATH"] = os.pathsep.join(p for p in (share, env.get("JUPYTER_PATH")) if p)
        env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        return env

    async def _child(self, spec_path: Path, folder: Path) -> dict[str, Any]:
        log_file = await asyncio.to_thread(open, folder / "run.log", "wb")
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "resync_ext.reports.execute",
                str(spec_path),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                env=self._child_env(),
                cwd=str(folder),
                start_new_session=True,  # its own process group: a kill takes the kernel too
            )
            try:
                await asyncio.wait_for(proc.wait(), self.timeout_s + 60.0)
            except TimeoutError:
                await _kill(proc)
                return {
                    "ok": False,
                    "error": _error("Timeout", f"the report ran over {self.timeout_s:g}s"),
                }
            except asyncio.CancelledError:
                await _kill(proc)
                raise
        finally:
            log_file.close()
        result_path = folder / "result.json"
        try:
            text = await asyncio.to_thread(result_path.read_text, encoding="utf-8")
            result: dict[str, Any] = json.loads(text)
        except (OSError, ValueError):
            tail = await asyncio.to_thread(_tail, folder / "run.log")
            return {
                "ok": False,
                "error": _error("ReportProcessError", tail or f"exit {proc.returncode}"),
            }
        return result

    def _finish(self, name: str, t0: float, result: dict[str, Any]) -> dict[str, Any]:
        folder = self.store.folder(name)
        with contextlib.suppress(FileNotFoundError):
            (folder / "spec.json").unlink()
        status = self.store.update_status(
            name,
            status="done" if result.get("ok") else "failed",
            finished=utc_now().isoformat(),
            duration_s=round(time.perf_counter() - t0, 2),
            error=result.get("error"),
            html_error=result.get("html_error"),
            formats=[f for f in ("html", "ipynb") if (folder / f"{name}.{f}").is_file()],
        )
        removed = self.store.prune(self.keep, set(self._tasks) - {name})
        if removed:
            self.log.info("reports: removed %d old report(s)", len(removed))
        return status


def _error(ename: str, evalue: str) -> dict[str, Any]:
    return {"cell": None, "ename": ename, "evalue": evalue}


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _has_parameters_cell(path: Path) -> bool:
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return any(
        "parameters" in (cell.get("metadata", {}).get("tags") or []) for cell in nb.get("cells", [])
    )


async def _kill(proc: asyncio.subprocess.Process) -> None:
    """End the report process and its kernel (its whole process group)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            await asyncio.wait_for(proc.wait(), KILL_GRACE_S)
            return
        except TimeoutError:
            continue

"""A real Jupyter server (or JupyterLab) with Resync in a subprocess, as a user's kernel sees it.

The TWS simulator (demo scenario) and the loopback LM run in threads of the test process; the
server reaches them over loopback through the same ``ResyncApp`` settings a user sets. The LM is
the only scripted part: troubleshooting prompts get ``ANSWER`` streamed word by word (asked only
where no known issue applies, e.g. ``MODEL_QUESTION``), judge
prompts get ``VERDICT`` (or, with ``LoopbackLM.judge = "down"``, a dropped connection, which
leaves memories ``new`` for one audit pass to file them all into one batch: ``seed_batch``;
``judge_delay_s`` makes each verdict take that long, to watch a pass while it runs).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from resync_ext.kernel.client import ResyncClient
from resync_ext.tws.simulator.testing import run_in_thread
from tests.llm.openai_stub import OpenAIStub

REPO = Path(__file__).resolve().parents[3]
#: The model is asked only where no known issue applies (a known issue's steps are written by
#: code): on the demo night, about the long-running ``FACT_SALES_LOAD`` (``MODEL_QUESTION``).
MODEL_QUESTION = "Why has FACT_SALES_LOAD not finished?"
ANSWER = (
    "**FACT_SALES_LOAD** runs far past its estimate: a lock on its table may hold it.\n\n"
    "1. Ask the DBA which session holds the lock (`v$session`).\n"
    "2. Let the load finish, or have the blocking session ended, then watch the job."
)
#: The judge as the LM alone: the loopback LM's verdicts are the auditor's. The default judge
#: starts from deterministic checks that the scripted answer passes; panel tests test the panel.
LM_JUDGE = {"ResyncApp.judge_class": "resync_ext.audit.judge.LMJudge"}
VERDICT = {
    "verdict": "suspicious",
    "confidence": 0.6,
    "reason": "The rerun advice is not backed by the job log.",
}


@dataclass
class LoopbackLM:
    """The scripted LM: answers troubleshooting prompts, judges as told, counts its calls."""

    judge: str = "suspicious"  # or "down": the judge's connection drops (not cached by DSPy)
    judge_calls: int = 0
    chat_calls: int = 0  # the troubleshooting prompts answered
    judge_delay_s: float = 0.0
    #: A question's words → the verdict given on it (others get ``VERDICT``).
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    slow_s: float = 5.0

    def __call__(self, body: dict[str, Any]) -> str:
        prompt = json.dumps(body.get("messages", []))
        if "Audit an answer" in prompt:
            self.judge_calls += 1
            if self.judge == "down":
                raise ConnectionAbortedError("the loopback judge is down")
            time.sleep(self.judge_delay_s)
            found = (v for words, v in self.verdicts.items() if words in prompt)
            return json.dumps(next(found, VERDICT))
        self.chat_calls += 1
        if "SLOW" in str(body["messages"][-1].get("content")):
            time.sleep(self.slow_s)
        return ANSWER


@dataclass
class RunningServer:
    """What a test needs of the running server."""

    url: str
    token: str
    sim: Any
    lm: LoopbackLM
    stub: OpenAIStub
    proc: subprocess.Popen[bytes]
    data_dir: Path
    runtime_dir: Path
    log_path: Path
    agents_config: Path
    env: dict[str, str] = field(default_factory=dict)

    def client(self) -> ResyncClient:
        """A client pointed at this server."""
        return ResyncClient(self.url, self.token)

    def log(self) -> str:
        """The server's output so far (for failure messages)."""
        return self.log_path.read_text(errors="replace")[-6000:]


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(path: Path, **values: Any) -> None:
    lines = [f"c.{key} = {value!r}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n")


def _wait_ready(server: RunningServer, timeout: float = 150.0) -> None:
    """Wait until the server answers and its memory store is open."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(f"the server exited ({server.proc.returncode}):\n{server.log()}")
        try:
            resp = httpx.get(
                f"{server.url}resync/api/health",
                headers={"Authorization": f"token {server.token}"},
                timeout=5,
            )
            last = resp.text
            if resp.status_code == 200 and resp.json()["checks"]["memory"]["ok"]:
                return
        except httpx.HTTPError as e:
            last = repr(e)
        time.sleep(0.5)
    raise AssertionError(f"the server was not ready in {timeout:g}s: {last}\n{server.log()}")


@contextmanager
def resync_server(
    base: Path,
    *,
    app: str = "server",
    root_dir: Path | None = None,
    extra: dict[str, Any] | None = None,
) -> Iterator[RunningServer]:
    """Start ``jupyter server`` (or ``lab``) with Resync, the simulator and the loopback LM."""
    lm = LoopbackLM()
    with run_in_thread("demo") as sim, OpenAIStub(reply=lm) as stub:
        # The judge's dropped connections are on purpose: no traceback on stderr for each.
        stub._server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        port, token = free_port(), secrets.token_hex(16)
        dirs = {name: base / name for name in ("data", "runtime", "config", "ipython")}
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        agents_config = dirs["config"] / "runtime.json"
        shutil.copy(REPO / "config" / "runtime.json", agents_config)
        config = base / "server_config.py"
        _config(
            config,
            **{
                "ServerApp.ip": "127.0.0.1",
                "ServerApp.port": port,
                "ServerApp.port_retries": 0,
                "ServerApp.open_browser": False,
                "ServerApp.allow_root": True,
                "IdentityProvider.token": token,
                "ServerApp.root_dir": str(root_dir or base),
                "ServerApp.jpserver_extensions": {"resync_ext": True},
                "ResyncApp.data_dir": str(dirs["data"]),
                "ResyncApp.tws_url": sim.url,
                "ResyncApp.lm_model": "openai/stub-model",
                "ResyncApp.lm_api_base": stub.base_url,
                "ResyncApp.lm_api_key": "sk-test-key",
                "ResyncApp.lm_timeout": 30.0,
                "ResyncApp.open_memory": True,
                "ResyncApp.audit_interval_min": 0.0,
                # The panels review what the scripted judge doubts (0.2 to 0.85): trusted as a
                # capable judge LM is, its doubt alone reaches the queue (the default: from 0.6).
                "ResyncApp.audit_flag_confidence": 0.1,
                "ResyncApp.report_cron": "",
                "ResyncApp.agents_config": str(agents_config),
                **(extra or {}),
            },
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RESYNC_", "JUPYTER_"))}
        env.update(
            HF_HUB_OFFLINE="1",
            MEM0_TELEMETRY="False",
            JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
            JUPYTER_CONFIG_DIR=str(dirs["config"]),
            IPYTHONDIR=str(dirs["ipython"]),
            JUPYTER_PLATFORM_DIRS="1",
            PYTHONPATH=str(REPO),
        )
        module = {"server": "jupyter_server", "lab": "jupyterlab"}[app]
        log_path = base / f"{app}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", module, f"--config={config}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=str(root_dir or base),
            )
        server = RunningServer(
            url=f"http://127.0.0.1:{port}/",
            token=token,
            sim=sim,
            lm=lm,
            stub=stub,
            proc=proc,
            data_dir=dirs["data"],
            runtime_dir=dirs["runtime"],
            log_path=log_path,
            agents_config=agents_config,
            env=env,
        )
        try:
            _wait_ready(server)
            yield server
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


async def chat_turn(client: ResyncClient, agent_id: str, question: str) -> list[dict[str, Any]]:
    """Ask one question over the chat socket; return the turn's frames (the last is final)."""
    async with client.chat(agent_id) as conn:
        await conn.ask("seed", question)
        async with asyncio.timeout(90):
            return [frame async for frame in conn.turn_frames("seed")]


async def remember_unaudited(server: RunningServer, turns: list[tuple[str, str]]) -> list[str]:
    """Remember one turn per ``(agent, question)``, left ``new``: their background audits fail."""
    server.lm.judge = "down"
    try:
        with server.client() as client:
            ids = []
            for agent_id, question in turns:
                final = (await chat_turn(client, agent_id, question))[-1]
                assert final["type"] == "final" and final["memory_id"], final
                ids.append(final["memory_id"])
        # The background audits (2 s after the turns, each call retried with back-off) fail and
        # leave the memories new. Wait for the server to log each one's failure, so none is
        # still claimed by them when the test runs its pass (a quiet spell of the judge is no
        # sign: the LM client's retries back off longer than any fixed spell).
        async with asyncio.timeout(120):
            while [i for i in ids if f"auditor: {i} stays new" not in _log(server)]:
                await asyncio.sleep(0.2)
    finally:
        server.lm.judge = "suspicious"
    return ids


def _log(server: RunningServer) -> str:
    """The server's whole output so far."""
    return server.log_path.read_text(errors="replace")


async def seed_batch(server: RunningServer, turns: list[tuple[str, str]]) -> tuple[str, list[str]]:
    """Remember one turn per ``(agent, question)`` and flag them all into one review batch."""
    ids = await remember_unaudited(server, turns)
    with server.client() as client:
        summary = await asyncio.to_thread(client.run_audit)
        batch = await asyncio.to_thread(client.batch, summary["batch"])
    assert set(ids) <= {i["memory_id"] for i in batch["items"]}, (summary, ids)
    return str(summary["batch"]), ids

"""Run the simulator in a background thread with its own event loop (tests, notebooks, benches).

``run_in_thread`` suits code that cannot share the simulator's loop: synchronous tests, handler
tests running inside pytest-jupyter's loop, benchmarks. Every call on the handle is thread-safe:
it runs on the simulator's loop and waits for the result::

    with run_in_thread("demo", api_key="k") as sim:
        httpx.get(f"{sim.url}/twsd/api/v2/engine/info", auth=(sim.user, sim.password))
        sim.set_faults(latency_ms=200)
        assert sim.calls()[-1]["path"].endswith("/engine/info")
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from resync_ext.tws.simulator.plan import Plan
from resync_ext.tws.simulator.scenario import ScenarioSpec
from resync_ext.tws.simulator.server import RunningSimulator, start_simulator, tls_context

T = TypeVar("T")
_START_TIMEOUT = 120.0


class ThreadedSimulator:
    """A simulator serving from a background thread; methods are safe to call from any thread."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, running: RunningSimulator, thread: threading.Thread
    ) -> None:
        self._loop = loop
        self._running = running
        self._thread = thread
        self.url = running.url
        self.host = running.host
        self.port = running.port
        self.user = running.user
        self.password = running.password
        self.api_key = running.api_key
        self.strict = running.state.strict

    def _call(self, fn: Callable[[], T]) -> T:
        async def run() -> T:
            return fn()

        return self._await(run())

    def _await(self, coro: Awaitable[T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]
        return future.result(timeout=_START_TIMEOUT)

    @property
    def plan(self) -> Plan:
        """Return the plan served (read it under ``plan.lock`` from another thread)."""
        return self._running.plan

    @property
    def auth(self) -> tuple[str, str]:
        """Return the Basic credentials as an httpx ``auth`` tuple."""
        return (self.user, self.password)

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Update some faults (validated like ``PUT /twsim/faults``) and return them all."""

        def apply() -> dict[str, Any]:
            self._running.faults.update(faults)
            return self._running.faults.as_dict()

        return self._call(apply)

    def clear_faults(self) -> None:
        """Remove every fault."""
        from resync_ext.tws.simulator.control import Faults

        self._call(lambda: setattr(self._running.state, "faults", Faults()))

    def faults(self) -> dict[str, Any]:
        """Return the active faults."""
        return self._call(self._running.faults.as_dict)

    def calls(self) -> list[dict[str, Any]]:
        """Return the HWA calls received, oldest first."""
        return self._call(self._running.calls.list)

    def clear_calls(self) -> None:
        """Forget the recorded calls."""
        self._call(self._running.calls.clear)

    def reset(self) -> None:
        """Reload the scenario (undo actions) and clear faults and calls."""
        self._await(self._running.reset())

    def stop(self) -> None:
        """Stop serving and end the thread (idempotent)."""
        if not self._thread.is_alive():
            return
        try:
            self._await(self._running.stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)


def start_in_thread(
    scenario: str | Path | dict[str, Any] | ScenarioSpec = "demo",
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    user: str = "demo",
    password: str = "demo",
    api_key: str | None = None,
    now: str | None = None,
    certfile: str | Path | None = None,
    keyfile: str | Path | None = None,
    strict: bool = True,
) -> ThreadedSimulator:
    """Start a simulator in a new thread and return once it is serving (call ``stop()``)."""
    ready: Future[ThreadedSimulator] = Future()

    def main() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            context = tls_context(certfile, keyfile) if certfile else None
            running = loop.run_until_complete(
                start_simulator(
                    scenario,
                    host=host,
                    port=port,
                    user=user,
                    password=password,
                    api_key=api_key,
                    now=now,
                    ssl_context=context,
                    strict=strict,
                )
            )
        except BaseException as e:  # hand any start failure to the waiting caller
            ready.set_exception(e)
            loop.close()
            return
        ready.set_result(ThreadedSimulator(loop, running, threading.current_thread()))
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=main, name="resync-twsim", daemon=True)
    thread.start()
    return ready.result(timeout=_START_TIMEOUT)


@contextmanager
def run_in_thread(
    scenario: str | Path | dict[str, Any] | ScenarioSpec = "demo", **options: Any
) -> Iterator[ThreadedSimulator]:
    """Serve ``scenario`` from a background thread for the duration of a ``with`` block."""
    sim = start_in_thread(scenario, **options)
    try:
        yield sim
    finally:
        sim.stop()

"""The simulator's Tornado application, its control plane and the programmatic starter.

``await start_simulator("demo", port=0)`` serves a scenario on loopback inside the running
event loop and returns a :class:`RunningSimulator` (``url``, ``plan``, ``faults``, ``calls``,
``stop()``). Tests that cannot share an asyncio loop use ``testing.run_in_thread`` instead.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from pathlib import Path
from typing import Any

from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from resync_ext.tws.simulator.base import BaseHandler, SimulatorState, UnknownPathHandler
from resync_ext.tws.simulator.control import CallLog, Faults
from resync_ext.tws.simulator.handlers import hwa_routes
from resync_ext.tws.simulator.plan import Plan
from resync_ext.tws.simulator.scenario import ScenarioSpec, load_scenario

log = logging.getLogger("resync_ext.tws.simulator")


class FaultsHandler(BaseHandler):
    """GET / PUT (partial) / DELETE /twsim/faults."""

    def get(self) -> None:
        """Return the active faults."""
        self.write_json(self.sim.faults.as_dict())

    def put(self) -> None:
        """Update some faults; 400 on an unknown key or a bad value."""
        self.sim.faults.update(self.body_json())
        log.info("faults now %s", self.sim.faults.as_dict())
        self.write_json(self.sim.faults.as_dict())

    def delete(self) -> None:
        """Clear every fault."""
        self.sim.faults = Faults()
        self.write_json(self.sim.faults.as_dict())


class CallsHandler(BaseHandler):
    """GET / DELETE /twsim/calls."""

    def get(self) -> None:
        """Return ``{"calls": [{method, path, query, params, auth, time, status}]}``."""
        self.write_json({"calls": self.sim.calls.list()})

    def delete(self) -> None:
        """Forget the recorded calls."""
        self.sim.calls.clear()
        self.set_status(204)
        self.finish()


class ResetHandler(BaseHandler):
    """POST /twsim/reset: reload the scenario, clear faults and calls."""

    async def post(self) -> None:
        """Rebuild the plan off the event loop, then swap it in."""
        plan = await asyncio.to_thread(self.sim.rebuilt)
        self.sim.reset(plan)
        self.write_json(scenario_summary(self.sim))


class ScenarioHandler(BaseHandler):
    """GET /twsim/scenario: what is served."""

    def get(self) -> None:
        """Return the scenario name, clock and sizes."""
        self.write_json(scenario_summary(self.sim))


def scenario_summary(sim: SimulatorState) -> dict[str, Any]:
    """Summarise the served scenario."""
    plan = sim.plan
    return {
        "name": plan.name,
        "now": plan.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "planId": plan.plan_id,
        "previousPlanId": sim.previous.plan_id if sim.previous else None,
        "strict": sim.strict,
        "jobs": len(plan.jobs),
        "jobStreams": len(plan.streams),
        "workstations": len(plan.workstations),
        "resources": len(plan.resources),
    }


def make_app(state: SimulatorState) -> web.Application:
    """Build the Tornado application over a simulator state."""
    routes: list[Any] = [
        (r"/twsim/faults", FaultsHandler),
        (r"/twsim/calls", CallsHandler),
        (r"/twsim/reset", ResetHandler),
        (r"/twsim/scenario", ScenarioHandler),
        *hwa_routes(),
    ]
    return web.Application(
        routes,
        twsim=state,
        default_handler_class=UnknownPathHandler,
        compress_response=False,
        log_function=_log_request,
    )


def _log_request(handler: web.RequestHandler) -> None:
    log.debug(
        "%d %s %.1fms",
        handler.get_status(),
        handler.request.path,
        1000 * handler.request.request_time(),
    )


def tls_context(certfile: str | Path, keyfile: str | Path | None = None) -> ssl.SSLContext:
    """Return a server TLS context from a certificate chain and key (PEM)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certfile), str(keyfile) if keyfile else None)
    return context


class RunningSimulator:
    """A simulator serving on a socket: its URL, state and a way to stop it."""

    def __init__(
        self, server: HTTPServer, state: SimulatorState, host: str, port: int, scheme: str
    ) -> None:
        self._server = server
        self.state = state
        self.host = host
        self.port = port
        self.url = f"{scheme}://{host}:{port}"

    @property
    def plan(self) -> Plan:
        """Return the plan being served."""
        return self.state.plan

    @property
    def faults(self) -> Faults:
        """Return the active faults (mutable)."""
        return self.state.faults

    @property
    def calls(self) -> CallLog:
        """Return the log of HWA calls received."""
        return self.state.calls

    @property
    def user(self) -> str:
        """Return the Basic user."""
        return self.state.user

    @property
    def password(self) -> str:
        """Return the Basic password."""
        return self.state.password

    @property
    def api_key(self) -> str | None:
        """Return the bearer API key (None: bearer auth refused)."""
        return self.state.api_key

    async def reset(self) -> None:
        """Reload the scenario and clear faults and calls."""
        self.state.reset(await asyncio.to_thread(self.state.rebuilt))

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        self._server.stop()
        await self._server.close_all_connections()


async def start_simulator(
    scenario: str | Path | dict[str, Any] | ScenarioSpec = "demo",
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    user: str = "demo",
    password: str = "demo",
    api_key: str | None = None,
    now: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
    strict: bool = True,
) -> RunningSimulator:
    """Load ``scenario`` and serve it on ``host:port`` (0: a free port) in the running loop.

    ``strict`` (the default) holds requests and answers to the product's document: 406 when
    ``Accept`` excludes what an endpoint serves, 400 without a required parameter, no ``null``
    (see strict.py); ``strict=False`` answers as leniently as the first simulator did.
    """
    spec = await asyncio.to_thread(load_scenario, scenario)
    state = await asyncio.to_thread(SimulatorState, spec, now, user, password, api_key, strict)
    server = HTTPServer(make_app(state), ssl_options=ssl_context)
    sockets = bind_sockets(port, address=host)
    server.add_sockets(sockets)
    actual = sockets[0].getsockname()[1]
    scheme = "https" if ssl_context else "http"
    log.info(
        "serving scenario %s (%d jobs) on %s://%s:%d",
        spec.name,
        len(state.plan.jobs),
        scheme,
        host,
        actual,
    )
    return RunningSimulator(server, state, host, actual, scheme)

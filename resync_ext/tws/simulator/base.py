"""Shared server state and the base request handlers (JSON errors, faults, authentication)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import random
from typing import Any

from tornado import httputil, web

from resync_ext.tws.simulator.control import CallLog, Faults
from resync_ext.tws.simulator.errors import (
    BadRequest,
    InjectedError,
    NotAcceptable,
    NotFound,
    SimulatorError,
    Unauthorized,
)
from resync_ext.tws.simulator.plan import Plan
from resync_ext.tws.simulator.scenario import ScenarioSpec, previous_spec
from resync_ext.tws.simulator.strict import JSON, accepts, without_nulls


class SimulatorState:
    """Hold what the server serves: the plan, the faults, the call log and the credentials."""

    def __init__(
        self,
        spec: ScenarioSpec,
        now: str | None = None,
        user: str = "demo",
        password: str = "demo",
        api_key: str | None = None,
        strict: bool = True,
    ) -> None:
        self.spec = spec
        self.now = now
        self.user = user
        self.password = password
        self.api_key = api_key
        #: hold requests and answers to the document (see strict.py)
        self.strict = strict
        self.plan = Plan(spec, now)
        self.previous = self._previous()
        self.faults = Faults(**spec.faults.model_dump())
        self.calls = CallLog()

    def _previous(self) -> Plan | None:
        prev = previous_spec(self.spec)
        return Plan(prev) if prev is not None else None

    def rebuilt(self) -> Plan:
        """Build a fresh plan from the scenario (blocking; run it off the event loop)."""
        return Plan(self.spec, self.now)

    def reset(self, plan: Plan) -> None:
        """Serve ``plan`` and forget faults and calls."""
        self.plan = plan
        self.faults = Faults(**self.spec.faults.model_dump())
        self.calls.clear()

    def plan_by_id(self, plan_id: str) -> Plan:
        """Return the current plan (``current`` or its id) or the previous one by its id."""
        if plan_id in ("current", self.plan.plan_id):
            return self.plan
        if self.previous is not None and plan_id == self.previous.plan_id:
            return self.previous
        raise NotFound(f"The plan {plan_id} was not found.")


class BaseHandler(web.RequestHandler):
    """Answer JSON, and errors as the product does: ``{"exceptionName", "messages"}``."""

    def set_default_headers(self) -> None:
        """Date the answer by the plan's clock, as an engine dates it by its own: a client
        telling how long ago something happened must not use a clock the plan does not run on."""
        self.set_header("Date", httputil.format_timestamp(self.sim.plan.now))

    @property
    def sim(self) -> SimulatorState:
        """Return the simulator state."""
        state: SimulatorState = self.settings["twsim"]
        return state

    def write_json(self, obj: Any, status: int = 200) -> None:
        """Finish the request with a JSON body."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json;charset=UTF-8")
        self.finish(json.dumps(obj, separators=(",", ":")))

    def body_json(self) -> Any:
        """Return the request body parsed as JSON ({} when empty)."""
        from resync_ext.tws.simulator.control import parse_json_body

        return parse_json_body(self.request.body)

    def int_arg(self, name: str, default: int | None, low: int = 0) -> int | None:
        """Return an integer query argument (BadRequest when it is not one)."""
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError as e:
            raise BadRequest(f"The parameter {name} must be an integer, not {raw!r}.") from e
        if value < low:
            raise BadRequest(f"The parameter {name} must be at least {low}.")
        return value

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Render any error as the product's JSON error body."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        name = "com.ibm.tws.conn.exception.ConnException"
        if isinstance(exc, SimulatorError):
            status_code, name, message = exc.status, exc.exception_name, exc.message
        elif isinstance(exc, web.HTTPError):
            message = exc.log_message or self._reason
        else:
            message = self._reason
        self.set_status(status_code)
        if status_code == 401:
            self.set_header("WWW-Authenticate", 'Basic realm="twsd"')
        self.set_header("Content-Type", "application/json;charset=UTF-8")
        self.finish(
            json.dumps(
                {
                    "exceptionName": name,
                    "messages": [message],
                    "message": message,
                    "code": status_code,
                }
            )
        )

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Keep expected errors (bad filters, unknown ids, faults) out of the error log."""
        if isinstance(value, SimulatorError):
            return
        super().log_exception(typ, value, tb)


class HWAHandler(BaseHandler):
    """Base of the HWA endpoints: record the call, apply faults, check credentials and, in
    strict mode, what the request accepts and the parameters the document requires."""

    _call: dict[str, Any] | None = None
    #: the one media type the endpoint serves (strict mode answers 406 when not accepted)
    produces = JSON
    #: query parameters the document marks required (strict mode answers 400 without them)
    required: tuple[str, ...] = ()

    def write_json(self, obj: Any, status: int = 200) -> None:
        """Finish with a JSON body; strict mode sends no ``null`` (the document has none)."""
        super().write_json(without_nulls(obj) if self.sim.strict else obj, status)

    def _auth_kind(self) -> str | None:
        header = self.request.headers.get("Authorization", "")
        scheme = header.split(" ", 1)[0].lower()
        return scheme if scheme in ("basic", "bearer") else None

    def _authenticated(self) -> bool:
        sim = self.sim
        scheme, _, value = self.request.headers.get("Authorization", "").partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            return bool(sim.api_key) and hmac.compare_digest(value, sim.api_key or "")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            return hmac.compare_digest(user, sim.user) & hmac.compare_digest(password, sim.password)
        return False

    async def prepare(self) -> None:
        """Record the call, then apply down / latency / auth / random-error faults."""
        sim = self.sim
        req = self.request
        self._call = sim.calls.record(
            req.method or "GET",
            req.path,
            req.query,
            (
                req.query_arguments
                and {
                    k: [v.decode(errors="replace") for v in vs]
                    for k, vs in req.query_arguments.items()
                }
            )
            or {},
            self._auth_kind(),
        )
        faults = sim.faults
        if faults.down:
            self.detach().close()  # the engine is gone: no answer at all
            return
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.auth_fail or not self._authenticated():
            raise Unauthorized("AWSBEH021E The user is not authorized: invalid credentials.")
        if (
            faults.error_rate
            and faults.applies_to(req.path)
            and random.random() < faults.error_rate
        ):
            raise InjectedError(faults.error_status)
        if sim.strict:
            self.check_document()

    def check_document(self) -> None:
        """Refuse what an engine enforcing its document refuses: 406 and missing parameters."""
        if self.request.method in ("GET", "HEAD") and not accepts(
            self.request.headers.get("Accept"), self.produces
        ):
            raise NotAcceptable(
                f"AWSBHU003E This resource serves {self.produces} only; the request accepts "
                f"{self.request.headers.get('Accept')!r}."
            )
        for name in self.required:
            if not self.get_query_argument(name, None):
                raise BadRequest(f"AWSBHU005E The required parameter {name} is missing.")

    def on_finish(self) -> None:
        """Note the status the call was answered with."""
        if self._call is not None:
            self._call["status"] = self.get_status()

    def plan_for_request(self) -> Plan:
        """Return the plan named by ``plan_id`` (``current``, its id, or the previous plan's)."""
        return self.sim.plan_by_id(self.get_query_argument("plan_id", "current") or "current")


class UnknownPathHandler(HWAHandler):
    """Answer 404 (after the usual checks) for a path the simulator does not serve."""

    def _unknown(self, *args: Any) -> None:
        raise NotFound(f"The resource {self.request.path} was not found.")

    get = put = post = patch = delete = _unknown

"""The base of every Resync REST handler: typed service properties, errors mapped in one place."""

from __future__ import annotations

import json
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar, TypeVar, cast

from jupyter_server.base.handlers import APIHandler, JupyterHandler
from pydantic import BaseModel, JsonValue, ValidationError
from tornado import web

from resync_ext.errors import InvalidInput, Unavailable
from resync_ext.handlers.errors import PayloadTooLarge
from resync_ext.handlers.permissions import Permission, PermissionDenied, authorize, user_name

if TYPE_CHECKING:
    from resync_ext.agents.demos import DemoLearner
    from resync_ext.agents.registry import AgentRegistry
    from resync_ext.app import ResyncApp
    from resync_ext.audit.review_queue import ReviewQueueProtocol
    from resync_ext.audit.service import AuditService
    from resync_ext.chat.hub import ChatHub
    from resync_ext.chat.turns import TurnService
    from resync_ext.memory.store import MemoryStore
    from resync_ext.reports.runner import ReportRunner
    from resync_ext.services.health import HealthChecks
    from resync_ext.tws.client import TWSClient

M = TypeVar("M", bound=BaseModel)
#: An OpenAPI fragment (see handlers/openapi.py).
OpenAPI = dict[str, JsonValue]

MAX_BODY_BYTES = 1 << 20  # a review or report request is a few hundred bytes; 1 MiB is generous


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "body"
    return f"{where}: {err.get('msg', 'invalid')}"


class ServiceHandler(JupyterHandler):
    """A Jupyter handler that reaches Resync's services through typed properties.

    ResyncApp publishes each service in the Tornado settings as ``resync_<key>`` (the memory
    store, the audit service and the demo learner only once the store is open); a missing one is
    a 503, never a KeyError.

    Every request is authorised in ``prepare()`` through Jupyter's ``Authorizer`` against the
    permission the handler declares for its method in ``permissions``; a method declaring
    nothing is refused (see handlers/permissions.py).
    """

    #: The permission each implemented method needs, by lower-case method; none declared: 403.
    permissions: ClassVar[dict[str, Permission]] = {}

    async def prepare(self, **kwargs: bool) -> None:
        """Authenticate as Jupyter does, then authorise the method's declared permission."""
        await super().prepare(**kwargs)
        if not self._finished:  # not redirected to the login page
            await authorize(self)

    @property
    def user_name(self) -> str:
        """The Jupyter user's name, for the record (``decided_by``, logs)."""
        return user_name(self)

    def service(self, key: str) -> object:
        """Return the service stored as ``resync_<key>``, or 503 when it is not available."""
        svc = self.settings.get(f"resync_{key}")
        if svc is None:
            raise Unavailable(f"the {key} service is not available", service=key)
        return cast(object, svc)

    @property
    def resync(self) -> ResyncApp:
        """The extension app, owner of every service."""
        return cast("ResyncApp", self.service("app"))

    @property
    def tws(self) -> TWSClient:
        """The read-only TWS client."""
        return cast("TWSClient", self.service("tws"))

    @property
    def memory_store(self) -> MemoryStore:
        """The memory store (Mem0 over Qdrant by default)."""
        return cast("MemoryStore", self.service("memory"))

    @property
    def agents(self) -> AgentRegistry:
        """The agents registry."""
        return cast("AgentRegistry", self.service("agents"))

    @property
    def review_queue(self) -> ReviewQueueProtocol:
        """The review queue of flagged memories."""
        return cast("ReviewQueueProtocol", self.service("queue"))

    @property
    def audit(self) -> AuditService:
        """The audit service (decisions, passes, metrics)."""
        return cast("AuditService", self.service("audit"))

    @property
    def demo_learner(self) -> DemoLearner:
        """What turns approved memories into agents' demonstrations."""
        return cast("DemoLearner", self.service("learner"))

    @property
    def reports(self) -> ReportRunner:
        """The papermill report runner."""
        return cast("ReportRunner", self.service("reports"))

    @property
    def turns(self) -> TurnService:
        """The chat turn service."""
        return cast("TurnService", self.service("turns"))

    @property
    def chat_hub(self) -> ChatHub:
        """The open chat sockets."""
        return cast("ChatHub", self.service("chat_hub"))

    @property
    def health(self) -> HealthChecks:
        """The health checks of every dependency."""
        return cast("HealthChecks", self.service("health"))


class ResyncHandler(ServiceHandler, APIHandler):
    """Base REST handler: JSON in and out, domain errors rendered as JSON with a fitting status."""

    #: OpenAPI operations of this handler, by lower-case method (see handlers/openapi.py).
    openapi: ClassVar[dict[str, OpenAPI]] = {}

    async def prepare(self) -> None:  # type: ignore[override]  # as APIHandler itself
        """Refuse an oversized body before any handler runs (also on routes that ignore it)."""
        length = self.request.headers.get("Content-Length")
        if (length and length.isdigit() and int(length) > MAX_BODY_BYTES) or len(
            self.request.body or b""
        ) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"request body over {MAX_BODY_BYTES} bytes")
        await super().prepare()

    # -- input ----------------------------------------------------------------------------------
    def body_model(self, model: type[M]) -> M:
        """Parse and validate the JSON body into ``model`` (400 on anything wrong)."""
        raw = self.request.body or b""  # its size was checked in prepare()
        try:
            data = json.loads(raw or b"{}")
        except ValueError as e:
            raise InvalidInput(f"body is not valid JSON: {e}") from e
        except RecursionError as e:  # thousands of nested brackets
            raise InvalidInput("body is nested too deeply") from e
        try:
            return model.model_validate(data)
        except ValidationError as e:
            raise InvalidInput(_first_error(e)) from e

    def query_model(self, model: type[M]) -> M:
        """Validate the query arguments into ``model`` (400 on anything wrong)."""
        args = {k: self.get_query_argument(k) for k in self.request.query_arguments}
        try:
            return model.model_validate(args)
        except ValidationError as e:
            raise InvalidInput(_first_error(e)) from e

    # -- output ---------------------------------------------------------------------------------
    def write_json(self, obj: object, status: int = 200) -> None:
        """Write ``obj`` (a pydantic model or JSON-able value) with ``status``."""
        if isinstance(obj, BaseModel):
            obj = obj.model_dump(mode="json")
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(obj, default=str))

    def write_error(self, status_code: int, **kwargs: object) -> None:
        """Render every error as ``{"message", "reason"}`` without a traceback."""
        exc_info = kwargs.get("exc_info")
        exc = exc_info[1] if isinstance(exc_info, tuple) and len(exc_info) == 3 else None
        message = self._reason
        reason = "error"
        if isinstance(exc, web.HTTPError):
            message = exc.log_message % exc.args if exc.log_message else self._reason
            reason = {403: "forbidden", 404: "not_found", 405: "method_not_allowed"}.get(
                status_code, "error"
            )
            if isinstance(exc, PermissionDenied) and exc.permission is not None:
                body = {"message": message, "reason": reason, "permission": str(exc.permission)}
                self.set_header("Content-Type", "application/json")
                self.finish(json.dumps(body))
                return
        elif exc is not None and hasattr(exc, "http_status"):
            message = str(exc)
            reason = getattr(exc, "reason", None) or type(exc).__name__
        elif status_code >= 500:
            message = "internal error; see the server log"
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message, "reason": reason}))

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Log domain errors as one line; only unexpected ones with a traceback."""
        status = getattr(value, "http_status", None)
        if status is not None:
            self.log.info("%s %s -> %d %s", self.request.method, self.request.path, status, value)
            return
        super().log_exception(typ, value, tb)

    def _handle_request_exception(self, e: BaseException) -> None:
        status = getattr(e, "http_status", None)
        if isinstance(status, int) and not isinstance(e, web.HTTPError):
            # A domain error: render with its own status instead of tornado's 500.
            self.log_exception(type(e), e, e.__traceback__)
            if self._finished:
                return
            self.set_status(status)
            self.write_error(status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)

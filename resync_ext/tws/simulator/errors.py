"""Errors raised by the TWS simulator.

Hierarchy::

    SimulatorError                 base of everything the simulator raises on purpose
    ├── ScenarioError              a scenario file or mapping is unreadable or inconsistent
    ├── OQLError                   an OQL filter cannot be parsed or names an unknown field (→ 400)
    ├── BadRequest                 any other invalid parameter or body (→ 400)
    ├── NotFound                   an id or name that is not in the plan (→ 404)
    ├── ActionRejected             an action that the object's state does not allow (→ 400)
    ├── Unauthorized               missing or wrong Basic / bearer credentials (→ 401)
    ├── NotAcceptable              strict mode: ``Accept`` excludes what the endpoint serves (→ 406)
    ├── UnsupportedMediaType       an action body that is not declared as JSON (→ 415)
    └── InjectedError              an error injected through /twsim/faults (any status)

Each carries ``status`` (the HTTP status the server answers with) and ``exception_name``
(the ``exceptionName`` of the product-style JSON error body).
"""

from __future__ import annotations


class SimulatorError(Exception):
    """Base class of the simulator's errors."""

    status: int = 500
    exception_name: str = "com.ibm.tws.conn.exception.ConnException"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ScenarioError(SimulatorError):
    """A scenario cannot be loaded or is inconsistent."""

    status = 400
    exception_name = "ScenarioError"


class OQLError(SimulatorError):
    """An OQL filter is not valid."""

    status = 400
    exception_name = "com.hcl.wa.oql.OQL_FILTER_SYNTAX_ERROR"

    def __init__(self, message: str, position: int | None = None) -> None:
        text = message if position is None else f"{message} (at character {position})"
        super().__init__(f"OQL_FILTER_SYNTAX_ERROR: {text}")
        self.position = position


class BadRequest(SimulatorError):
    """A parameter or body is not valid."""

    status = 400
    exception_name = "com.ibm.tws.conn.exception.ConnInvalidParameterException"


class NotFound(SimulatorError):
    """An object is not in the plan."""

    status = 404
    exception_name = "com.ibm.tws.objects.exceptions.ObjectNotFoundException"


class ActionRejected(SimulatorError):
    """The object's state does not allow the requested action."""

    status = 400
    exception_name = "com.ibm.tws.conn.exception.ConnActionNotAllowedException"


class Unauthorized(SimulatorError):
    """Credentials are missing or wrong."""

    status = 401
    exception_name = "com.ibm.tws.conn.exception.ConnAuthenticationException"


class NotAcceptable(SimulatorError):
    """Refuse a request whose ``Accept`` excludes the only media type the endpoint serves."""

    status = 406
    exception_name = "javax.ws.rs.NotAcceptableException"


class UnsupportedMediaType(SimulatorError):
    """An action was sent without ``Content-Type: application/json``."""

    status = 415
    exception_name = "javax.ws.rs.NotSupportedException"


class InjectedError(SimulatorError):
    """An error injected by the fault configuration."""

    exception_name = "com.ibm.tws.conn.exception.ConnException"

    def __init__(self, status: int) -> None:
        super().__init__(
            f"AWSBEH023E Unable to process the request (injected fault, HTTP {status})."
        )
        self.status = status

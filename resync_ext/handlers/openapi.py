"""GET /resync/api/openapi.json: an OpenAPI 3.1 document built from the live route table.

Each handler class describes its operations in an ``openapi`` class attribute (by lower-case
method); path parameters come from the route's named groups, and every operation gets the
token security scheme and the JSON error responses, so the document cannot drift from the routes.
Handler modules may publish component schemas in a module-level ``schemas`` dict (name → JSON
schema or pydantic model).
"""

from __future__ import annotations

import importlib
import re

from pydantic import BaseModel, JsonValue
from tornado import web

from resync_ext import __version__
from resync_ext.handlers.base import OpenAPI, ResyncHandler
from resync_ext.handlers.permissions import READ, declared

#: A component schema as a handler module publishes it: a pydantic model or a JSON schema.
Schema = type[BaseModel] | OpenAPI

_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")

_BASE_SCHEMAS: dict[str, OpenAPI] = {
    "Error": {
        "type": "object",
        "required": ["message", "reason"],
        "properties": {"message": {"type": "string"}, "reason": {"type": "string"}},
    },
    "Check": {
        "type": "object",
        "required": ["ok", "detail", "latency_ms"],
        "properties": {
            "ok": {"type": "boolean"},
            "detail": {"type": "string"},
            "latency_ms": {"type": "number"},
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "version", "checks"],
        "properties": {
            "status": {"enum": ["ok", "degraded"]},
            "version": {"type": "string"},
            "checks": {
                "type": "object",
                "additionalProperties": {"$ref": "#/components/schemas/Check"},
            },
        },
    },
}

_ERRORS = {
    "400": "Bad input",
    "403": "Missing or invalid token, or the permission (x-resync-permission) refused",
    "404": "Unknown id or name",
    "409": "Conflict with the current state",
    "503": "A dependency is down or starting",
}


def _schema(value: Schema) -> OpenAPI:
    if isinstance(value, type):
        schema: OpenAPI = value.model_json_schema(ref_template="#/components/schemas/{model}")
        return schema
    return dict(value)


def _json(schema: JsonValue) -> OpenAPI:
    return {"application/json": {"schema": schema}}


def _ref(name: JsonValue) -> OpenAPI:
    return {"$ref": f"#/components/schemas/{name}"}


def _operation(spec: OpenAPI, params: list[str], method: str) -> OpenAPI:
    op: OpenAPI = {k: v for k, v in spec.items() if k not in {"request", "response"}}
    given = spec.get("responses")
    responses: OpenAPI = dict(given) if isinstance(given, dict) else {}
    op["responses"] = responses
    if "response" in spec:
        responses["200"] = {"description": "OK", "content": _json(_ref(spec["response"]))}
    for code, resp in list(responses.items()):
        if isinstance(resp, dict) and "$ref" in resp:
            responses[code] = {"description": "OK", "content": _json(resp)}
    if "request" in spec:
        op["requestBody"] = {"required": True, "content": _json(_ref(spec["request"]))}
    for code, text in _ERRORS.items():
        responses.setdefault(code, {"description": text, "content": _json(_ref("Error"))})
    parameters: list[JsonValue] = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params
    ]
    extra = op.get("parameters")
    op["parameters"] = parameters + (list(extra) if isinstance(extra, list) else [])
    op.setdefault("operationId", f"{method}_{spec.get('summary', '')}".replace(" ", "_")[:60])
    return op


def build_openapi() -> OpenAPI:
    """Return the OpenAPI document of every route the extension registers."""
    from resync_ext.handlers import ROUTE_MODULES

    paths: OpenAPI = {}
    schemas: OpenAPI = dict(_BASE_SCHEMAS)
    for name in ROUTE_MODULES:
        module = importlib.import_module(f"resync_ext.handlers.{name}")
        for key, value in getattr(module, "schemas", {}).items():
            schemas[key] = _schema(value)
        for route in module.routes:
            pattern, handler = route[0], route[1]
            params = _GROUP.findall(pattern)
            path = _GROUP.sub(lambda m: "{" + m.group(1) + "}", pattern).rstrip("$")
            ops: OpenAPI = {}
            for method, spec in getattr(handler, "openapi", {}).items():
                op = _operation(spec, params, method)
                needed = declared(handler, method)
                if needed is not None:  # what Jupyter's authorizer is asked (permissions.py)
                    op["x-resync-permission"] = str(needed)
                ops[method] = op
            if ops:
                paths[path] = ops
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Resync Workbench API",
            "version": __version__,
            "description": "The Resync server extension's REST API. Every operation needs the "
            "Jupyter server's token (Authorization: token <T>).",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "header", "name": "Authorization"}
            },
        },
        "security": [{"token": []}],
    }


class OpenAPIHandler(ResyncHandler):
    """Serve the OpenAPI document of the extension's API."""

    permissions = {"get": READ}
    openapi = {
        "get": {"summary": "This OpenAPI document", "responses": {"200": {"description": "OK"}}}
    }

    @web.authenticated
    def get(self) -> None:
        """Answer the document built from the current route table."""
        self.write_json(build_openapi())


routes = [(r"/resync/api/openapi.json", OpenAPIHandler)]

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
from typing import Any

from pydantic import BaseModel
from tornado import web

from resync_ext import __version__
from resync_ext.handlers.base import ResyncHandler

_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")

_BASE_SCHEMAS: dict[str, Any] = {
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
    "403": "Missing or invalid token",
    "404": "Unknown id or name",
    "409": "Conflict with the current state",
    "503": "A dependency is down or starting",
}


def _schema(value: Any) -> dict[str, Any]:
    if isinstance(value, type) and issubclass(value, BaseModel):
        return value.model_json_schema(ref_template="#/components/schemas/{model}")
    return dict(value)


def _operation(spec: dict[str, Any], params: list[str], method: str) -> dict[str, Any]:
    op = {k: v for k, v in spec.items() if k not in {"request", "response"}}
    op.setdefault("responses", {})
    if "response" in spec:
        ref = {"$ref": f"#/components/schemas/{spec['response']}"}
        op["responses"]["200"] = {
            "description": "OK",
            "content": {"application/json": {"schema": ref}},
        }
    for code, resp in list(op["responses"].items()):
        if isinstance(resp, dict) and "$ref" in resp:
            op["responses"][code] = {
                "description": "OK",
                "content": {"application/json": {"schema": resp}},
            }
    if "request" in spec:
        op["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{spec['request']}"}}
            },
        }
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for code, text in _ERRORS.items():
        op["responses"].setdefault(code, {"description": text, **error})
    path_params = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params
    ]
    op["parameters"] = path_params + list(op.get("parameters", []))
    op.setdefault("operationId", f"{method}_{spec.get('summary', '')}".replace(" ", "_")[:60])
    return op


def build_openapi() -> dict[str, Any]:
    """Return the OpenAPI document of every route the extension registers."""
    from resync_ext.handlers import ROUTE_MODULES

    paths: dict[str, Any] = {}
    schemas = dict(_BASE_SCHEMAS)
    for name in ROUTE_MODULES:
        module = importlib.import_module(f"resync_ext.handlers.{name}")
        for key, value in getattr(module, "schemas", {}).items():
            schemas[key] = _schema(value)
        for route in module.routes:
            pattern, handler = route[0], route[1]
            params = _GROUP.findall(pattern)
            path = _GROUP.sub(lambda m: "{" + m.group(1) + "}", pattern).rstrip("$")
            ops = {
                method: _operation(spec, params, method)
                for method, spec in getattr(handler, "openapi", {}).items()
            }
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

    openapi = {
        "get": {"summary": "This OpenAPI document", "responses": {"200": {"description": "OK"}}}
    }

    @web.authenticated
    def get(self) -> None:
        """Answer the document built from the current route table."""
        self.write_json(build_openapi())


routes = [(r"/resync/api/openapi.json", OpenAPIHandler)]

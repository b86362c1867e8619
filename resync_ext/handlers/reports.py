"""Report runs over REST (SPEC.md section 3): list, start, fetch the executed notebook."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from tornado import web

from resync_ext.handlers.base import ResyncHandler
from resync_ext.handlers.permissions import EXECUTE, READ


class ReportRequest(BaseModel):
    """Start a report run: which template (the audit report by default) and its parameters."""

    model_config = ConfigDict(extra="forbid")

    notebook: str | None = Field(default=None, min_length=1, max_length=200)
    parameters: dict[str, object] | None = None


class ReportStarted(BaseModel):
    """The run just accepted."""

    name: str
    status: Literal["queued", "running"]


class ReportFailure(BaseModel):
    """Where a failed run stopped: the failing cell and its error."""

    cell: int | None = None
    execution_count: int | None = None
    ename: str
    evalue: str
    source: str | None = None
    traceback: list[str] | None = None


class ReportStatus(BaseModel):
    """One report run."""

    name: str
    notebook: str
    status: Literal["queued", "running", "done", "failed"]
    created: str
    started: str | None = None
    finished: str | None = None
    duration_s: float | None = None
    parameters: dict[str, object] = Field(default_factory=dict)
    error: ReportFailure | None = None
    formats: list[Literal["html", "ipynb"]] = Field(default_factory=list)


class ReportList(BaseModel):
    """The kept report runs, newest first."""

    reports: list[ReportStatus]


class ReportQuery(BaseModel):
    """Query arguments of ``GET /resync/api/reports/{name}``."""

    model_config = ConfigDict(extra="ignore")  # ignore ?token= and the like

    format: Literal["html", "ipynb"] = "html"


schemas: dict[str, type[BaseModel]] = {
    "ReportRequest": ReportRequest,
    "ReportStarted": ReportStarted,
    "ReportFailure": ReportFailure,
    "ReportStatus": ReportStatus,
    "ReportList": ReportList,
}

_CONTENT_TYPES = {"html": "text/html; charset=utf-8", "ipynb": "application/x-ipynb+json"}


class ReportsHandler(ResyncHandler):
    """List report runs, or start one."""

    permissions = {"get": READ, "post": EXECUTE}
    openapi = {
        "get": {"summary": "List report runs", "response": "ReportList"},
        "post": {
            "summary": "Start a report run",
            "request": "ReportRequest",
            "responses": {"202": {"$ref": "#/components/schemas/ReportStarted"}},
        },
    }

    @web.authenticated
    async def get(self) -> None:
        """Answer ``{"reports": [...]}``, newest first."""
        self.write_json({"reports": await self.reports.list()})

    @web.authenticated
    async def post(self) -> None:
        """Start the run in the background; answer 202 with its name and status."""
        req = self.body_model(ReportRequest)
        started = await self.reports.start(req.notebook, req.parameters)
        self.write_json(started, status=202)


class ReportHandler(ResyncHandler):
    """One executed report, as HTML (default) or as the notebook."""

    permissions = {"get": READ}
    openapi = {
        "get": {
            "summary": "Get an executed report",
            "parameters": [
                {
                    "name": "format",
                    "in": "query",
                    "required": False,
                    "schema": {"enum": ["html", "ipynb"]},
                    "description": "html (default) or ipynb",
                }
            ],
            "responses": {
                "200": {
                    "description": "The report",
                    "content": {"text/html": {}, "application/x-ipynb+json": {}},
                }
            },
        }
    }

    @property
    def content_security_policy(self) -> str:
        """Let the report show its inline images and styles; no script, a sandboxed origin."""
        return (
            super().content_security_policy
            + "; img-src data:; style-src 'unsafe-inline'; font-src data:; sandbox"
        )

    @web.authenticated
    async def get(self, name: str) -> None:
        """Answer the report's bytes with the matching Content-Type (409 while running)."""
        fmt = self.query_model(ReportQuery).format
        body = await self.reports.get(name, fmt)
        if fmt == "ipynb":
            self.set_header("Content-Disposition", f'attachment; filename="{name}.ipynb"')
        # APIHandler.finish sets JSON unless told otherwise.
        self.finish(body, set_content_type=_CONTENT_TYPES[fmt])


routes = [
    (r"/resync/api/reports", ReportsHandler),
    (r"/resync/api/reports/(?P<name>[^/]+)", ReportHandler),
]

"""HWA action endpoints (PUT): by id and by filter on jobs, streams and workstations, rerun,
prompt reply, resource quantity. They need ``Content-Type: application/json`` as the product
does and answer ``ResourceResponseV2`` (by id) or ``FilterActionResponseV2`` (by filter).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from resync_ext.tws.simulator import actions
from resync_ext.tws.simulator.base import HWAHandler
from resync_ext.tws.simulator.entities import select
from resync_ext.tws.simulator.errors import (
    ActionRejected,
    BadRequest,
    NotFound,
    UnsupportedMediaType,
)
from resync_ext.tws.simulator.plan import Plan

API = "/twsd/api/v2"


class ActionHandler(HWAHandler):
    """PUT actions; they need ``Content-Type: application/json`` as the product does."""

    def check_json(self) -> dict[str, Any]:
        """Return the JSON body; 415 when the request does not declare JSON."""
        ctype = self.request.headers.get("Content-Type", "")
        if "application/json" not in ctype.lower():
            raise UnsupportedMediaType("Content-Type must be application/json.")
        body = self.body_json()
        if not isinstance(body, dict):
            raise BadRequest("The body must be a JSON object.")
        return body

    def respond(self, plan: Plan, obj_id: str, url_path: str) -> None:
        """Answer ``ResourceResponseV2`` after re-deriving the plan."""
        plan.changed()
        req = self.request
        self.write_json({"id": obj_id, "url": f"{req.protocol}://{req.host}{API}{url_path}"})


class JobActionHandler(ActionHandler):
    """PUT /plan/job/{job_id}/action/{action}."""

    def put(self, job_id: str, action: str) -> None:
        """Apply a job action by id."""
        body = self.check_json()
        if action not in actions.JOB_ACTIONS or action == "rerun":
            raise NotFound(f"The action {action} is not available for jobs by id.")
        plan = self.plan_for_request()
        with plan.lock:
            actions.job_action(plan, plan.job(job_id), action, body)
            self.respond(plan, job_id, f"/plan/job/{job_id}")


class RerunHandler(ActionHandler):
    """PUT /plan/job/run/{run_id}/action/rerun."""

    def put(self, run_id: str) -> None:
        """Rerun the job of this run (the run must be the latest)."""
        body = self.check_json()
        plan = self.plan_for_request()
        with plan.lock:
            job, run = plan.run(run_id)
            if run is not job.run:
                raise BadRequest(f"The run {run_id} is not the last in its rerun chain.")
            actions.job_action(plan, job, "rerun", body)
            self.respond(plan, job.run.id, f"/plan/job/{job.id}")


class StreamActionHandler(ActionHandler):
    """PUT /plan/jobstream/{jobstream_id}/action/{action}."""

    def put(self, stream_id: str, action: str) -> None:
        """Apply a job-stream action by id."""
        self.check_json()
        plan = self.plan_for_request()
        with plan.lock:
            actions.stream_action(plan, plan.stream(stream_id), action)
            self.respond(plan, stream_id, f"/plan/jobstream/{stream_id}")


class WorkstationActionHandler(ActionHandler):
    """PUT /plan/workstation/{workstation_id}/action/{action}."""

    def put(self, ws_id: str, action: str) -> None:
        """Apply a workstation action by id (``limit`` / ``priority`` query parameters)."""
        self.check_json()
        plan = self.plan_for_request()
        args = {k: v[-1].decode() for k, v in self.request.query_arguments.items()}
        with plan.lock:
            actions.workstation_action(plan.workstation_by_id(ws_id), action, args)
            self.respond(plan, ws_id, f"/plan/workstation/{ws_id}")


class FilterActionHandler(ActionHandler):
    """PUT /plan/{job|jobstream|workstation}/action/{action}?oql=...&max_object_affected=N."""

    def put(self, kind: str, action: str) -> None:
        """Apply an action to every object the filter matches; answer FilterActionResponseV2."""
        body = self.check_json()
        plan = self.plan_for_request()
        cap = self.int_arg("max_object_affected", None, low=1)
        args = {k: v[-1].decode() for k, v in self.request.query_arguments.items()}
        apply: Callable[[Any], None] = {
            "job": lambda j: actions.job_action(plan, j, action, body),
            "jobstream": lambda s: actions.stream_action(plan, s, action),
            "workstation": lambda w: actions.workstation_action(w, action, args),
        }[kind]
        ok: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        with plan.lock:
            found = select(
                plan,
                kind,
                self.get_query_argument("oql", None),
                self.get_query_argument("plan_filter", None),
            )
            if cap is not None and len(found) > cap:
                raise BadRequest(
                    f"The filter matches {len(found)} objects, more than max_object_affected={cap}."
                )
            for record in found:
                entry = {"id": record.id, "url": f"{API}/plan/{kind}/{record.id}"}
                try:
                    apply(record)
                except (BadRequest, ActionRejected) as e:
                    failed.append({**entry, "message": e.message, "isError": True, "error": True})
                else:
                    ok.append({**entry, "error": False, "isError": False})
            plan.changed()
        self.write_json({"successfulResourceResponses": ok, "failedResourceResponses": failed})


class PromptReplyHandler(ActionHandler):
    """PUT /plan/prompt/{prompt_id}/action/reply with ``{"answer": bool}``."""

    def put(self, prompt_id: str) -> None:
        """Answer a prompt."""
        body = self.check_json()
        plan = self.plan_for_request()
        with plan.lock:
            actions.reply_prompt(plan.prompt_by_id(prompt_id), body)
            self.respond(plan, prompt_id, f"/plan/prompt/{prompt_id}")


class ResourceQuantityHandler(ActionHandler):
    """PUT /plan/resource/{resource_id}/action/update-quantity?quantity=N."""

    def put(self, res_id: str) -> None:
        """Change a resource's quantity."""
        self.check_json()
        plan = self.plan_for_request()
        args = {k: v[-1].decode() for k, v in self.request.query_arguments.items()}
        with plan.lock:
            actions.update_quantity(plan.resource_by_id(res_id), args)
            self.respond(plan, res_id, f"/plan/resource/{res_id}")

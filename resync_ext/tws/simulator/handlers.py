"""HWA REST API v2 endpoints served by the simulator (paths as in the product's OpenAPI).

Read: engine info, jobs (list, by id, count, job log by run id and by filter, predecessors,
successors), job streams (list, count, by id with jobs and dependencies, predecessors,
successors), workstations, resources. Actions (PUT, ``Content-Type: application/json``):
by id and by filter on jobs, job streams and workstations, job rerun by run id, prompt reply,
resource quantity.
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import urlencode

from resync_ext.tws.simulator import joblog
from resync_ext.tws.simulator.action_handlers import (
    FilterActionHandler,
    JobActionHandler,
    PromptReplyHandler,
    RerunHandler,
    ResourceQuantityHandler,
    StreamActionHandler,
    WorkstationActionHandler,
)
from resync_ext.tws.simulator.base import HWAHandler
from resync_ext.tws.simulator.engine_handlers import HealthStatusHandler, JobIssuesHandler
from resync_ext.tws.simulator.entities import select
from resync_ext.tws.simulator.errors import BadRequest, NotFound
from resync_ext.tws.simulator.model import Job, Stream
from resync_ext.tws.simulator.plan import Plan
from resync_ext.tws.simulator.serialize import (
    engine_info,
    job_json,
    resource_json,
    stream_json,
    workstation_json,
)
from resync_ext.tws.simulator.status import stream_common_status
from resync_ext.tws.simulator.strict import TEXT

API = "/twsd/api/v2"
_ID = r"([^/]+)"


class EngineInfoHandler(HWAHandler):
    """GET /engine/info."""

    def get(self) -> None:
        """Return ``EngineInfoV2``."""
        self.write_json(engine_info(self.sim.plan, self.sim.user))


class ListHandler(HWAHandler):
    """GET a paginated list: ``oql``, ``plan_filter``, ``limit``, ``offset``, ``Include-Count``."""

    kind = "job"

    def serialize(self, plan: Plan, record: Any) -> dict[str, Any]:
        """Serialise one record of the page."""
        if self.kind == "job":
            return job_json(plan, record)
        if self.kind == "jobstream":
            return stream_json(plan, record)
        if self.kind == "workstation":
            return workstation_json(plan, record)
        return resource_json(plan, record)

    def get(self) -> None:
        """Answer ``{count, results, next, previous}``."""
        plan = self.plan_for_request()
        limit = self.int_arg("limit", 10000) or 0
        offset = self.int_arg("offset", 0) or 0
        with plan.lock:
            found = select(
                plan,
                self.kind,
                self.get_query_argument("oql", None),
                self.get_query_argument("plan_filter", None),
            )
            page = [self.serialize(plan, r) for r in found[offset : offset + limit]]
        include = self.request.headers.get("Include-Count", "true").strip().lower() != "false"
        self.write_json(
            {
                "count": len(found) if include else None,
                "results": page,
                "next": self._link(offset + limit, limit) if offset + limit < len(found) else None,
                "previous": self._link(max(0, offset - limit), limit) if offset > 0 else None,
            }
        )

    def _link(self, offset: int, limit: int) -> str:
        args = {k: v[-1].decode() for k, v in self.request.query_arguments.items()}
        args.update(offset=str(offset), limit=str(limit))
        req = self.request
        return f"{req.protocol}://{req.host}{req.path}?{urlencode(args)}"


class JobListHandler(ListHandler):
    """GET /plan/job."""

    kind = "job"


class StreamListHandler(ListHandler):
    """GET /plan/jobstream."""

    kind = "jobstream"


class WorkstationListHandler(ListHandler):
    """GET /plan/workstation."""

    kind = "workstation"


class ResourceListHandler(ListHandler):
    """GET /plan/resource."""

    kind = "resource"


class CountHandler(HWAHandler):
    """GET /plan/job/count and /plan/jobstream/count with ``grouping_filters``."""

    kind = "job"
    required = ("plan_filter",)  # the document marks it required (default /@/@#/@/@.@)

    def get(self) -> None:
        """Answer ``{count, groupedCount}``; keys join the group values with commas."""
        plan = self.plan_for_request()
        raw = self.get_query_argument("grouping_filters", "") or ""
        groups = [g.strip().lower() for g in raw.split(",") if g.strip()]
        for group in groups:
            if group not in ("workstation", "status", "folder"):
                raise BadRequest(
                    f"Unknown grouping filter {group!r}: use workstation, status, folder."
                )
        with plan.lock:
            found = select(
                plan,
                self.kind,
                self.get_query_argument("oql", None),
                self.get_query_argument("plan_filter", None),
            )
            keys: Counter[str] = Counter()
            if groups:
                for record in found:
                    keys[",".join(self._value(plan, record, g) for g in groups)] += 1
        self.write_json({"count": len(found), "groupedCount": dict(keys)})

    def _value(self, plan: Plan, record: Job | Stream, group: str) -> str:
        if group == "workstation":
            return record.workstation.key
        if group == "folder":
            return "/"
        if isinstance(record, Job):
            return record.common_status
        return stream_common_status(plan.stream_status(record))


class StreamCountHandler(CountHandler):
    """GET /plan/jobstream/count."""

    kind = "jobstream"


class JobHandler(HWAHandler):
    """GET /plan/job/{job_id} (with ``dependencies``)."""

    def get(self, job_id: str) -> None:
        """Return ``JobInPlanV2``."""
        plan = self.plan_for_request()
        with plan.lock:
            self.write_json(job_json(plan, plan.job(job_id), with_dependencies=True))


class StreamHandler(HWAHandler):
    """GET /plan/jobstream/{jobstream_id} (with ``jobs`` and ``dependencies``)."""

    def get(self, stream_id: str) -> None:
        """Return ``JobStreamInPlanV2``."""
        plan = self.plan_for_request()
        with plan.lock:
            self.write_json(stream_json(plan, plan.stream(stream_id), with_detail=True))


class WorkstationHandler(HWAHandler):
    """GET /plan/workstation/{workstation_id}."""

    def get(self, ws_id: str) -> None:
        """Return ``WorkstationInPlanV2``."""
        plan = self.plan_for_request()
        self.write_json(workstation_json(plan, plan.workstation_by_id(ws_id)))


class ResourceHandler(HWAHandler):
    """GET /plan/resource/{resource_id}."""

    def get(self, res_id: str) -> None:
        """Return ``ResourceInPlanV2``."""
        plan = self.plan_for_request()
        self.write_json(resource_json(plan, plan.resource_by_id(res_id)))


class LogHandler(HWAHandler):
    """Job logs as ``text/plain``: ``contentOnly``, ``from_line``, ``to_line``."""

    produces = TEXT

    def write_log(self, plan: Plan, pairs: list[tuple[Job, Any]]) -> None:
        """Write the logs of (job, run) pairs, one after the other."""
        content_only = (self.get_query_argument("contentOnly", "false") or "").lower() == "true"
        texts = [joblog.render(plan, job, run, content_only) for job, run in pairs]
        text = joblog.select_lines(
            "".join(texts), self.int_arg("from_line", None, 1), self.int_arg("to_line", None, 1)
        )
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(text.encode())


class RunLogHandler(LogHandler):
    """GET /plan/job/run/{run_id}/joblog."""

    def get(self, run_id: str) -> None:
        """Return the log of one run."""
        plan = self.plan_for_request()
        with plan.lock:
            self.write_log(plan, [plan.run(run_id)])


class FilterLogHandler(LogHandler):
    """GET /plan/job/joblog?oql=... (the latest run of every matching job that started)."""

    def get(self) -> None:
        """Return the logs of the jobs matched by the filter."""
        plan = self.plan_for_request()
        with plan.lock:
            jobs = select(
                plan,
                "job",
                self.get_query_argument("oql", None),
                self.get_query_argument("plan_filter", None),
            )
            pairs = [(j, j.run) for j in jobs if j.run.start is not None]
            if not pairs:
                raise NotFound("No job run instances match the provided key.")
            self.write_log(plan, pairs)


class GraphHandler(HWAHandler):
    """GET predecessors / successors of a job or job stream, ``depth`` levels deep."""

    def get(self, obj_id: str, direction: str) -> None:
        """Answer ``{count, results}`` with jobs and job streams (``flowNodeType``)."""
        plan = self.plan_for_request()
        depth = self.int_arg("depth", 1, low=1) or 1
        with plan.lock:
            start: Job | Stream = (
                plan.job(obj_id) if "/plan/job/" in self.request.path else plan.stream(obj_id)
            )
            nodes = _walk_graph(start, direction, depth)
            results = [
                job_json(plan, n) if isinstance(n, Job) else stream_json(plan, n) for n in nodes
            ]
        self.write_json({"count": len(results), "results": results})


def _walk_graph(start: Job | Stream, direction: str, depth: int) -> list[Job | Stream]:
    def step(node: Job | Stream) -> list[Job | Stream]:
        if direction == "predecessors":
            return [*node.follows_jobs, *node.follows_streams]
        return [*node.successors, *node.stream_successors]

    seen: set[int] = {id(start)}
    out: list[Job | Stream] = []
    frontier: list[Job | Stream] = [start]
    for _ in range(depth):
        nxt: list[Job | Stream] = []
        for node in frontier:
            for other in step(node):
                if id(other) not in seen:
                    seen.add(id(other))
                    out.append(other)
                    nxt.append(other)
        frontier = nxt
    return out


def hwa_routes() -> list[tuple[str, type]]:
    """Return the HWA routes (most specific first)."""
    return [
        (rf"{API}/engine/info", EngineInfoHandler),
        (rf"{API}/plan/job", JobListHandler),
        (rf"{API}/plan/job/count", CountHandler),
        (rf"{API}/plan/job/issues", JobIssuesHandler),
        (rf"{API}/plan/job/joblog", FilterLogHandler),
        (rf"{API}/plan/job/run/{_ID}/joblog", RunLogHandler),
        (rf"{API}/plan/job/run/{_ID}/action/rerun", RerunHandler),
        (rf"{API}/plan/workstation/action/health-status", HealthStatusHandler),
        (rf"{API}/plan/workstation/{_ID}/action/health-status", HealthStatusHandler),
        (rf"{API}/plan/(job|jobstream|workstation)/action/([a-z-]+)", FilterActionHandler),
        (rf"{API}/plan/job/{_ID}", JobHandler),
        (rf"{API}/plan/job/{_ID}/(predecessors|successors)", GraphHandler),
        (rf"{API}/plan/job/{_ID}/action/([a-z-]+)", JobActionHandler),
        (rf"{API}/plan/jobstream", StreamListHandler),
        (rf"{API}/plan/jobstream/count", StreamCountHandler),
        (rf"{API}/plan/jobstream/{_ID}", StreamHandler),
        (rf"{API}/plan/jobstream/{_ID}/(predecessors|successors)", GraphHandler),
        (rf"{API}/plan/jobstream/{_ID}/action/([a-z-]+)", StreamActionHandler),
        (rf"{API}/plan/workstation", WorkstationListHandler),
        (rf"{API}/plan/workstation/{_ID}", WorkstationHandler),
        (rf"{API}/plan/workstation/{_ID}/action/([a-z-]+)", WorkstationActionHandler),
        (rf"{API}/plan/resource", ResourceListHandler),
        (rf"{API}/plan/resource/{_ID}", ResourceHandler),
        (rf"{API}/plan/resource/{_ID}/action/update-quantity", ResourceQuantityHandler),
        (rf"{API}/plan/prompt/{_ID}/action/reply", PromptReplyHandler),
    ]

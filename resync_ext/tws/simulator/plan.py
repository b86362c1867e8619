"""The simulated plan: built from a scenario, derived like the product derives it, indexed.

Everything a scenario does not say is derived here: stable ids (uuid5 of the names), job runs,
start/end times from the stream's scheduled time and the predecessors, the sub-status of waiting
jobs from what holds them (predecessors, time, prompts, files, agent, fence, resources, limits),
and indexes by status, workstation, stream and name so that queries on 50 000 jobs stay fast.
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime

from resync_ext.tws.simulator import generate
from resync_ext.tws.simulator.build import PlanBuilder, spread, stable_id
from resync_ext.tws.simulator.errors import NotFound
from resync_ext.tws.simulator.model import Job, Prompt, Resource, Run, Stream, Workstation
from resync_ext.tws.simulator.scenario import ScenarioSpec
from resync_ext.tws.simulator.status import NOT_STARTED, RELEASING, stream_status
from resync_ext.tws.simulator.timeutil import parse_instant

_RUNNING = frozenset({"EXEC", "SUCCP", "ABENP", "BOUND"})
__all__ = ["Plan", "spread", "stable_id"]


class Plan(PlanBuilder):
    """Hold the current plan of one scenario; mutate it only through ``actions``."""

    def __init__(self, spec: ScenarioSpec, now: datetime | str | None = None) -> None:
        self.spec = spec
        self.now = parse_instant(now or spec.now or datetime.now(UTC).replace(microsecond=0))
        self.name = spec.name
        self.engine = spec.engine
        self.plan_id = stable_id("plan", self.now.strftime("%Y%m%d"))
        self.lock = threading.RLock()
        self.version = 0
        self.workstations: dict[str, Workstation] = {}
        self.resources: dict[str, Resource] = {}
        self.prompts: dict[str, Prompt] = {}
        self.streams: list[Stream] = []
        self.jobs: list[Job] = []
        self._job_number = 30000
        streams = list(spec.job_streams)
        ws_specs = list(spec.workstations)
        if spec.generate and spec.generate.streams:
            ws_specs += generate.workstations(spec.generate)
            streams += generate.streams(spec.generate, self.now)
        for ws in ws_specs:
            self._add_workstation(ws)
        self._build_catalogs()
        self._build_streams(streams)
        self._resolve_follows(streams)
        self._derive_times()
        self.settle(initial=True)
        self.reindex()

    # -- derivation -------------------------------------------------------------------------

    def stream_status(self, stream: Stream) -> str:
        """Return the stream's internal status (forced by the scenario, or from its jobs)."""
        return stream.status_override or stream_status(j.status for j in stream.jobs)

    def job_dep_satisfied(self, pred: Job) -> bool:
        """Return whether a follows dependency on ``pred`` is satisfied."""
        return pred.status in RELEASING

    def stream_dep_satisfied(self, pred: Stream) -> bool:
        """Return whether a follows dependency on a whole stream is satisfied."""
        return self.stream_status(pred) in ("SUCC", "CANCL", "SUPPR")

    def resource_in_use(self, res: Resource) -> int:
        """Return the units of ``res`` in use (fixed by the scenario, or held by running jobs)."""
        if res.in_use_fixed is not None:
            return res.in_use_fixed
        return sum(
            q
            for j in self.by_need.get(res.name, ())
            if j.status in _RUNNING
            for r, q in j.needs
            if r is res
        )

    def holds(self, job: Job) -> tuple[str, str | None]:
        """Return the (status, substatus) a job that has not started should be in."""
        if job.priority == 0:
            return "HOLD", "HOLD_PRIORITY_ZERO"
        stream = job.stream
        if not job.deps_released:
            if any(not self.job_dep_satisfied(p) for p in job.follows_jobs + stream.follows_jobs):
                return "HOLD", "HOLD_WAITING_FOR_PREDECESSOR"
            streams = job.follows_streams + stream.follows_streams
            if any(not self.stream_dep_satisfied(s) for s in streams):
                return "HOLD", "HOLD_WAITING_FOR_PREDECESSOR"
            if max(job.at or stream.sched_time, stream.sched_time) > self.now:
                return "HOLD", "HOLD_WAITING_FOR_TIME"
            if any(p.status != "ANSWERED_YES" for p in job.prompts):
                return "HOLD", "HOLD_WAITING_FOR_PROMPT"
            if any(not f.exists for f in job.opens):
                return "HOLD", "HOLD_WAITING_FOR_FILE"
        ws = job.workstation
        if not (ws.linked and ws.running):
            return "READY", "READY_WAITING_FOR_AGENT"
        if ws.fence > 0 and job.priority <= ws.fence:
            return "FENCE", None
        if any(r.quantity - self.resource_in_use(r) < q for r, q in job.needs):
            return "READY", "READY_WAITING_FOR_RESOURCES"
        if self.running_on(ws) >= ws.limit:
            return "READY", "READY_WAITING_FOR_LIMIT"
        if stream.limit >= 0 and sum(j.status in _RUNNING for j in stream.jobs) >= stream.limit:
            return "READY", "READY_WAITING_FOR_LIMIT"
        return "READY", None

    def running_on(self, ws: Workstation) -> int:
        """Return how many jobs execute on ``ws``."""
        return self._running.get(ws.name, 0)

    def settle(self, initial: bool = False) -> None:
        """Re-derive the state of every job that has not started (after a load or an action)."""
        self._running: dict[str, int] = defaultdict(int)
        self.by_need: dict[str, list[Job]] = defaultdict(list)
        for job in self.jobs:
            if job.status in _RUNNING:
                self._running[job.workstation.name] += 1
            for res, _ in job.needs:
                self.by_need[res.name].append(job)
        for job in self.jobs:
            run = job.run
            if run.status not in NOT_STARTED:
                continue
            # At load the scenario's explicit sub-status (or an explicit FENCE/SCHED) wins.
            if initial and (
                run.substatus is not None or run.status not in ("HOLD", "READY", "WAIT")
            ):
                continue
            run.status, run.substatus = self.holds(job)

    def reindex(self) -> None:
        """Rebuild the lookup indexes after a change."""
        self.version += 1
        self.jobs_by_id = {j.id: j for j in self.jobs}
        self.runs_by_id = {r.id: (j, r) for j in self.jobs for r in j.runs}
        self.streams_by_id = {s.id: s for s in self.streams}
        self.streams_by_name = {s.name: s for s in self.streams}
        self.workstations_by_id = {w.id: w for w in self.workstations.values()}
        self.resources_by_id = {r.id: r for r in self.resources.values()}
        self.prompts_by_id = {p.id: p for p in self.prompts.values()}
        index: dict[str, dict[str, list[Job]]] = {
            k: defaultdict(list) for k in ("status", "common", "workstation", "stream", "name")
        }
        for job in self.jobs:
            index["status"][job.status].append(job)
            index["common"][job.common_status].append(job)
            index["workstation"][job.workstation.name.upper()].append(job)
            index["stream"][job.stream.name.upper()].append(job)
            index["name"][job.name.upper()].append(job)
        self.index = index
        self._sorted_keys: dict[str, list[str]] = {}

    def prefixed(self, index: str, prefix: str) -> list[Job]:
        """Return the jobs whose ``index`` key (upper case) starts with ``prefix``."""
        keys = self._sorted_keys.get(index)
        if keys is None:
            keys = self._sorted_keys[index] = sorted(self.index[index])
        start = bisect.bisect_left(keys, prefix)
        out: list[Job] = []
        for key in keys[start:]:
            if not key.startswith(prefix):
                break
            out += self.index[index][key]
        return out

    def changed(self) -> None:
        """Re-derive and re-index after an action changed the plan."""
        self.settle()
        self.reindex()

    # -- lookups ----------------------------------------------------------------------------

    def job(self, job_id: str) -> Job:
        """Return the job with this id or raise NotFound."""
        try:
            return self.jobs_by_id[job_id]
        except KeyError as e:
            raise NotFound(f"No job with the provided ID {job_id} was found in the plan.") from e

    def run(self, run_id: str) -> tuple[Job, Run]:
        """Return the job and run with this run id or raise NotFound."""
        try:
            return self.runs_by_id[run_id]
        except KeyError as e:
            raise NotFound(
                f"No job run instances were found with the provided run ID {run_id}."
            ) from e

    def stream(self, stream_id: str) -> Stream:
        """Return the job stream with this id or raise NotFound."""
        try:
            return self.streams_by_id[stream_id]
        except KeyError as e:
            raise NotFound(
                f"No job stream with the provided ID {stream_id} was found in the plan."
            ) from e

    def workstation_by_id(self, ws_id: str) -> Workstation:
        """Return the workstation with this id or raise NotFound."""
        try:
            return self.workstations_by_id[ws_id]
        except KeyError as e:
            raise NotFound(
                f"No workstation with the provided ID {ws_id} was found in the plan."
            ) from e

    def resource_by_id(self, res_id: str) -> Resource:
        """Return the resource with this id or raise NotFound."""
        try:
            return self.resources_by_id[res_id]
        except KeyError as e:
            raise NotFound(
                f"No resource with the provided ID {res_id} was found in the plan."
            ) from e

    def prompt_by_id(self, prompt_id: str) -> Prompt:
        """Return the prompt with this id or raise NotFound."""
        try:
            return self.prompts_by_id[prompt_id]
        except KeyError as e:
            raise NotFound(
                f"No prompt with the provided ID {prompt_id} was found in the plan."
            ) from e

    def new_run(
        self,
        job: Job,
        status: str,
        rerun_type: str,
        start: datetime | None,
        return_code: int | None = None,
        log: str | None = None,
    ) -> Run:
        """Append a new run to ``job`` (rerun) and return it."""
        run = self._new_run(
            job, len(job.runs) + 1, status, None, return_code, start, None, log, rerun_type
        )
        job.runs.append(run)
        return run

    def all_jobs(self) -> Iterable[Job]:
        """Return the jobs in plan order."""
        return self.jobs

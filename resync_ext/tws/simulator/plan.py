"""The simulated plan: built from a scenario, derived like the product derives it, indexed.

Everything a scenario does not say is derived here: stable ids (uuid5 of the names), job runs,
start/end times from the stream's scheduled time and the predecessors, the sub-status of waiting
jobs from what holds them (predecessors, time, prompts, files, agent, fence, resources, limits),
and indexes by status, workstation, stream and name so that queries on 50 000 jobs stay fast.
"""

from __future__ import annotations

import threading
import uuid
import zlib
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from resync_ext.tws.simulator import generate
from resync_ext.tws.simulator.errors import NotFound, ScenarioError
from resync_ext.tws.simulator.model import (
    FileDep,
    Job,
    Prompt,
    Resource,
    Run,
    Stream,
    Workstation,
)
from resync_ext.tws.simulator.scenario import (
    JobSpec,
    JobStreamSpec,
    ScenarioSpec,
    WorkstationSpec,
)
from resync_ext.tws.simulator.status import NOT_STARTED, RELEASING, STARTED, stream_status
from resync_ext.tws.simulator.timeutil import parse_duration, parse_instant

_NAMESPACE = uuid.UUID("6f1c2a9e-3b5d-5e7f-9a1b-2c3d4e5f6a7b")
_RUNNING = frozenset({"EXEC", "SUCCP", "ABENP", "BOUND"})


def stable_id(*parts: str) -> str:
    """Return a UUID that depends only on the names given (uuid5)."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def spread(text: str, low: int, high: int) -> int:
    """Return a deterministic integer in [low, high] picked from ``text``."""
    return low + zlib.crc32(text.encode()) % (high - low + 1)


class Plan:
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

    # -- building ---------------------------------------------------------------------------

    def _add_workstation(self, ws: WorkstationSpec, master: bool = False) -> Workstation:
        master = master or ws.type.upper() in ("MASTER", "MANAGER")
        record = Workstation(
            id=stable_id("workstation", ws.name),
            name=ws.name,
            type="MANAGER" if master else ws.type.upper(),
            linked=ws.linked,
            running=ws.running,
            limit=ws.limit,
            fence=ws.fence,
            os=ws.os.upper(),
            node=ws.node or f"{ws.name.lower().replace('_', '-')}.example.com",
            domain=ws.domain,
            version=ws.version or self.engine.version,
            description=ws.description,
            ignore=ws.ignore,
            master=master,
        )
        self.workstations[ws.name] = record
        return record

    def workstation(self, name: str, master: bool = False) -> Workstation:
        """Return the named workstation, adding an implicit one (linked) when undeclared."""
        found = self.workstations.get(name.lstrip("/"))
        if found is not None:
            return found
        return self._add_workstation(WorkstationSpec(name=name.lstrip("/")), master=master)

    def _build_catalogs(self) -> None:
        for res in self.spec.resources:
            self.resources[res.name] = Resource(
                id=stable_id("resource", res.workstation, res.name),
                name=res.name,
                workstation=self.workstation(res.workstation),
                quantity=res.quantity,
                in_use_fixed=res.in_use,
                description=res.description,
            )
        for number, prompt in enumerate(self.spec.prompts, start=1):
            self.prompts[prompt.name] = Prompt(
                id=stable_id("prompt", prompt.name),
                name=prompt.name,
                text=prompt.text,
                status=prompt.status.upper(),
                workstation=self.workstation(prompt.workstation or "MDM", master=True),
                number=number,
            )

    def _build_streams(self, specs: list[JobStreamSpec]) -> None:
        seen: set[str] = set()
        for position, spec in enumerate(specs):
            if spec.name in seen:
                raise ScenarioError(f"job stream {spec.name!r} appears twice")
            seen.add(spec.name)
            stream = Stream(
                id=stable_id("jobstream", spec.name),
                name=spec.name,
                workstation=self.workstation(spec.workstation, master=spec.workstation == "MDM"),
                sched_time=parse_instant(spec.sched_time),
                priority=spec.priority,
                limit=spec.limit,
                position=position,
                status_override=spec.status.upper() if spec.status else None,
                jsid=f"0AAAAAAAAA{position:04X}",
            )
            self.streams.append(stream)
            names: set[str] = set()
            for index, job_spec in enumerate(spec.jobs, start=1):
                if job_spec.name in names:
                    raise ScenarioError(f"job {spec.name}.{job_spec.name} appears twice")
                names.add(job_spec.name)
                stream.jobs.append(self._build_job(stream, job_spec, index))

    def _build_job(self, stream: Stream, spec: JobSpec, position: int) -> Job:
        job_id = stable_id("job", stream.name, spec.name)
        ws = self.workstation(spec.workstation or stream.workstation.name)
        estimated = (
            parse_duration(spec.estimated_duration)
            if spec.estimated_duration is not None
            else timedelta(seconds=spread(job_id, 30, 900))
        )
        job = Job(
            id=job_id,
            name=spec.name,
            stream=stream,
            workstation=ws,
            position=position,
            priority=spec.priority,
            orig_priority=spec.priority if spec.priority else 10,
            critical=spec.critical,
            requires_confirmation=spec.confirm,
            deadline=parse_instant(spec.deadline) if spec.deadline else None,
            at=parse_instant(spec.at) if spec.at else None,
            estimated=estimated,
            max_duration=parse_duration(spec.max_duration) if spec.max_duration else None,
            late_action=spec.late_action,
            command=spec.command or f"/opt/{stream.name.lower()}/bin/{spec.name.lower()}.sh",
            user=spec.user or ("twsuser" if ws.os == "WINDOWS" else "wauser"),
            description=spec.description,
            rerun_spec=spec.rerun,
            order=len(self.jobs),
        )
        for attempt, past in enumerate(spec.previous_runs, start=1):
            job.runs.append(
                self._new_run(
                    job,
                    attempt,
                    past.status.upper(),
                    None,
                    past.return_code,
                    past.start,
                    past.end,
                    past.log,
                    "REGULAR" if attempt == 1 else "RERUN",
                )
            )
        attempt = len(job.runs) + 1
        job.runs.append(
            self._new_run(
                job,
                attempt,
                spec.status,
                spec.substatus,
                spec.return_code,
                spec.start,
                spec.end,
                spec.log,
                "REGULAR" if attempt == 1 else "RERUN",
            )
        )
        try:
            job.needs = [(self.resources[n.name], n.quantity) for n in spec.needs]
            job.prompts = [self.prompts[p] for p in spec.prompts]
        except KeyError as e:
            raise ScenarioError(f"job {stream.name}.{spec.name} names unknown {e}") from e
        job.opens = [
            FileDep(stable_id("file", job_id, f.path), f.path, f.exists) for f in spec.opens
        ]
        self.jobs.append(job)
        return job

    def _new_run(
        self,
        job: Job,
        attempt: int,
        status: str,
        substatus: str | None,
        return_code: int | None,
        start: datetime | None,
        end: datetime | None,
        log: str | None,
        rerun_type: str,
    ) -> Run:
        started = status in STARTED or status == "FAIL"
        if started:
            self._job_number += 1
        if return_code is None and status == "SUCC":
            return_code = 0
        return Run(
            id=stable_id("run", job.id, str(attempt)),
            attempt=attempt,
            status=status,
            substatus=substatus,
            return_code=return_code,
            start=parse_instant(start) if start else None,
            end=parse_instant(end) if end else None,
            log=log,
            job_number=self._job_number if started else None,
            rerun_type=rerun_type,
        )

    def _resolve_follows(self, specs: list[JobStreamSpec]) -> None:
        by_name = {s.name: s for s in self.streams}
        jobs_by_key = {(j.stream.name, j.name): j for j in self.jobs}

        def resolve(ref: str, here: Stream, owner: str) -> Job | Stream:
            stream_name, _, job_name = ref.rpartition(".")
            if not stream_name:  # "JOB" in the same stream, or a stream name for streams
                if (here.name, ref) in jobs_by_key and owner != "stream":
                    return jobs_by_key[(here.name, ref)]
                if ref in by_name:
                    return by_name[ref]
            elif (stream_name, job_name) in jobs_by_key:
                return jobs_by_key[(stream_name, job_name)]
            raise ScenarioError(f"{owner} in {here.name} follows unknown {ref!r}")

        for stream, spec in zip(self.streams, specs, strict=True):
            for ref in spec.follows:
                self._link(resolve(ref, stream, "stream"), stream)
            previous: Job | None = None
            for job, job_spec in zip(stream.jobs, spec.jobs, strict=True):
                refs = list(job_spec.follows)
                if spec.chain and not refs and previous is not None:
                    refs = [previous.name]
                for ref in refs:
                    self._link(resolve(ref, stream, f"job {job.name}"), job)
                previous = job

    @staticmethod
    def _link(pred: Job | Stream, succ: Job | Stream) -> None:
        if isinstance(pred, Job):
            succ.follows_jobs.append(pred)
        else:
            succ.follows_streams.append(pred)
        if isinstance(succ, Job):
            pred.successors.append(succ)
        else:
            pred.stream_successors.append(succ)

    def _derive_times(self) -> None:
        done: set[str] = set()

        def visit(job: Job) -> None:
            if job.id in done:
                return
            done.add(job.id)
            preds = job.follows_jobs + [j for s in job.follows_streams for j in s.jobs]
            for pred in preds:
                visit(pred)
            run = job.run
            if run.status not in STARTED and run.status != "FAIL":
                return
            if run.start is None:
                ends = [p.run.end for p in preds if p.run.end is not None]
                base = max([job.stream.sched_time, job.at or job.stream.sched_time, *ends])
                run.start = min(
                    base + timedelta(seconds=spread(run.id, 2, 25)), self.now - timedelta(seconds=1)
                )
            if run.end is None and run.status not in _RUNNING and run.status != "PEND":
                length = job.estimated or timedelta(minutes=1)
                factor = spread(run.id + "d", 80, 120) / 100
                run.end = min(run.start + length * factor, self.now)
                if run.status == "FAIL":
                    run.end = run.start
            elif run.end is None and run.status == "PEND":
                run.end = min(run.start + (job.estimated or timedelta(minutes=1)), self.now)

        for job in self.jobs:
            visit(job)

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

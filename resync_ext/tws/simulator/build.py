"""Building a plan's records from a scenario: ids, workstations, runs, follows, times.

Ids are uuid5 of the names, so they are stable across restarts. Times a scenario leaves out are
derived: a job that ran starts after its stream's scheduled time and its predecessors' ends and
lasts about its estimated duration (never past the frozen ``now``).
"""

from __future__ import annotations

import functools
import uuid
import zlib
from datetime import datetime, timedelta

from resync_ext.tws.simulator.errors import ScenarioError
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
    EngineSpec,
    JobSpec,
    JobStreamSpec,
    ScenarioSpec,
    WorkstationSpec,
)
from resync_ext.tws.simulator.status import STARTED
from resync_ext.tws.simulator.timeutil import parse_duration, parse_instant

_NAMESPACE = uuid.UUID("6f1c2a9e-3b5d-5e7f-9a1b-2c3d4e5f6a7b")
_RUNNING = frozenset({"EXEC", "SUCCP", "ABENP", "BOUND"})


@functools.lru_cache(maxsize=1 << 18)  # serialising a page asks for the same ids again and again
def stable_id(*parts: str) -> str:
    """Return a UUID that depends only on the names given (uuid5)."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def spread(text: str, low: int, high: int) -> int:
    """Return a deterministic integer in [low, high] picked from ``text``."""
    return low + zlib.crc32(text.encode()) % (high - low + 1)


class PlanBuilder:
    """Turn scenario specs into the plan's records (the building half of ``Plan``)."""

    spec: ScenarioSpec
    now: datetime
    engine: EngineSpec
    workstations: dict[str, Workstation]
    resources: dict[str, Resource]
    prompts: dict[str, Prompt]
    streams: list[Stream]
    jobs: list[Job]
    _job_number: int

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
            recovery=spec.recovery,
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

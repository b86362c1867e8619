"""In-memory objects of the simulated plan (jobs, runs, streams, workstations, resources).

These are the simulator's own records, cheap to filter; ``serialize.py`` turns the page a client
asked for into the product's JSON. References between records are direct object references.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from resync_ext.tws.simulator.scenario import RecoverySpec, RunSpec
from resync_ext.tws.simulator.status import common_status


@dataclass(slots=True, eq=False)
class Workstation:
    """Hold one workstation of the plan."""

    id: str
    name: str
    type: str
    linked: bool
    running: bool
    limit: int
    fence: int
    os: str
    node: str
    domain: str
    version: str
    description: str | None = None
    ignore: bool = False
    master: bool = False

    @property
    def key(self) -> str:
        """Return the folder-qualified name the product uses in references (``/AGT_LNX01``)."""
        return f"/{self.name}"

    def active_states(self) -> list[str]:
        """Derive ``activeStates`` from the link and process flags."""
        states: list[str] = []
        if self.master:
            states.append("MASTER")
        if self.linked:
            states += ["LINKED", "FULLY_LINKED"] if self.master else ["LINKED"]
        if self.running:
            states.append("RUNNING")
            if self.linked:
                states.append("JOBMAN_UP")
            if self.master:
                states += ["WRITER_RUNNING", "MONMAN", "EVT_PROC_RUNNING"]
        return states


@dataclass(slots=True, eq=False)
class Resource:
    """Hold one resource and its fixed usage (``None``: derived from holders)."""

    id: str
    name: str
    workstation: Workstation
    quantity: int
    in_use_fixed: int | None
    description: str | None = None


@dataclass(slots=True, eq=False)
class Prompt:
    """Hold one global prompt."""

    id: str
    name: str
    text: str
    status: str
    workstation: Workstation
    number: int


@dataclass(slots=True, eq=False)
class FileDep:
    """Hold one file (``opens``) dependency."""

    id: str
    path: str
    exists: bool


@dataclass(slots=True, eq=False)
class Run:
    """Hold one run of a job: the last one carries the job's current status."""

    id: str
    attempt: int
    status: str
    substatus: str | None
    return_code: int | None
    start: datetime | None
    end: datetime | None
    log: str | None
    job_number: int | None
    rerun_type: str = "REGULAR"
    confirmed: bool = False

    @property
    def common_status(self) -> str:
        """Return the run's common status."""
        return common_status(self.status, self.substatus)


@dataclass(slots=True, eq=False)
class Job:
    """Hold one job of the plan with its runs and dependencies."""

    id: str
    name: str
    stream: Stream
    workstation: Workstation
    position: int
    priority: int
    orig_priority: int
    critical: bool
    requires_confirmation: bool
    deadline: datetime | None
    at: datetime | None
    estimated: timedelta | None
    max_duration: timedelta | None
    late_action: str | None
    command: str
    user: str
    description: str | None
    runs: list[Run] = field(default_factory=list)
    follows_jobs: list[Job] = field(default_factory=list)
    follows_streams: list[Stream] = field(default_factory=list)
    needs: list[tuple[Resource, int]] = field(default_factory=list)
    prompts: list[Prompt] = field(default_factory=list)
    opens: list[FileDep] = field(default_factory=list)
    successors: list[Job] = field(default_factory=list)
    stream_successors: list[Stream] = field(default_factory=list)
    deps_released: bool = False
    rerun_spec: RunSpec | None = None
    recovery: RecoverySpec | None = None
    order: int = 0  # position in plan order, used to keep query results stable

    @property
    def run(self) -> Run:
        """Return the last run (the current one)."""
        return self.runs[-1]

    @property
    def status(self) -> str:
        """Return the internal status of the current run."""
        return self.runs[-1].status

    @property
    def substatus(self) -> str | None:
        """Return the sub-status of the current run."""
        return self.runs[-1].substatus

    @property
    def common_status(self) -> str:
        """Return the common status of the current run."""
        return self.runs[-1].common_status


@dataclass(slots=True, eq=False)
class Stream:
    """Hold one job stream instance of the plan."""

    id: str
    name: str
    workstation: Workstation
    sched_time: datetime
    priority: int
    limit: int
    position: int
    status_override: str | None = None
    jobs: list[Job] = field(default_factory=list)
    follows_jobs: list[Job] = field(default_factory=list)
    follows_streams: list[Stream] = field(default_factory=list)
    successors: list[Job] = field(default_factory=list)
    stream_successors: list[Stream] = field(default_factory=list)
    jsid: str = ""

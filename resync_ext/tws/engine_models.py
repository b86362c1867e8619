"""Typed views of the engine and its machines: workstations, resources, engine info, counts,
the engine's own job issues and workstation health (REST API v2 field names as aliases)."""

from __future__ import annotations

from pydantic import Field

from .lenient import LenientModel


class Workstation(LenientModel):
    """Describe a workstation (agent, FTA, pool...) in the plan."""

    id: str | None = None
    folder: str | None = None
    name: str = ""
    type: str | None = None
    host_type: str | None = None
    os: str | None = None
    domain_name: str | None = None
    node_name: str | None = None
    limit: int | None = None
    fence: int | None = None
    version: str | None = None
    active_states: list[str] = Field(default_factory=list)
    active_flags: list[str] = Field(default_factory=list)
    ignore: bool | None = None

    @property
    def is_linked(self) -> bool:
        """Return whether the workstation is linked (any LINKED state)."""
        return any(s.endswith("LINKED") and s != "UNLINKED" for s in self.active_states)

    @property
    def problems(self) -> list[str]:
        """Return what stops jobs from running here (unlinked, stopped, limit 0, fence)."""
        if self.ignore:
            return []
        states = set(self.active_states)
        out: list[str] = []
        # Pools and remote engines have no link of their own.
        if (self.type or "").upper() not in ("POOL", "D-POOL", "REM-ENG") and not self.is_linked:
            out.append("unlinked")
        if self.active_states and not states & {"RUNNING", "JOBMAN_UP", "ONLINE", "MASTER"}:
            out.append("stopped")
        if self.limit == 0:
            out.append("limit 0")
        if self.fence is not None and self.fence > 0:
            out.append(f"fence {self.fence}")
        return out


class ResourceHolder(LenientModel):
    """Name a job or stream holding units of a resource."""

    job_stream: str | None = None
    job: str | None = None
    quantity: int | None = None


class Resource(LenientModel):
    """Describe a resource in the plan with its availability."""

    id: str | None = None
    name: str = ""
    workstation: str | None = None
    description: str | None = None
    quantity: int | None = None
    quantity_available: int | None = None
    quantity_in_use: int | None = None
    holders: list[ResourceHolder] = Field(default_factory=list)
    status: str | None = None

    @property
    def is_exhausted(self) -> bool:
        """Return whether no unit is left."""
        if self.quantity_available is not None:
            return self.quantity_available <= 0
        return self.quantity is not None and (self.quantity_in_use or 0) >= self.quantity


class EngineInfo(LenientModel):
    """Describe the engine (version, time zone, licence)."""

    display_version: str | None = None
    full_version: str | None = None
    license_type: str | None = None
    locale: str | None = None
    timezone: str | None = None


class JobCount(LenientModel):
    """Hold a job count, with counts per group when grouping was asked."""

    count: int = 0
    grouped_count: dict[str, int] = Field(default_factory=dict)


class JobIssue(LenientModel):
    """One issue the engine itself reports on a job (``GET /plan/job/issues``: ``Issue``)."""

    id: str | None = None
    issue_message: str | None = None
    issue_type: str | None = None


class HealthStatus(LenientModel):
    """One workstation's answer to ``GET /plan/workstation/action/health-status``
    (``ActionResourceResponseV2``): the engine's message, and whether the check failed."""

    id: str | None = None
    url: str | None = None
    message: str | None = None
    is_error: bool | None = None
    error: bool | None = None

    @property
    def failed(self) -> bool:
        """Return whether the engine reported the check as an error."""
        return bool(self.is_error or self.error)

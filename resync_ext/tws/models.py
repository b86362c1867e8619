"""Typed views of the HWA REST API v2 plan objects (jobs, runs, streams, dependencies).

Attributes are snake_case; the product's camelCase names are the aliases, so
``Job.model_validate(api_json)`` reads the engine's JSON as is. Every field is optional and
reading is lenient (``lenient.py``): a ``null``, a missing field, an unknown field or a value of
the wrong type never fails an object. Workstations, resources and the engine's own answers live
in ``engine_models.py``, the status vocabulary in ``vocabulary.py``; both are re-exported here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, Field

from .engine_models import (
    EngineInfo,
    HealthStatus,
    JobCount,
    JobIssue,
    Resource,
    ResourceHolder,
    Workstation,
)
from .lenient import LenientModel as _Model
from .lenient import Page
from .vocabulary import (
    COMMON_STATUS,
    FAILED_INTERNAL,
    TERMINAL_COMMON,
    TERMINAL_INTERNAL,
    common_status,
    short_name,
)


class CompositeStatus(_Model):
    """Hold the internal status of a job, run or stream with its flags."""

    status: str | None = None
    substatus: str | None = None
    error: bool | None = None
    started: bool | None = None
    canceled: bool | None = None
    cancel_pending: bool | None = None
    dont_run: bool | None = None


class TimeInfo(_Model):
    """Hold the start, end and durations of one run."""

    estimated_duration: str | None = None
    actual_start_time: datetime | None = None
    elapsed_time: str | None = None
    actual_end_time: datetime | None = None


class JobRun(_Model):
    """Describe one run of a job (``jobruns[]``); its ``id`` addresses the job log."""

    id: str | None = None
    job_id: str | None = None
    job_number: int | None = None
    actual_workstation: str | None = None
    common_status: str | None = None
    composite_status: CompositeStatus | None = None
    return_code: int | None = None
    rerun_type: str | None = None
    rerun_job: bool | None = None
    confirmed: bool | None = None
    last_in_rerun_chain: bool | None = None
    time_info: TimeInfo | None = None
    submitted_time: datetime | None = None
    max_duration_gone: bool | None = None
    min_duration_not_reached: bool | None = None
    run_attempt: int | None = None


class JobOptions(_Model):
    """Hold the job's scheduling options."""

    no_operation: bool | None = None
    critical: bool | None = None
    requires_confirmation: bool | None = None
    every: bool | None = None


class JobStatusFlags(_Model):
    """Hold the job's status flags (late, deadline passed, restarted...)."""

    job_late: bool | None = None
    deadline_has_passed: bool | None = None
    restarted: bool | None = None
    until_gone: bool | None = None
    job_stream_cancelled: bool | None = None


class TimeRestrictions(_Model):
    """Hold start, deadline and duration limits in the plan."""

    start_time: datetime | None = None
    deadline_time: datetime | None = None
    latest_start_time: datetime | None = None
    late_action: str | None = None
    max_duration: str | None = None
    min_duration: str | None = None


class DependenciesStats(_Model):
    """Count a flow node's dependencies and the unresolved ones."""

    number_of_dependencies: int | None = None
    number_of_unresolved_dependencies: int | None = None


class Dependency(_Model):
    """Describe one dependency in plan (job, stream, resource, prompt, file...)."""

    dependency_type: str | None = None
    id: str | None = None
    dependency_status: str | None = None
    satisfied: bool | None = None
    job_id: str | None = None
    job_name: str | None = None
    job_stream_id: str | None = None
    job_stream_name: str | None = None
    job_stream_workstation: str | None = None
    predecessor_status: CompositeStatus | None = None
    name: str | None = None  # resource
    workstation: str | None = None
    quantity: int | None = None
    available: int | None = None
    total_quantity: int | None = None
    prompt_name: str | None = None  # prompt
    text: str | None = None
    prompt_status: str | None = None
    file: dict[str, Any] | None = None

    @property
    def is_satisfied(self) -> bool:
        """Return whether the dependency no longer holds its successor."""
        if self.satisfied is not None:
            return self.satisfied
        return self.dependency_status == "SATISFIED"

    def label(self) -> str:
        """Return a short human label, e.g. ``job DAILY_PAY.PAYROLL_EXTRACT``."""
        kind = (self.dependency_type or "").upper()
        if kind in ("INTERNAL", "EXTERNAL_JOB"):
            stream = f"{self.job_stream_name}." if self.job_stream_name else ""
            return f"job {stream}{self.job_name}"
        if kind == "EXTERNAL_JOBSTREAM":
            return f"job stream {self.job_stream_name}"
        if kind == "RESOURCE":
            return f"resource {self.name} (needs {self.quantity}, available {self.available})"
        if kind == "PROMPT":
            text = " ".join((self.text or "").split())
            return f"prompt {self.prompt_name or '?'}" + (f' ("{text}")' if text else "")
        if kind == "FILE":
            path = (self.file or {}).get("fileName") or (self.file or {}).get("name") or "?"
            return f"file {path}"
        return kind.lower() or "dependency"


class JobDefinition(_Model):
    """Hold the definition the job was planned from (task, user, recovery)."""

    name: str | None = None
    workstation: str | None = None
    description: str | None = None
    task: dict[str, Any] | None = None
    is_command: bool | None = None
    estimated_duration: str | None = None
    user_logins: list[str] = Field(default_factory=list)
    recovery_option: str | None = None
    recovery_job_name: str | None = None
    recovery_job_workstation: str | None = None
    recovery_repeat_occurrences: int | None = None
    recovery_repeat_interval: str | None = None
    abend_prompt_name: str | None = None
    abend_prompt_text: str | None = None

    @property
    def recovery_job(self) -> str | None:
        """Return the recovery job as ``WORKSTATION#JOB`` (None without one)."""
        if not self.recovery_job_name:
            return None
        ws = short_name(self.recovery_job_workstation)
        return f"{ws}#{self.recovery_job_name}" if ws else self.recovery_job_name

    @property
    def command(self) -> str | None:
        """Return the task string (script or command) whatever the task type."""
        for body in (self.task or {}).values():
            if isinstance(body, dict) and body.get("taskString"):
                return str(body["taskString"])
        return None


class _Status(_Model):
    composite_status: CompositeStatus | None = None
    common_status: str | None = None

    @property
    def internal_status(self) -> str | None:
        """Return the internal status (``ABEND``, ``HOLD``...)."""
        return self.composite_status.status if self.composite_status else None

    @property
    def substatus(self) -> str | None:
        """Return the sub-status (``HOLD_WAITING_FOR_PREDECESSOR``...)."""
        return self.composite_status.substatus if self.composite_status else None

    @property
    def status(self) -> str | None:
        """Return the common status, derived from the internal one when missing."""
        return self.common_status or common_status(self.internal_status, self.substatus)

    @property
    def is_failure(self) -> bool:
        """Return whether it ended in error (ABEND, FAIL)."""
        return self.status == "ERROR" or (self.internal_status or "") in FAILED_INTERNAL

    @property
    def is_terminal(self) -> bool:
        """Return whether the current run is over (until a rerun or confirm)."""
        return (self.internal_status or "") in TERMINAL_INTERNAL or self.status in TERMINAL_COMMON


class Job(_Status):
    """Describe a job in the plan (``JobInPlanV2``)."""

    flow_node_type: str | None = "JOB"
    id: str | None = None
    plan_id: str | None = None
    folder: str | None = None
    name: str = ""
    workstation: str | None = None
    job_stream_id: str | None = None
    job_stream_name: str | None = None
    job_stream_workstation: str | None = None
    priority: int | None = None
    orig_priority: int | None = None
    sched_time: datetime | None = None
    time_zone: str | None = None
    job_options: JobOptions | None = None
    job_status_flags: JobStatusFlags | None = None
    composite_status: CompositeStatus | None = Field(
        default=None,
        validation_alias=AliasChoices("lastRunCompositeStatus", "compositeStatus"),
    )
    common_status: str | None = Field(
        default=None, validation_alias=AliasChoices("lastRunCommonStatus", "commonStatus")
    )
    job_definition: JobDefinition | None = None
    jobruns: list[JobRun] = Field(default_factory=list)
    dependencies: list[Dependency] = Field(default_factory=list)
    dependencies_stats: DependenciesStats | None = None
    time_restrictions: TimeRestrictions | None = None
    critical_start: datetime | None = None
    confidence_interval: str | None = None
    end_time: datetime | None = None

    @property
    def latest_run(self) -> JobRun | None:
        """Return the last run in the rerun chain (or the last one listed)."""
        for run in reversed(self.jobruns):
            if run.last_in_rerun_chain:
                return run
        return self.jobruns[-1] if self.jobruns else None

    @property
    def return_code(self) -> int | None:
        """Return the exit code of the latest run."""
        run = self.latest_run
        return run.return_code if run else None

    @property
    def is_critical(self) -> bool:
        """Return whether the job is flagged critical."""
        return bool(self.job_options and self.job_options.critical)

    @property
    def is_late(self) -> bool:
        """Return whether it is late, past its deadline or past its maximum duration."""
        flags = self.job_status_flags
        run = self.latest_run
        return bool(
            (flags and (flags.job_late or flags.deadline_has_passed))
            or (run and run.max_duration_gone)
        )

    @property
    def qualified_name(self) -> str:
        """Return ``WORKSTATION#STREAM.JOB`` as conman prints it."""
        ws = short_name(self.job_stream_workstation or self.workstation)
        stream = f"{self.job_stream_name}." if self.job_stream_name else ""
        return f"{ws}#{stream}{self.name}" if ws else f"{stream}{self.name}"


class JobStreamStats(_Model):
    """Count a job stream's jobs by outcome (product spelling kept)."""

    number_of_job: int | None = None
    number_of_successfull_job: int | None = None
    number_of_abended_job: int | None = None
    number_of_failed_job: int | None = None
    number_of_executing_job: int | None = None
    number_of_not_running_job: int | None = None


class JobStreamStatusFlags(_Model):
    """Hold a job stream's status flags (late, released, pending predecessor)."""

    released: bool | None = None
    late_job_stream: bool | None = None
    pending_predecessor: bool | None = None


class JobStream(_Status):
    """Describe a job stream in the plan (``JobStreamInPlanV2``)."""

    flow_node_type: str | None = "JOBSTREAM"
    id: str | None = None
    folder: str | None = None
    name: str = ""
    workstation: str | None = None
    sched_time: datetime | None = None
    priority: int | None = None
    limit: int | None = None
    job_stream_stats: JobStreamStats | None = None
    js_status_flags: JobStreamStatusFlags | None = None
    time_info: TimeInfo | None = None
    dependencies: list[Dependency] = Field(default_factory=list)
    time_restrictions: TimeRestrictions | None = None
    jobs: list[Job] = Field(default_factory=list)

    @property
    def is_late(self) -> bool:
        """Return whether the engine flags the stream late (``jsStatusFlags.lateJobStream``)."""
        return bool(self.js_status_flags and self.js_status_flags.late_job_stream)


def parse_flow_node(data: dict[str, Any]) -> Job | JobStream:
    """Parse a predecessor/successor entry by its ``flowNodeType``."""
    if str(data.get("flowNodeType", "JOB")).upper() == "JOBSTREAM":
        return JobStream.model_validate(data)
    return Job.model_validate(data)


__all__ = [
    "COMMON_STATUS",
    "FAILED_INTERNAL",
    "TERMINAL_COMMON",
    "TERMINAL_INTERNAL",
    "CompositeStatus",
    "DependenciesStats",
    "Dependency",
    "EngineInfo",
    "HealthStatus",
    "Job",
    "JobCount",
    "JobDefinition",
    "JobIssue",
    "JobOptions",
    "JobRun",
    "JobStatusFlags",
    "JobStream",
    "JobStreamStats",
    "JobStreamStatusFlags",
    "Page",
    "Resource",
    "ResourceHolder",
    "TimeInfo",
    "TimeRestrictions",
    "Workstation",
    "common_status",
    "parse_flow_node",
    "short_name",
]

"""Scenario files: the schema (SPEC.md §2), loading by name or path, and validation.

A scenario is JSON or YAML. Beside the keys of SPEC.md §2 the simulator understands a few
optional ones, so that a realistic night can be written compactly:

- ``prompts: [{name, text, status}]`` at the top, and ``prompts: [NAME]`` on a job;
- ``opens: [PATH | {path, exists}]`` on a job (file dependencies; a bare path exists);
- ``at`` on a job (earliest start); ``max_duration`` and ``late_action`` on a job;
- ``confirm: true`` on a job (requires confirmation, ends in PEND);
- ``previous_runs: [{status, return_code, start, end, log}]`` (the rerun history before the
  current run) and ``rerun: {status, return_code, log}`` (what a rerun action produces;
  by default a rerun starts executing);
- ``chain: true`` on a stream (each job follows the one before unless it says otherwise) and
  ``defaults: {...}`` on a stream (job keys applied to every job of the stream);
- ``status`` on a stream (forces a stream status such as STUCK instead of deriving it);
- ``recovery: {option, job, workstation, prompt}`` on a job (the recovery option, recovery job
  and abend prompt text of its definition);
- ``previous_plan: {now, job_streams}`` at the top: yesterday's plan, served under its own
  ``plan_id`` (same workstations, resources and prompts) for questions after the turnover.

Jobs whose ``start``/``end`` are omitted get them derived from the stream's scheduled time, the
predecessors' ends and ``estimated_duration``; a waiting job (HOLD/READY/WAIT without a
sub-status) gets its sub-status derived from what holds it.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from resync_ext.tws.simulator.errors import ScenarioError
from resync_ext.tws.simulator.status import JOB_STATUSES, SUBSTATUSES

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EngineSpec(_Spec):
    """Describe the engine (version, time zone)."""

    version: str = "10.2.5"
    full_version: str | None = None
    timezone: str = "UTC"
    locale: str = "en"
    license_type: str = "PERSERVER"


# Enum values of REST API v2 (WorkstationType, OperatingSystemV2, LateAction, PromptStatus): a
# scenario can only say what the document lets an engine answer.
WORKSTATION_TYPES = frozenset(
    {"AGENT", "POOL", "D-POOL", "REM-ENG", "MANAGER", "FTA", "X-AGENT", "S-AGENT",
     "WORKLOAD_BROKER", "DOMAIN_MANAGER"}
)  # fmt: skip
SYSTEMS = frozenset(
    {"WINDOWS", "UNIX", "LINUX", "ZOS", "AIX", "HPUX", "SOLARIS", "AS400", "WEB", "OTHER"}
)
PROMPT_STATUSES = frozenset({"NOT_ASKED", "ASKED", "ANSWERED_YES", "ANSWERED_NO"})


def _one_of(value: str, allowed: frozenset[str], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}: one of {', '.join(sorted(allowed))}")
    return value


class WorkstationSpec(_Spec):
    """Describe a workstation; ``linked: false`` is an unlinked agent."""

    name: str
    type: str = "AGENT"
    linked: bool = True
    running: bool = True
    limit: int = 100
    fence: int = 0
    os: str = "LINUX"
    node: str | None = None
    domain: str = "MASTERDM"
    version: str | None = None
    description: str | None = None
    ignore: bool = False

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        return _one_of(value.upper(), WORKSTATION_TYPES, "workstation type")

    @field_validator("os")
    @classmethod
    def _known_os(cls, value: str) -> str:
        return _one_of(value.upper(), SYSTEMS, "operating system")


class ResourceSpec(_Spec):
    """Describe a resource; ``in_use`` defaults to what running jobs hold."""

    name: str
    workstation: str
    quantity: int
    in_use: int | None = None
    description: str | None = None


class PromptSpec(_Spec):
    """Describe a global prompt (status NOT_ASKED, ASKED, ANSWERED_YES, ANSWERED_NO)."""

    name: str
    text: str
    status: str = "ASKED"
    workstation: str | None = None

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        return _one_of(value.upper(), PROMPT_STATUSES, "prompt status")


class NeedSpec(_Spec):
    """Name a resource a job needs and how many units."""

    name: str
    quantity: int = 1


class FileSpec(_Spec):
    """Name a file a job waits for (``opens``) and whether it exists."""

    path: str
    exists: bool = True


class RunSpec(_Spec):
    """Describe a past run of a job, or what a rerun will produce."""

    status: str = "SUCC"
    return_code: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    log: str | None = None


class RecoverySpec(_Spec):
    """Describe a job's recovery: option (STOP, CONTINUE, RERUN...), job and abend prompt."""

    option: str = "STOP"
    job: str | None = None
    workstation: str | None = None
    prompt: str | None = None

    @field_validator("option")
    @classmethod
    def _known_option(cls, value: str) -> str:
        value = value.upper()
        if value not in ("STOP", "CONTINUE", "CONTINUE_PROMPT", "RERUN", "RERUN_PROMPT"):
            raise ValueError(f"unknown recovery option {value!r}")
        return value


class JobSpec(_Spec):
    """Describe a job of a stream (internal status, times, dependencies, log)."""

    name: str
    workstation: str | None = None
    status: str = "SUCC"
    substatus: str | None = None
    return_code: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    estimated_duration: str | int | None = None
    max_duration: str | int | None = None
    late_action: str | None = None
    at: datetime | None = None
    priority: int = 10
    critical: bool = False
    deadline: datetime | None = None
    confirm: bool = False
    follows: list[str] = Field(default_factory=list)
    needs: list[NeedSpec] = Field(default_factory=list)
    prompts: list[str] = Field(default_factory=list)
    opens: list[FileSpec] = Field(default_factory=list)
    command: str | None = None
    user: str | None = None
    description: str | None = None
    log: str | None = None
    previous_runs: list[RunSpec] = Field(default_factory=list)
    rerun: RunSpec | None = None
    recovery: RecoverySpec | None = None

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        value = value.upper()
        if value not in JOB_STATUSES:
            raise ValueError(f"unknown internal status {value!r}")
        return value

    @field_validator("late_action")
    @classmethod
    def _known_late_action(cls, value: str | None) -> str | None:
        return (
            _one_of(value.lower(), frozenset({"continue", "kill"}), "late action")
            if value
            else None
        )

    @field_validator("substatus")
    @classmethod
    def _known_substatus(cls, value: str | None) -> str | None:
        if value is not None and value.upper() not in SUBSTATUSES:
            raise ValueError(f"unknown sub-status {value!r}")
        return value.upper() if value else None

    @field_validator("needs", mode="before")
    @classmethod
    def _needs(cls, value: list[Any]) -> list[Any]:
        return [{"name": v} if isinstance(v, str) else v for v in value or []]

    @field_validator("opens", mode="before")
    @classmethod
    def _opens(cls, value: list[Any]) -> list[Any]:
        return [{"path": v} if isinstance(v, str) else v for v in value or []]


class JobStreamSpec(_Spec):
    """Describe a job stream and its jobs."""

    name: str
    workstation: str = "MDM"
    sched_time: datetime
    follows: list[str] = Field(default_factory=list)
    priority: int = 10
    limit: int = -1
    status: str | None = None
    chain: bool = False
    defaults: dict[str, Any] = Field(default_factory=dict)
    jobs: list[JobSpec] = Field(default_factory=list)

    @field_validator("jobs", mode="before")
    @classmethod
    def _apply_defaults(cls, value: list[Any], info: Any) -> list[Any]:
        defaults = info.data.get("defaults") or {}
        return [{**defaults, **job} if isinstance(job, dict) else job for job in value or []]


class GenerateSpec(_Spec):
    """Ask for a synthetic bulk plan (seeded, deterministic)."""

    streams: int = 0
    jobs_per_stream: int = 0
    abend_rate: float = Field(0.02, ge=0.0, le=1.0)
    seed: int = 1
    workstations: int = 40


class FaultsSpec(_Spec):
    """Faults active from the start."""

    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 500
    down: bool = False
    auth_fail: bool = False
    error_paths: list[str] = Field(default_factory=list)


class PreviousPlanSpec(_Spec):
    """Describe the plan before the current one (its own clock and job streams)."""

    now: datetime
    job_streams: list[JobStreamSpec] = Field(default_factory=list)


class ScenarioSpec(_Spec):
    """Describe a whole plan: engine, workstations, resources, prompts, streams, faults."""

    name: str = "scenario"
    description: str | None = None
    now: datetime | None = None
    engine: EngineSpec = Field(default_factory=EngineSpec)
    workstations: list[WorkstationSpec] = Field(default_factory=list)
    resources: list[ResourceSpec] = Field(default_factory=list)
    prompts: list[PromptSpec] = Field(default_factory=list)
    job_streams: list[JobStreamSpec] = Field(default_factory=list)
    generate: GenerateSpec | None = None
    faults: FaultsSpec = Field(default_factory=FaultsSpec)
    previous_plan: PreviousPlanSpec | None = None


def previous_spec(spec: ScenarioSpec) -> ScenarioSpec | None:
    """Return the scenario of the plan before ``spec``'s (None when it describes none)."""
    prev = spec.previous_plan
    if prev is None:
        return None
    return spec.model_copy(
        update={
            "name": f"{spec.name}-previous",
            "now": prev.now,
            "job_streams": prev.job_streams,
            "generate": None,
            "previous_plan": None,
        }
    )


def scenario_path(name_or_path: str | Path) -> Path:
    """Resolve a bundled scenario name (``demo``) or a file path."""
    text = str(name_or_path)
    for candidate in (SCENARIO_DIR / f"{text}.yaml", SCENARIO_DIR / f"{text}.json"):
        if "/" not in text and candidate.is_file():
            return candidate
    path = Path(text).expanduser()
    if path.is_file():
        return path
    bundled = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml")))
    raise ScenarioError(f"no scenario named or found at {text!r} (bundled: {bundled})")


def parse_scenario(data: dict[str, Any], default_name: str = "scenario") -> ScenarioSpec:
    """Validate a scenario mapping."""
    if not isinstance(data, dict):
        raise ScenarioError("a scenario must be a mapping at the top level")
    data = {"name": default_name, **data}
    try:
        return ScenarioSpec.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(f"invalid scenario {data.get('name')!r}: {e}") from e


def load_scenario(source: str | Path | dict[str, Any] | ScenarioSpec) -> ScenarioSpec:
    """Load a scenario from a bundled name, a JSON/YAML path, a mapping or a spec (blocking)."""
    if isinstance(source, ScenarioSpec):
        return source
    if isinstance(source, dict):
        return parse_scenario(source)
    path = scenario_path(source)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as e:
        raise ScenarioError(f"cannot read scenario {path}: {e}") from e
    return parse_scenario(data, default_name=path.stem)

"""Synthetic bulk plans (``generate:`` in a scenario): seeded, deterministic, realistic enough.

Streams are spread over the night around the scenario's ``now``; each is a chain of jobs. A
stream scheduled in the past has run as far as its jobs' durations allow: finished jobs are SUCC
(or ABEND with probability ``abend_rate``, with a realistic error in the log), the job at the
front is EXEC, the rest wait (their sub-status is derived by the plan). Streams scheduled after
``now`` wait for their time.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from resync_ext.tws.simulator.scenario import (
    GenerateSpec,
    JobSpec,
    JobStreamSpec,
    WorkstationSpec,
)

_AREAS = ("PAY", "BIL", "ETL", "BKP", "RPT", "FTP", "CRM", "INV", "GL", "HR", "DWH", "EDI")
_STEPS = (
    "EXTRACT",
    "VALIDATE",
    "TRANSFORM",
    "LOAD",
    "RECONCILE",
    "REPORT",
    "ARCHIVE",
    "SEND",
    "RECEIVE",
    "CLEANUP",
    "INDEX",
    "NOTIFY",
    "SORT",
    "MERGE",
    "EXPORT",
    "CHECK",
)

# (return code, log body) of the failures a bulk plan shows; messages as the tools print them.
_FAILURES: tuple[tuple[int, str], ...] = (
    (12, "ORA-01017: invalid username/password; logon denied\nSQL*Plus: connection failed"),
    (1, "cp: cannot create regular file '/data/out/extract.dat': No space left on device"),
    (2, "ERROR: input file /data/in/feed.csv not found"),
    (8, "ORA-00060: deadlock detected while waiting for resource"),
    (4, "curl: (28) Operation timed out after 300000 milliseconds with 0 bytes received"),
    (139, "Segmentation fault (core dumped)"),
    (3, "java.lang.OutOfMemoryError: Java heap space\n\tat com.example.batch.Loader.run"),
)


# Validated templates, copied with updates: validating 50 000 specs one by one takes seconds.
# The copies share the templates' empty lists, which nothing mutates.
_JOB = JobSpec(name="TEMPLATE")
_STREAM = JobStreamSpec(name="TEMPLATE", sched_time=datetime(2026, 1, 1), chain=True)


def workstations(spec: GenerateSpec) -> list[WorkstationSpec]:
    """Return the generated agents (``AGT_G001``...): mostly linked, a seeded few unlinked."""
    rng = random.Random(spec.seed * 7919)
    out = []
    for n in range(1, spec.workstations + 1):
        linked = rng.random() > 0.03
        out.append(
            WorkstationSpec.model_construct(
                name=f"AGT_G{n:03d}",
                type="AGENT",
                linked=linked,
                os="WINDOWS" if n % 5 == 0 else "LINUX",
                limit=100,
            )
        )
    return out


def streams(spec: GenerateSpec, now: datetime) -> list[JobStreamSpec]:
    """Return ``spec.streams`` generated job streams of ``spec.jobs_per_stream`` jobs each."""
    rng = random.Random(spec.seed)
    agents = [f"AGT_G{n:03d}" for n in range(1, spec.workstations + 1)]
    out: list[JobStreamSpec] = []
    for s in range(spec.streams):
        area = _AREAS[s % len(_AREAS)]
        sched = now - timedelta(minutes=rng.randint(-240, 600))
        sched = sched.replace(second=0, microsecond=0)
        agent = agents[rng.randrange(len(agents))] if agents else "MDM"
        elapsed = (now - sched).total_seconds()
        clock = 0.0
        failed = False
        jobs: list[JobSpec] = []
        for k in range(spec.jobs_per_stream):
            step = _STEPS[k % len(_STEPS)]
            seconds = rng.randint(20, 1200)
            fields: dict[str, Any] = {
                "name": f"{area}_{step}_{k + 1:02d}",
                "workstation": agent,
                "estimated_duration": seconds,
                "status": "HOLD",
            }
            if not failed and elapsed > 0:
                if clock + seconds <= elapsed:
                    if rng.random() < spec.abend_rate:
                        rc, log = _FAILURES[rng.randrange(len(_FAILURES))]
                        fields.update(status="ABEND", return_code=rc, log=log)
                        failed = True
                    else:
                        fields["status"] = "SUCC"
                elif clock <= elapsed:
                    fields["status"] = "EXEC"
                    failed = True  # the rest of the chain waits behind the running job
                clock += seconds
            jobs.append(_JOB.model_copy(update=fields))
        out.append(
            _STREAM.model_copy(
                update={"name": f"{area}_{s + 1:05d}", "sched_time": sched, "jobs": jobs}
            )
        )
    return out

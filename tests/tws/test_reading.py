"""Lenient reading and the bounded log collector, without a server."""

from __future__ import annotations

import pytest

from resync_ext.tws.guard import is_read_path
from resync_ext.tws.lenient import unread_paths
from resync_ext.tws.log_reader import MAX_LINE_CHARS, LogCollector
from resync_ext.tws.models import Job, JobStream, Workstation


def test_a_job_with_nulls_wrong_types_and_junk_items_is_read_and_what_was_set_aside_named() -> None:
    job = Job.model_validate(
        {
            "name": "PAYROLL_EXTRACT",
            "priority": "high",
            "jobruns": [{"id": "r1", "returnCode": "twelve", "runAttempt": 1}, 7, None],
            "dependencies": None,
            "jobDefinition": {"userLogins": None, "task": "not an object"},
            "lastRunCommonStatus": "ERROR",
            "aFieldOfVersion12": [1, 2],
        }
    )
    assert job.name == "PAYROLL_EXTRACT" and job.priority is None and job.dependencies == []
    assert [r.id for r in job.jobruns] == ["r1"] and job.jobruns[0].return_code is None
    assert job.job_definition is not None and job.job_definition.user_logins == []
    assert job.is_failure
    assert sorted(unread_paths(job)) == sorted(
        [
            "priority='high'",
            "jobruns[1]=7",
            "jobDefinition.task='not an object'",
            "jobruns[0].returnCode='twelve'",
        ]
    )


def test_streams_and_workstations_take_null_lists() -> None:
    stream = JobStream.model_validate({"name": "S", "jobs": None, "jsStatusFlags": None})
    assert stream.jobs == [] and not stream.is_late
    ws = Workstation.model_validate({"name": "W", "activeStates": None, "limit": None})
    assert ws.active_states == [] and ws.limit is None and ws.name == "W"
    with pytest.raises(ValueError):
        Job.model_validate("not an object")  # what is not an object at all stays an error


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_the_collector_keeps_head_error_lines_with_numbers_and_tail_within_the_bound() -> None:
    lines = [f"= header {i}" for i in range(5)]
    lines += [f"copy block {i} é" for i in range(20000)]
    lines[7000] = "ORA-01653: unable to extend table SALES_FACT"
    lines += ["= Exit Status : 12"]
    data = ("\n".join(lines) + "\n").encode()
    collector = LogCollector(8 * 1024)
    for chunk in chunks(data, 777):  # splits lines and the two-byte é across chunks
        collector.feed(chunk)
    log = collector.finish()
    assert log.total_lines == len(lines) and log.total_bytes == len(data)
    assert log.head[:5] == tuple(lines[:5])
    assert log.errors == ((7001, lines[7000]),)
    assert log.tail[-1] == "= Exit Status : 12" and log.tail[-2] == "copy block 19999 é"
    assert log.size <= 8 * 1024 and log.truncated
    assert "[line 7001] ORA-01653" in log.text and "lines (" in log.text


def test_one_endless_line_is_cut_and_a_short_log_is_kept_whole() -> None:
    collector = LogCollector(4096)
    for _ in range(200):
        collector.feed(b"x" * 10_000)
    log = collector.finish()
    assert log.total_lines == 1 and len(log.text) <= MAX_LINE_CHARS
    short = LogCollector(4096)
    short.feed(b"a\nfatal: b\nc")
    kept = short.finish()
    assert kept.text == "a\nfatal: b\nc" and not kept.truncated


def test_the_guard_knows_the_one_read_under_action() -> None:
    assert is_read_path("/plan/workstation/action/health-status")
    assert is_read_path("/plan/workstation/0f3f8534-5d32/action/health-status")
    assert is_read_path("/plan/job/issues")
    for path in (
        "/plan/workstation/action/link",
        "/plan/workstation/action/monitoring-configuration",
        "/plan/workstation/W1/action/health-status/x",
        "/plan/job/action/health-status",
        "/plan/job/J1/action/health-status",
        "/plan/resource/R1/action/health-status",
    ):
        assert not is_read_path(path), path

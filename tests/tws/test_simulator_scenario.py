"""Scenario loading and what the simulator derives from it; the generated bulk plan."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from resync_ext.tws.simulator import Plan, ScenarioError, load_scenario
from resync_ext.tws.simulator.entities import select
from resync_ext.tws.simulator.joblog import render
from resync_ext.tws.simulator.scenario import parse_scenario
from resync_ext.tws.simulator.serialize import job_json, stream_json, workstation_json

SMALL: dict[str, Any] = {
    "name": "small",
    "now": "2026-11-24T07:30:00Z",
    "workstations": [{"name": "AGT_A"}, {"name": "AGT_B", "linked": False}],
    "resources": [{"name": "SLOT", "workstation": "AGT_A", "quantity": 1}],
    "job_streams": [
        {"name": "FIRST", "sched_time": "2026-11-23T22:00:00Z", "chain": True,
         "defaults": {"workstation": "AGT_A"},
         "jobs": [{"name": "A1", "estimated_duration": "PT10M"}, {"name": "A2"},
                  {"name": "A3", "status": "EXEC", "needs": ["SLOT"]}]},
        {"name": "SECOND", "sched_time": "2026-11-23T23:00:00Z", "follows": ["FIRST"],
         "jobs": [{"name": "B1", "status": "HOLD", "workstation": "AGT_A"}]},
        {"name": "THIRD", "sched_time": "2026-11-23T23:00:00Z",
         "jobs": [{"name": "C1", "status": "READY", "workstation": "AGT_A", "needs": ["SLOT"]},
                  {"name": "C2", "status": "READY", "workstation": "AGT_B"},
                  {"name": "C3", "status": "HOLD", "workstation": "AGT_A",
                   "follows": ["FIRST.A1"]}]},
        {"name": "LATER", "sched_time": "2026-11-24T09:00:00Z",
         "jobs": [{"name": "D1", "status": "HOLD"}]},
    ],
}  # fmt: skip


def find(plan: Plan, stream: str, name: str) -> Any:
    return next(j for j in plan.jobs if j.stream.name == stream and j.name == name)


def test_waiting_states_are_derived() -> None:
    plan = Plan(parse_scenario(SMALL))
    assert (find(plan, "SECOND", "B1").status, find(plan, "SECOND", "B1").substatus) == (
        "HOLD",
        "HOLD_WAITING_FOR_PREDECESSOR",
    )  # the whole FIRST stream must end first
    assert find(plan, "THIRD", "C1").substatus == "READY_WAITING_FOR_RESOURCES"
    assert find(plan, "THIRD", "C2").substatus == "READY_WAITING_FOR_AGENT"
    assert (find(plan, "THIRD", "C3").status, find(plan, "THIRD", "C3").substatus) == (
        "READY",
        None,
    )  # its predecessor FIRST.A1 succeeded
    assert find(plan, "LATER", "D1").substatus == "HOLD_WAITING_FOR_TIME"


def test_times_runs_and_statuses_are_derived() -> None:
    plan = Plan(parse_scenario(SMALL))
    a1, a2, a3 = (find(plan, "FIRST", n) for n in ("A1", "A2", "A3"))
    assert a1.run.start > a1.stream.sched_time
    assert a1.run.end is not None and a2.run.start >= a1.run.end  # chained after A1
    assert a3.run.end is None and a3.run.start is not None
    body = job_json(plan, a1)
    assert body["jobruns"][0]["returnCode"] == 0
    assert body["lastRunCommonStatus"] == "SUCCESSFUL"
    assert body["jobruns"][0]["jobNumber"] > 0
    stream = stream_json(plan, a1.stream)
    assert stream["compositeStatus"]["status"] == "EXEC"
    assert stream["jobStreamStats"]["numberOfSuccessfullJob"] == 2
    assert stream["jobStreamStats"]["numberOfExecutingJob"] == 1
    assert stream_json(plan, find(plan, "LATER", "D1").stream)["commonStatus"] == "WAITING"
    states = {w.name: workstation_json(plan, w)["activeStates"] for w in plan.workstations.values()}
    assert "LINKED" in states["AGT_A"] and "LINKED" not in states["AGT_B"]
    log = render(plan, a1, a1.run)
    assert "completed successfully" in log and "= Exit Status           : 0" in log


def test_ids_come_from_names() -> None:
    one, two = Plan(parse_scenario(SMALL)), Plan(parse_scenario({**SMALL, "name": "other"}))
    assert [j.id for j in one.jobs] == [j.id for j in two.jobs]
    assert len({j.id for j in one.jobs}) == len(one.jobs)
    assert len({r.id for j in one.jobs for r in j.runs}) == len(one.jobs)


def test_now_overrides_the_scenario_clock() -> None:
    plan = Plan(parse_scenario(SMALL), now="2026-11-24T10:00:00Z")
    later = find(plan, "LATER", "D1")
    assert (later.status, later.substatus) == ("READY", None)  # 09:00 has passed at 10:00
    assert plan.now.hour == 10


def test_loading_by_path_json_and_yaml(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text(json.dumps(SMALL))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(SMALL))
    from_json, from_yaml = (
        load_scenario(tmp_path / "s.json"),
        load_scenario(str(tmp_path / "s.yaml")),
    )
    assert from_json == from_yaml
    assert load_scenario("demo").name == "demo"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"job_streams": [{"name": "S", "sched_time": "2026-01-01T00:00:00Z",
                           "jobs": [{"name": "J", "status": "BROKEN"}]}]}, "unknown internal"),
        ({"job_streams": [{"name": "S", "sched_time": "2026-01-01T00:00:00Z",
                           "jobs": [{"name": "J", "follows": ["NOPE"]}]}]}, "unknown 'NOPE'"),
        ({"job_streams": [{"name": "S", "sched_time": "2026-01-01T00:00:00Z",
                           "jobs": [{"name": "J", "needs": ["NOPE"]}]}]}, "unknown"),
        ({"colour": "blue"}, "colour"),
    ],
)  # fmt: skip
def test_bad_scenarios_are_explained(change: dict[str, Any], words: str) -> None:
    with pytest.raises(ScenarioError) as info:
        Plan(parse_scenario({**SMALL, **change}))
    assert words in str(info.value)
    with pytest.raises(ScenarioError):
        load_scenario("/no/such/file.yaml")


def test_demo_has_the_failure_kinds_of_a_real_night() -> None:
    plan = Plan(load_scenario("demo"))
    assert 250 <= len(plan.jobs) <= 400
    kinds = Counter((j.status, j.substatus) for j in plan.jobs)
    for expected in [
        ("ABEND", None), ("FAIL", None), ("FENCE", None), ("CANCL", None), ("SUPPR", None),
        ("PEND", None), ("HOLD", "HOLD_WAITING_FOR_PREDECESSOR"),
        ("HOLD", "HOLD_WAITING_FOR_PROMPT"),
        ("HOLD", "HOLD_WAITING_FOR_FILE"), ("HOLD", "HOLD_WAITING_FOR_TIME"),
        ("HOLD", "HOLD_PRIORITY_ZERO"), ("READY", "READY_WAITING_FOR_AGENT"),
        ("READY", "READY_WAITING_FOR_LIMIT"), ("READY", "READY_WAITING_FOR_RESOURCES"),
    ]:  # fmt: skip
        assert kinds[expected], expected
    assert kinds[("SUCC", None)] > 150  # mostly a healthy night
    logs = {j.name: render(plan, j, j.run) for j in plan.jobs if j.status in ("ABEND", "FAIL")}
    assert "ORA-01017" in logs["PAYROLL_EXTRACT"]
    assert "No space left on device" in logs["SALES_STAGE"]
    assert "not found" in logs["IMPORT_STMT"]
    late = job_json(plan, find(plan, "DWH_NIGHTLY", "FACT_SALES_LOAD"))
    assert late["jobStatusFlags"]["deadlineHasPassed"] and late["jobruns"][-1]["maxDurationGone"]
    # the demo is self-consistent: deriving again changes nothing
    before = [(j.status, j.substatus) for j in plan.jobs]
    plan.changed()
    assert [(j.status, j.substatus) for j in plan.jobs] == before


def test_generation_is_seeded() -> None:
    spec = {
        "now": "2026-11-24T07:30:00Z",
        "generate": {"streams": 60, "jobs_per_stream": 5, "abend_rate": 0.2, "seed": 7},
    }
    one, two = Plan(parse_scenario(spec)), Plan(parse_scenario(spec))
    assert len(one.jobs) == 300
    assert [(j.id, j.status, j.run.start) for j in one.jobs] == [
        (j.id, j.status, j.run.start) for j in two.jobs
    ]
    other = Plan(parse_scenario({**spec, "generate": {**spec["generate"], "seed": 8}}))
    assert [j.status for j in other.jobs] != [j.status for j in one.jobs]
    statuses = Counter(j.status for j in one.jobs)
    assert statuses["ABEND"] and statuses["SUCC"] and statuses["EXEC"]


@pytest.mark.slow
def test_bulk_is_large_and_queries_agree_with_a_scan() -> None:
    plan = Plan(load_scenario("bulk"))
    assert len(plan.jobs) >= 50_000
    indexed = select(plan, "job", "workstation = 'AGT_G007' AND commonStatus = 'ERROR'")
    scanned = [j for j in plan.jobs
               if j.workstation.name == "AGT_G007" and j.common_status == "ERROR"]  # fmt: skip
    assert indexed == scanned and scanned
    ordered = select(plan, "job", "status IN ['ABEND', 'EXEC'] ORDER BY name DESC")
    assert len(ordered) == sum(j.status in ("ABEND", "EXEC") for j in plan.jobs)
    assert [j.name for j in ordered] == sorted((j.name for j in ordered), reverse=True)

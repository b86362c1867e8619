"""OQL: parsing, operators, leniency, ordering and errors (unit and over HTTP)."""

from __future__ import annotations

import httpx
import pytest

from resync_ext.tws.simulator import load_scenario, oql
from resync_ext.tws.simulator.entities import select
from resync_ext.tws.simulator.errors import OQLError
from resync_ext.tws.simulator.plan import Plan
from resync_ext.tws.simulator.testing import ThreadedSimulator


@pytest.fixture(scope="module")
def plan() -> Plan:
    return Plan(load_scenario("demo"))


def names(plan: Plan, query: str, kind: str = "job") -> list[str]:
    return [r.name for r in select(plan, kind, query)]


def test_parse_builds_the_tree() -> None:
    q = oql.parse("name = 'A' AND (folder LIKE '/F@' OR priority >= 10) ORDER BY name DESC")
    assert isinstance(q.where, oql.BoolOp) and q.where.op == "AND"
    assert q.where.items[0] == oql.Comparison("name", "=", "A")
    inner = q.where.items[1]
    assert isinstance(inner, oql.BoolOp) and inner.op == "OR"
    assert inner.items[1] == oql.Comparison("priority", ">=", 10)
    assert q.order == (("name", True),)
    assert oql.parse("folder IN ['/A','/B']").where == oql.Comparison("folder", "IN", ("/A", "/B"))
    assert oql.parse("name = 'O''BRIEN'").where == oql.Comparison("name", "=", "O'BRIEN")
    assert oql.parse("").where is None
    assert oql.parse("ORDER BY name").order == (("name", False),)


@pytest.mark.parametrize(
    "text",
    ["name =", "name = 'A' AND", "(name = 'A'", "name == 'A'", "name IN 'A'", "= 'A'",
     "name = 'A' ORDER name", "name LIKE 5", "name = 'A' extra", "name ~ 'A'"],
)  # fmt: skip
def test_parse_errors(text: str) -> None:
    with pytest.raises(OQLError) as info:
        oql.parse(text)
    assert "OQL_FILTER_SYNTAX_ERROR" in info.value.message


def test_equality_and_inequality(plan: Plan) -> None:
    assert names(plan, "name = 'PAYROLL_EXTRACT'") == ["PAYROLL_EXTRACT"]
    abended = names(plan, "jobruns.compositeStatus.status = 'ABEND'")
    assert sorted(abended) == ["IMPORT_STMT", "PAYROLL_EXTRACT", "SALES_STAGE"]
    not_succ = select(plan, "job", "status != 'SUCC'")
    assert all(j.status != "SUCC" for j in not_succ)
    assert len(not_succ) + len(select(plan, "job", "status = 'SUCC'")) == len(plan.jobs)


def test_in_like_and_or_parentheses(plan: Plan) -> None:
    assert sorted(names(plan, "status IN ['FAIL', 'SUPPR']")) == ["AD_EXPORT", "ALT_PATH"]
    assert names(plan, "name LIKE 'PAYROLL_B@'") == ["PAYROLL_BANKFILE"]
    assert names(plan, "name LIKE 'PAYROLL_TA?'") == ["PAYROLL_TAX"]
    assert "PAYROLL_TAX" not in names(plan, "jobStreamName = 'DAILY_PAY' AND name NOT LIKE '@TAX'")
    q = "(workstation = 'AGT_WIN02' OR workstation = 'AGT_LNX03') AND status = 'READY'"
    assert len(names(plan, q)) == 5
    q = "workstation = 'AGT_WIN02' OR workstation = 'AGT_LNX03' AND status = 'READY'"
    assert len(names(plan, q)) == 7  # AND binds tighter: all five WIN02 jobs + two LNX03
    assert names(plan, "NOT (status = 'SUCC' OR status = 'HOLD') AND name = 'AD_EXPORT'") == [
        "AD_EXPORT"
    ]


def test_comparisons_on_numbers_booleans_and_instants(plan: Plan) -> None:
    assert sorted(names(plan, "jobruns.returnCode > 4")) == ["PAYROLL_EXTRACT"]
    assert "USAGE_RATING" not in names(plan, "jobruns.returnCode >= 1")  # rerun succeeded
    critical = names(plan, "jobOptions.critical = true")
    assert sorted(critical) == ["CUBE_REFRESH", "FACT_SALES_LOAD", "PAYROLL_BANKFILE"]
    late = names(plan, "jobStatusFlags.deadlineHasPassed = true")
    assert sorted(late) == ["CUBE_REFRESH", "FACT_SALES_LOAD", "PAYROLL_BANKFILE"]
    early = select(plan, "job", "jobruns.timeInfo.actualStartTime < '2026-11-23T20:40:00Z'")
    assert {j.stream.name for j in early} == {"BILLING_CYCLE"}
    assert len(select(plan, "job", "jobruns.timeInfo.estimatedDuration >= PT2H")) == 4


def test_lenient_spellings(plan: Plan) -> None:
    succeeded = len(select(plan, "job", "commonStatus = 'SUCCESSFUL'"))
    assert len(select(plan, "job", "commonStatus = 'SUCCEED'")) == succeeded > 100
    assert names(plan, "key.name = 'PAYROLL_EXTRACT'") == ["PAYROLL_EXTRACT"]
    assert names(plan, "jobstreamName = 'HR_SYNC' AND status = 'FAIL'") == ["AD_EXPORT"]
    assert names(plan, "NAME = 'payroll_extract'") == ["PAYROLL_EXTRACT"]
    assert len(names(plan, "workstation = '/AGT_WIN02'")) == 5
    assert names(plan, "activeStates IN ['UNLINKED']", "workstation") == ["AGT_WIN02"]
    # a field of the product's JSON that has no fast path still works
    assert names(plan, "jobDefinition.recoveryOption = 'STOP' AND name = 'AD_EXPORT'") == [
        "AD_EXPORT"
    ]


def test_order_by(plan: Plan) -> None:
    got = names(plan, "jobStreamName = 'DAILY_PAY' ORDER BY name DESC")
    assert got == sorted(got, reverse=True) and len(got) == 6
    by_prio = select(plan, "job", "jobStreamName = 'BACKUP_NIGHTLY' ORDER BY priority DESC, name")
    assert [j.priority for j in by_prio][:2] == [60, 60]
    assert [j.name for j in by_prio][2:] == sorted(j.name for j in by_prio[2:])


def test_unknown_field_is_an_error(plan: Plan) -> None:
    with pytest.raises(OQLError):
        select(plan, "job", "colour = 'blue'")


def test_oql_errors_over_http(twsim: ThreadedSimulator) -> None:
    url = f"{twsim.url}/twsd/api/v2/plan/job"
    r = httpx.get(url, params={"oql": "name = 'A' AND"}, auth=twsim.auth)
    assert r.status_code == 400
    body = r.json()
    assert "OQL_FILTER_SYNTAX_ERROR" in body["message"]
    assert body["messages"] == [body["message"]]
    r = httpx.get(url, params={"oql": "bogus.field = 1"}, auth=twsim.auth)
    assert r.status_code == 400 and "bogus.field" in r.json()["message"]

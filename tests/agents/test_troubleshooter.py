"""The troubleshooter over the real simulator with DummyLM: exact tool trajectories and prompts."""

from __future__ import annotations

from typing import Any

import pytest
from dspy.utils.dummies import DummyLM

from resync_ext.agents.adapter import compact_adapter
from resync_ext.agents.focus import ran_last_night
from resync_ext.agents.runner import run_agent_streaming
from resync_ext.agents.steps import fill
from tests.agents.conftest import Events, tools_on

ANSWER = "Why: the database refused the login.\nNext steps:\n1. Check the credentials."


def _lm(*answers: str) -> DummyLM:
    return DummyLM([{"answer": a} for a in (answers or (ANSWER,))], adapter=compact_adapter())


def _prompt(lm: DummyLM) -> tuple[str, str]:
    messages = lm.history[-1]["messages"]
    return messages[0]["content"], messages[-1]["content"]


@pytest.mark.asyncio
async def test_failed_job_reads_log_and_known_issue(
    registry: Any, tools: Any, events: Events
) -> None:
    lm = _lm()
    agent = registry.create("tws-troubleshooter", tools)
    result = await run_agent_streaming(
        agent, lm, question="Why did PAYROLL_EXTRACT fail?", on_event=events
    )
    assert result.tool_calls == [
        "list_workstations",
        "list_job_streams",
        "get_job",
        "get_job_log",
        "get_dependencies",
        "lookup_known_issue",
    ]
    calls, results = events.of("tool_call"), events.of("tool_result")
    assert [c["call_id"] for c in calls] == [r["call_id"] for r in results]
    assert all(r["ok"] for r in results)
    assert "".join(t["content"] for t in events.of("token")) == result.answer
    # The facts stream first, line by line, then the checked explanation.
    tokens = [t["content"] for t in events.of("token")]
    assert tokens[0].startswith("PAYROLL_EXTRACT (job stream DAILY_PAY") and len(tokens) >= 6
    # The facts are written by code, in words, the decisive log line quoted once; the model's
    # explanation follows them.
    lines = result.answer.splitlines()
    assert lines[0] == (
        "PAYROLL_EXTRACT (job stream DAILY_PAY, workstation AGT_LNX01) abended with return "
        "code 12 at 23:01 CET on 23 Nov, 9 h ago."
    )
    assert 'Cause: the job log says "ORA-01017: invalid username/password; logon denied".' in lines
    assert result.answer.count("ORA-01017") == 1
    # Everything it holds up, as the analyzer counts it: the critical report behind its
    # successor is named.
    assert "Blocks 2 jobs: PAYROLL_CALC, PAYROLL_REPORT (critical)." in result.answer
    # The known issue's steps follow, written by code as the knowledge base has them: the model
    # is not asked (it would only restate them, slowly, sometimes wrongly).
    assert result.answer.endswith(
        "Next steps:\n1. Check the credentials the job uses (connection file, vault entry, job "
        "user's variables).\n2. Ask the DBA whether the account is locked or the password "
        "expired.\n3. Rerun the job once the credentials are fixed; do not paste passwords into "
        "the chat."
    )
    assert result.answer.count("Next steps") == 1
    assert "R1." not in result.answer and "|" not in result.answer and "None" not in result.answer
    assert result.prediction.grounding == {"checked": 0, "dropped": 0, "regenerated": 0}
    assert lm.history == []
    summaries = {e["tool"]: e["summary"] for e in result.evidence}
    assert "ORA-01017" in summaries["get_job_log"]
    assert result.evidence[2]["args"] == {"job": "PAYROLL_EXTRACT"}


@pytest.mark.asyncio
async def test_a_failure_no_known_issue_explains_is_explained_by_the_model(
    registry: Any, unknown_tools: Any
) -> None:
    lm = _lm()
    agent = registry.create("tws-troubleshooter", unknown_tools)
    result = await run_agent_streaming(agent, lm, question="Why did PAYROLL_EXTRACT fail?")
    assert result.answer.endswith(
        "Blocks 2 jobs: PAYROLL_CALC, PAYROLL_REPORT (critical).\n\n" + ANSWER
    )
    assert result.prediction.grounding == {"checked": 0, "dropped": 0, "regenerated": 0}
    system, user = _prompt(lm)
    assert system.startswith("You help operators of HCL Workload Automation")
    assert "return code 12" in user and "ORA-01017: invalid username/password" in user
    assert "Known issue" not in user and "R1." not in user
    assert user.rstrip().endswith("Why did PAYROLL_EXTRACT fail?")


@pytest.mark.asyncio
async def test_held_job_is_traced_to_its_failed_predecessor(
    registry: Any, tools: Any, events: Events
) -> None:
    lm = _lm("Why: PAYROLL_CALC waits for PAYROLL_EXTRACT, which abended.")
    agent = registry.create("tws-troubleshooter", tools)
    result = await run_agent_streaming(
        agent, lm, question="Why is PAYROLL_CALC not running?", on_event=events
    )
    assert result.tool_calls[2:6] == ["get_job", "get_dependencies", "get_job", "get_job_log"]
    log_call = next(e for e in result.evidence if e["tool"] == "get_job_log")
    assert log_call["args"] == {"job": "DAILY_PAY.PAYROLL_EXTRACT"}
    assert "It waits for DAILY_PAY.PAYROLL_EXTRACT." in result.answer
    assert "The root cause: PAYROLL_EXTRACT" in result.answer
    # The steps are the root cause's, and say so.
    assert "\nNext steps, for PAYROLL_EXTRACT:\n1. Check the credentials" in result.answer
    assert lm.history == []


@pytest.mark.asyncio
async def test_last_job_of_a_hold_chain_reaches_the_root_cause(registry: Any, tools: Any) -> None:
    lm = _lm("Why: the extract failed, so nothing after it ran.")
    agent = registry.create("tws-troubleshooter", tools)
    result = await run_agent_streaming(agent, lm, question="Why has PAYROLL_REPORT not run?")
    assert (
        "It waits for DAILY_PAY.PAYROLL_CALC, which waits for DAILY_PAY.PAYROLL_EXTRACT."
        in result.answer
    )
    assert "The root cause: PAYROLL_EXTRACT" in result.answer
    assert '"ORA-01017: invalid username/password; logon denied"' in result.answer


@pytest.mark.asyncio
async def test_job_waiting_for_unlinked_agent_shows_workstation(registry: Any, tools: Any) -> None:
    lm = _lm("Why: AGT_WIN02 is unlinked.")
    agent = registry.create("tws-troubleshooter", tools)
    result = await run_agent_streaming(agent, lm, question="Why has BACKUP_FILES not started?")
    assert "is ready but has not started" in result.answer
    assert "Workstation AGT_WIN02 has problems: unlinked" in result.answer
    # The known issue's commands are filled in for this job's workstation.
    assert "\nNext steps:\n1. " in result.answer
    assert "(`link <dom>!AGT_WIN02`) or start it (`start AGT_WIN02`)" in result.answer


@pytest.mark.asyncio
async def test_question_without_names_starts_from_plan_summary(registry: Any, tools: Any) -> None:
    # The whole plan: its summary and the failed jobs looked into, written by code. A small
    # model asked to explain an overview called one of four failures "the only job that failed".
    lm = _lm("Why: PAYROLL_EXTRACT is the only job that failed tonight.")
    agent = registry.create("tws-troubleshooter", tools)
    result = await run_agent_streaming(agent, lm, question="what failed tonight?")
    assert result.tool_calls[0] == "plan_summary"
    lines = result.answer.splitlines()
    assert (
        lines[0].startswith("Plan: 15 jobs (ERROR 4,") and "SECURITY.SYNC_USERS (FAIL)" in lines[0]
    )
    assert lines[1] == "Failed jobs looked into (2):"
    assert lines[2].startswith("- PAYROLL_EXTRACT (job stream DAILY_PAY")
    assert lines[2].endswith('The log says "ORA-01017: invalid username/password; logon denied".')
    assert lines[3].startswith("- LOAD_SALES (job stream DWH_LOAD")
    assert lines[4] == (
        'Ask about one of them ("Why did PAYROLL_EXTRACT fail?") for its cause and next steps.'
    )
    assert lm.history == [] and "only job" not in result.answer


@pytest.mark.asyncio
async def test_a_name_not_in_the_plan_is_said_so_and_nothing_else_is_described(
    registry: Any, tools: Any
) -> None:
    lm = _lm("Why: PAYROLL_EXTRACT failed with ORA-01017.")
    agent = registry.create("tws-troubleshooter", tools)
    result = await run_agent_streaming(agent, lm, question="Why did PAYROLL_EXTRAKT fail?")
    assert result.answer.startswith("PAYROLL_EXTRAKT is not in the current plan")
    assert result.answer.endswith("Did you mean DAILY_PAY.PAYROLL_EXTRACT?")
    # No other job's failure is described, and the model is not asked at all.
    assert "ORA-01017" not in result.answer and "abended" not in result.answer
    assert lm.history == []
    assert "get_job_log" not in result.tool_calls and "plan_summary" not in result.tool_calls


@pytest.mark.asyncio
async def test_a_healthy_job_is_said_to_be_fine_without_the_model(
    registry: Any, tools: Any
) -> None:
    lm = _lm("Why: it abended with ORA-01017.")
    agent = registry.create("tws-troubleshooter", tools)
    result = await run_agent_streaming(agent, lm, question="Did SALES_REPORT run ok?")
    assert result.answer == (
        "SALES_REPORT (job stream MORNING, workstation AGT_LNX02) completed successfully with "
        "return code 0 at 06:31 CET, 1 h 59 min ago.\nNothing needs doing."
    )
    assert lm.history == []


@pytest.mark.asyncio
async def test_an_invented_claim_is_asked_again_and_then_removed(
    registry: Any, unknown_tools: Any
) -> None:
    # Both drafts name a job and an error code from nowhere in the evidence (the leak of an
    # earlier turn's facts that the guard exists for); the second draft keeps one of them.
    first = "Why: LOAD_SALES failed with ORA-00942.\nNext steps:\n1. Check the credentials."
    second = "Why: the login was refused (ORA-00942).\nNext steps:\n1. Check the credentials."
    lm = _lm(first, second)
    agent = registry.create("tws-troubleshooter", unknown_tools)
    result = await run_agent_streaming(agent, lm, question="Why did PAYROLL_EXTRACT fail?")
    assert len(lm.history) == 2
    _, retry = _prompt(lm)
    assert "Avoid: ORA-00942, LOAD_SALES" in retry
    assert "ORA-00942" not in result.answer and "LOAD_SALES" not in result.answer
    assert "1. Check the credentials." in result.answer
    assert "Statements the evidence does not support were removed" in result.answer
    assert result.prediction.grounding == {"checked": 3, "dropped": 1, "regenerated": 1}


@pytest.mark.asyncio
async def test_a_regenerated_answer_that_is_grounded_is_kept(
    registry: Any, unknown_tools: Any
) -> None:
    lm = _lm("Why: DAILY_PAY_EXTRACT failed.", "Why: the database refused the login.")
    agent = registry.create("tws-troubleshooter", unknown_tools)
    result = await run_agent_streaming(agent, lm, question="Why did PAYROLL_EXTRACT fail?")
    assert result.answer.endswith("Why: the database refused the login.")
    assert "DAILY_PAY_EXTRACT" not in result.answer
    assert result.prediction.grounding == {"checked": 1, "dropped": 0, "regenerated": 1}


@pytest.mark.asyncio
async def test_a_looping_answer_is_cut(registry: Any, unknown_tools: Any) -> None:
    loop = (
        "Why: PAYROLL_CALC is held by PAYROLL_EXTRACT, " + "which is held by PAYROLL_EXTRACT, " * 12
    )
    lm = _lm(loop)
    agent = registry.create("tws-troubleshooter", unknown_tools)
    result = await run_agent_streaming(agent, lm, question="Why did PAYROLL_EXTRACT fail?")
    assert result.answer.endswith("\nWhy: PAYROLL_CALC is held by PAYROLL_EXTRACT.")


@pytest.mark.asyncio
async def test_past_turns_never_reach_the_prompt(registry: Any, unknown_tools: Any) -> None:
    lm = _lm()
    agent = registry.create("tws-troubleshooter", unknown_tools)
    past = "Why did LOAD_SALES fail? LOAD_SALES abended, return code 1, ORA-00942 at 01:13."
    await run_agent_streaming(agent, lm, question="Why did PAYROLL_EXTRACT fail?", context=[past])
    prompt = " ".join(m["content"] for m in lm.history[-1]["messages"])
    assert "LOAD_SALES" not in prompt and "ORA-00942" not in prompt and "01:13" not in prompt


@pytest.mark.asyncio
async def test_secrets_in_question_and_context_never_reach_the_lm(
    registry: Any, unknown_tools: Any
) -> None:
    lm = _lm()
    agent = registry.create("tws-troubleshooter", unknown_tools)
    await run_agent_streaming(
        agent,
        lm,
        question="PAYROLL_EXTRACT failed, password is hunter2",
        context=["earlier: token=abcd1234efgh5678 was used"],
    )
    text = " ".join(m["content"] for m in lm.history[-1]["messages"])
    assert "hunter2" not in text and "abcd1234efgh5678" not in text


@pytest.mark.asyncio
async def test_tool_failure_is_reported_as_a_failed_result(
    registry: Any, tools: Any, events: Events
) -> None:
    async def broken(**_: Any) -> dict[str, Any]:
        raise ConnectionError("engine down")

    lm = _lm("Cause: the plan could not be read.")
    agent = registry.create("tws-troubleshooter", {**tools, "plan_summary": broken})
    result = await run_agent_streaming(agent, lm, question="what failed tonight?", on_event=events)
    assert events.of("tool_result")[0]["ok"] is False
    assert "engine down" in result.evidence[0]["summary"]
    assert (
        result.answer.startswith("The plan could not be read:") and "engine down" in result.answer
    )
    assert lm.history == []


@pytest.mark.asyncio
async def test_react_mode_drives_the_same_tools(tools: Any, events: Events) -> None:
    import dspy

    from tests.agents.programs import load_troubleshooter

    agent = load_troubleshooter()(tools=tools, max_iters=3, mode="react")
    lm = DummyLM(
        [
            {
                "next_thought": "Read the job.",
                "next_tool_name": "get_job",
                "next_tool_args": {"job": "PAYROLL_EXTRACT"},
            },
            {"next_thought": "Enough.", "next_tool_name": "finish", "next_tool_args": {}},
            {"reasoning": "It abended.", "answer": "PAYROLL_EXTRACT abended with return code 12."},
        ]
    )
    with dspy.context(adapter=dspy.ChatAdapter()):
        result = await run_agent_streaming(
            agent, lm, question="Why did PAYROLL_EXTRACT fail?", on_event=events
        )
    assert result.tool_calls == ["get_job"]
    assert "return code 12" in result.evidence[0]["summary"]
    assert result.answer == "PAYROLL_EXTRACT abended with return code 12."
    assert "".join(t["content"] for t in events.of("token")) == result.answer


@pytest.mark.asyncio
async def test_a_duration_the_facts_do_not_give_is_removed(registry: Any, tools: Any) -> None:
    # The long run: the facts say how long it has run and how that compares with its usual run.
    # A small model turns the ratio into an hours figure that no fact gives; a rounding of the
    # facts' own duration is fine.
    first = "Why: it passed the maximum allowed duration of 6 hours."
    second = (
        "Why: it has run for about 2 hours, far past its estimate.\n"
        "It usually needs 45 minutes, so it may be stuck on a lock."
    )
    lm = _lm(first, second)
    agent = registry.create("tws-troubleshooter", tools)
    result = await run_agent_streaming(agent, lm, question="Why is KPI_DASHBOARD still running?")
    assert "It has been running for 1 h 58 min, against an estimate of 20 min" in result.answer
    assert len(lm.history) == 2
    _, retry = _prompt(lm)
    assert "Avoid: 6 hours" in retry
    assert "6 hours" not in result.answer and "45 minutes" not in result.answer
    assert "Why: it has run for about 2 hours, far past its estimate." in result.answer
    assert result.prediction.grounding["dropped"] == 1


@pytest.mark.asyncio
async def test_a_follow_up_about_yesterday_is_not_answered_with_tonights_run(
    registry: Any, tools: Any
) -> None:
    # Tonight's abend, its cause and steps are not yesterday's: the answer says what it cannot
    # read, shows tonight's run as tonight's, and names where an earlier run can be seen.
    lm = _lm("Why: it failed yesterday with ORA-01017 too.")
    agent = registry.create("tws-troubleshooter", tools)
    result = await run_agent_streaming(
        agent, lm, question="What about yesterday?", subject="DAILY_PAY.PAYROLL_EXTRACT"
    )
    lines = result.answer.splitlines()
    assert lines[0] == (
        "Resync reads only the current plan, so it cannot tell how PAYROLL_EXTRACT ran in an "
        "earlier plan."
    )
    assert lines[1].startswith("In the current plan: PAYROLL_EXTRACT (job stream DAILY_PAY")
    assert "abended with return code 12 at 23:01 CET on 23 Nov" in lines[1]
    assert "setsym" in lines[-1] and "showjobs DAILY_PAY.PAYROLL_EXTRACT" in lines[-1]
    assert "ORA-01017" not in result.answer and "Next steps" not in result.answer
    assert lm.history == []


@pytest.mark.asyncio
async def test_last_night_asked_the_morning_after_is_the_current_plans_run(
    registry: Any, tools: Any
) -> None:
    lm = _lm("unused")
    agent = registry.create("tws-troubleshooter", tools)
    result = await run_agent_streaming(
        agent, lm, question="Why did PAYROLL_EXTRACT fail last night?"
    )
    assert result.answer.startswith("PAYROLL_EXTRACT (job stream DAILY_PAY")
    assert 'Cause: the job log says "ORA-01017' in result.answer


@pytest.mark.parametrize(
    ("stamps", "expected"),
    [
        ({"end": "2026-11-23T22:01:10Z"}, True),  # 23:01 CET yesterday
        ({"start": "2026-11-24T03:00:00Z"}, True),  # 04:00 CET this morning
        ({"end": "2026-11-22T21:00:00Z"}, False),  # the evening before yesterday
        ({"start": "2026-11-24T12:30:00Z"}, False),  # this afternoon: not last night
        ({}, True),  # not run: nothing says another plan is meant
    ],
)
def test_a_run_is_last_nights_on_the_engines_clock(stamps: dict[str, str], expected: bool) -> None:
    job = {"as_of": "2026-11-24T07:30:00Z", "time_zone": "Europe/Rome", **stamps}
    assert ran_last_night(job) is expected


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("question", "subject", "told"),
    [
        (
            "when did it start?",
            "DAILY_PAY.PAYROLL_EXTRACT",
            "It ran for 1 min: it started at 23:00 CET on 23 Nov and ended at 23:01 CET on 23 Nov.",
        ),
        (
            "How long has KPI_DASHBOARD been running?",
            None,
            "It has been running for 1 h 58 min, against an estimate of 20 min: 5.9 times longer "
            "than expected.",
        ),
        ("what time did PAYROLL_CALC start?", None, "It has not started yet in the current plan."),
    ],
)
async def test_a_question_about_a_jobs_times_gets_them_without_the_model(
    registry: Any, tools: Any, question: str, subject: str | None, told: str
) -> None:
    lm = _lm("Why: it started at 21:00.")
    agent = registry.create("tws-troubleshooter", tools)
    result = await run_agent_streaming(agent, lm, question=question, subject=subject)
    lines = result.answer.splitlines()
    assert len(lines) == 2 and lines[1] == told, result.answer
    assert lm.history == []


@pytest.mark.asyncio
async def test_what_a_failure_holds_up_reaches_the_critical_job_further_down(
    registry: Any, tools: Any
) -> None:
    # PAYROLL_REPORT (critical) waits for PAYROLL_CALC, which waits for PAYROLL_EXTRACT: asked
    # whether what it blocks is critical, "PAYROLL_CALC is not" would hide the one that is.
    lm = _lm("unused")
    agent = registry.create("tws-troubleshooter", tools)
    result = await run_agent_streaming(
        agent, lm, question="is the successor critical?", subject="DAILY_PAY.PAYROLL_EXTRACT"
    )
    assert result.answer.splitlines()[1:] == [
        "2 jobs wait for PAYROLL_EXTRACT:",
        "- DAILY_PAY.PAYROLL_CALC is held, waiting for its dependencies",
        "- DAILY_PAY.PAYROLL_REPORT is held, waiting for its dependencies, critical",
        "1 of them is critical: it cannot start until PAYROLL_EXTRACT is fixed and rerun.",
    ]
    # A failed job's dependencies are read three levels down once, not again for the follow-up.
    assert result.tool_calls.count("get_dependencies") == 1
    result = await run_agent_streaming(agent, lm, question="What does LOAD_SALES block?")
    assert result.answer.splitlines()[-1] == "It is not a critical job."


@pytest.mark.asyncio
async def test_a_prompt_asked_by_name_is_found_through_the_job_it_holds(
    registry: Any, tools: Any
) -> None:
    # The plan lists no prompts: "not in the current plan" would be false. The job held for it
    # names it, and the known issue's reply command gets its name.
    lm = _lm("unused")
    agent = registry.create("tws-troubleshooter", tools)
    result = await run_agent_streaming(
        agent, lm, question="Why is the CONFIRM_GL_CLOSE prompt still open?"
    )
    assert "not in the current plan" not in result.answer
    assert result.answer.startswith("GL_POST (job stream GL_CLOSE")
    assert (
        'GL_POST waits for prompt CONFIRM_GL_CLOSE ("Has finance approved the GL close?").'
        in result.answer.splitlines()
    )
    assert "2. Reply (`reply CONFIRM_GL_CLOSE;y`) once approved." in result.answer
    assert lm.history == []
    # A name that is no prompt either is still said to be missing.
    result = await run_agent_streaming(agent, lm, question="Why is CONFIRM_XX_CLOSE open?")
    assert result.answer.startswith("CONFIRM_XX_CLOSE is not in the current plan")


def test_a_steps_placeholders_are_this_jobs_names() -> None:
    job = {
        "name": "GL_POST",
        "stream": "GL_CLOSE",
        "workstation": "AGT_LNX01",
        "unresolved_dependencies": ['prompt CONFIRM_GL_CLOSE ("Approved?")'],
    }
    assert fill("Reply (`reply <prompt>;y`) on <ws>, then <js>.<job>  <domain>", job) == (
        "Reply (`reply CONFIRM_GL_CLOSE;y`) on AGT_LNX01, then GL_CLOSE.GL_POST <domain>"
    )
    # Two prompts: which one is meant is not for code to guess.
    two = {**job, "unresolved_dependencies": ["prompt A_OK", "prompt B_OK"]}
    assert fill("reply <prompt>;y", two) == "reply <prompt>;y"


@pytest.mark.asyncio
async def test_the_log_of_a_job_that_has_not_started_is_said_not_to_exist(
    registry: Any, tools: Any
) -> None:
    lm = _lm("unused")
    agent = registry.create("tws-troubleshooter", tools)
    result = await run_agent_streaming(
        agent, lm, question="and its log?", subject="GL_CLOSE.GL_POST"
    )
    assert result.answer.splitlines()[-1] == (
        "GL_CLOSE.GL_POST has not started yet in the current plan, so it has no log."
    )


@pytest.mark.asyncio
async def test_a_jobs_workstation_is_said_once_after_the_job(registry: Any, tools: Any) -> None:
    agent = registry.create("tws-troubleshooter", tools)
    result = await run_agent_streaming(
        agent, _lm("unused"), question="Why is BACKUP_FILES not running?"
    )
    lines = result.answer.splitlines()
    assert lines[0].startswith("BACKUP_FILES (job stream WIN_BACKUP"), lines
    stations = [x for x in lines if x.startswith("Workstation ")]
    assert stations == ["Workstation AGT_WIN02 has problems: unlinked."], lines


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("scenario", "question", "facts"),
    [
        (
            "fin_month_end.yaml",
            "Did the FIN_AP_PAYMENTS stream run ok?",
            "Job stream FIN_AP_PAYMENTS completed successfully: 3 of 3 jobs completed successfully",
        ),
        (
            "dwh_runtime.yaml",
            "Is DWH_STATS_GATHER ok?",
            "It has been running for 14 min, against an estimate of 30 min, within its estimate.",
        ),
        ("quiet_night.yaml", "Anything fail overnight?", "Plan: 3 jobs (SUCCESSFUL 3)."),
    ],
)
async def test_what_is_fine_is_said_to_be_fine_without_the_model(
    registry: Any, scenario: str, question: str, facts: str
) -> None:
    # Asked about what is fine, a small model wrote "running longer than expected" of a run
    # inside its estimate, or generic checks: it has nothing true to add.
    lm = _lm("Why: it is running longer than expected.")
    async with tools_on(scenario) as tools:
        agent = registry.create("tws-troubleshooter", tools)
        result = await run_agent_streaming(agent, lm, question=question)
    assert facts in result.answer
    assert result.answer.endswith("Nothing needs doing.")
    assert lm.history == [] and "longer than expected" not in result.answer


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("station", "step"),
    [
        ("AGT_WIN02", "2. Link it (`link <dom>!AGT_WIN02`) or start it (`start AGT_WIN02`)"),
        ("AGT_BATCH03", "1. Check the workstation limit and running jobs (`sc AGT_BATCH03`)."),
        ("AGT_FENCE04", "1. Check the fence with `sc AGT_FENCE04` or `status`."),
    ],
)
async def test_a_workstations_known_problem_gets_its_steps_without_the_model(
    registry: Any, tools: Any, station: str, step: str
) -> None:
    # Asked about an unlinked agent, the small model wrote of "unlinked files".
    lm = _lm("Why: the workstation has unlinked files.")
    agent = registry.create("tws-troubleshooter", tools)
    result = await run_agent_streaming(agent, lm, question=f"Is {station} ok?")
    lines = result.answer.splitlines()
    assert lines[0].startswith(f"Workstation {station} has problems:")
    assert lines[1] == "Next steps:" and any(x.startswith(step) for x in lines[2:]), lines
    assert lm.history == []


@pytest.mark.asyncio
@pytest.mark.parametrize("agent_id", ["tws-troubleshooter", "tws-analyzer"])
async def test_a_plan_question_about_an_earlier_night_says_what_it_shows_instead(
    registry: Any, tools: Any, agent_id: str
) -> None:
    agent = registry.create(agent_id, tools)
    lm = _lm("Why: four jobs failed.")
    earlier = await run_agent_streaming(agent, lm, question="What failed last week?")
    assert earlier.answer.splitlines()[0] == (
        "Resync reads only the current plan, so it cannot tell what happened in an earlier "
        "plan. This is the current plan:"
    )
    # Last night, asked the morning after, is the current plan: said without the warning.
    tonight = await run_agent_streaming(agent, lm, question="What failed last night?")
    assert "earlier plan" not in tonight.answer
    assert "PAYROLL_EXTRACT" in tonight.answer

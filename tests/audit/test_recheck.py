"""Re-check's comparison of a recorded summary with the same call's result now."""

from __future__ import annotations

from resync_ext.audit.recheck import compare


def _workstations(text: str) -> dict[str, object]:
    return {"ok": True, "summary": text}


def test_a_summary_recorded_cut_short_is_unchanged_when_the_live_one_goes_on() -> None:
    live = "AGT_LNX01 linked; AGT_WIN02 unlinked since 02:10; MASTER linked and running well"
    then = live[:40] + "…"
    assert compare("list_workstations", {}, then, _workstations(live)) == []


def test_a_final_full_stop_or_spacing_is_no_change() -> None:
    assert (
        compare(
            "list_workstations", {}, "AGT_WIN02  unlinked.", _workstations("AGT_WIN02 unlinked")
        )
        == []
    )


def test_a_real_difference_is_reported_even_when_the_record_was_cut() -> None:
    then = "AGT_WIN02 unlinked since 02:10; AGT…"
    changes = compare(
        "list_workstations", {}, then, _workstations("AGT_WIN02 linked; AGT_LNX01 linked")
    )
    assert [c.what for c in changes] == ["list_workstations()"]
    assert changes[0].then == then


def test_the_same_facts_in_other_words_are_no_change_but_a_state_word_is() -> None:
    then = "2 jobs wait for DAILY_PAY.PAYROLL_EXTRACT: PAYROLL_CALC, PAYROLL_REPORT."
    now = (
        "PAYROLL_EXTRACT has no unmet dependency. "
        "2 successors wait for it: PAYROLL_CALC, PAYROLL_REPORT."
    )
    assert compare("list_workstations", {}, then, _workstations(now)) == []
    changed = compare(
        "list_workstations", {}, "AGT_WIN02 unlinked.", _workstations("AGT_WIN02 linked.")
    )
    assert len(changed) == 1

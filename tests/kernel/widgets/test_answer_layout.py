"""An answer's lines as the panel shows them: one per line, lists and code kept together."""

from __future__ import annotations

from resync_ext.kernel.widgets.chat_turn import TurnView
from resync_ext.kernel.widgets.render import one_per_line

ANSWER = (
    "PAYROLL_EXTRACT (job stream DAILY_PAY) abended with return code 12 at 23:01 CET, 9 h ago.\n"
    'Cause: the job log says "ORA-01017: invalid username/password; logon denied".\n'
    "Blocks 1 job: PAYROLL_CALC.\n"
    "Next steps:\n1. Fix the credentials.\n2. Rerun it.\n"
    "Seen before: PAYROLL_EXTRACT was asked about on 5 Dec."
)


def test_each_fact_is_its_own_paragraph_and_the_steps_one_list() -> None:
    view = TurnView("t1", "auto", "Why did PAYROLL_EXTRACT fail?")
    view.apply({"type": "final", "content": ANSWER, "agent": "tws-troubleshooter", "evidence": []})
    html = view.answer_html.value
    view.close()
    assert '<b class="resync-agent">tws-troubleshooter</b>' in html
    assert html.count("<p>") == 5 and html.count("<li>") == 2
    assert "<p>Seen before: PAYROLL_EXTRACT was asked about on 5 Dec.</p>" in html


def test_a_code_block_keeps_its_lines() -> None:
    assert one_per_line("Run:\n```\nconman sj\nconman rr\n```\nDone.") == (
        "Run:\n\n```\nconman sj\nconman rr\n```\n\nDone."
    )

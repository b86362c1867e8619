"""The model's explanation never restates the code-written facts (the eval's "degenerate"
answers: a model opening with "Why:" and the verdict again, or copying list lines)."""

from __future__ import annotations

from resync_ext.agents.explain import without
from resync_ext.agents.grounding import degenerate

FACTS = [
    "FIN_REG_FILING (job stream FIN_REPORTING, workstation FIN_AGT01) is held, waiting for its "
    "dependencies; it is a critical job due by 09:00 CET, in 1 h 15 min.",
    "Running longer than expected:\n- DWH_NIGHTLY_FACTS.DWH_FACT_SALES has been running for 7 h "
    "50 min, against an estimate of 45 min: 10.4 times longer than expected.",
]


def test_a_restated_verdict_and_a_copied_list_line_are_dropped_an_explanation_stays() -> None:
    model = (
        "Why: FIN_REG_FILING is held, waiting for its dependencies; it is a critical job due by "
        "09:00 CET, in 1 h 15 min.\n"
        "DWH_NIGHTLY_FACTS.DWH_FACT_SALES has been running for 7 h 50 min, against an estimate "
        "of 45 min: 10.4 times longer than expected.\n"
        "The listener on the database host is down, so every job that connects to it fails.\n"
        "Next steps:\n1. Ask the DBA to start the listener."
    )
    kept = without(model, FACTS)
    assert "held, waiting" not in kept and "7 h 50 min" not in kept
    assert "The listener on the database host is down" in kept
    assert "Ask the DBA to start the listener" in kept
    assert not degenerate("\n".join([*FACTS, kept]))


def test_short_sentences_and_new_wording_are_kept() -> None:
    model = "It is held.\nRerun FIN_AP_EXTRACT once the listener answers, then release the chain."
    assert without(model, FACTS) == model


def test_the_models_own_instructions_and_an_announced_list_that_never_comes_are_dropped() -> None:
    from agents.analyzer import SummariseHealth
    from resync_ext.agents.explain import tidy

    model = (
        "Blocking the plan tonight is due to the following issues:\n\n"
        "Next steps:\n1. Check that the file has arrived.\n2. Ask for the prompt's reply.\n\n"
        "Name only jobs, codes and times that appear in the findings:"
    )
    assert tidy(model, SummariseHealth.instructions) == (
        "Next steps:\n1. Check that the file has arrived.\n2. Ask for the prompt's reply."
    )
    from agents.troubleshooter import ExplainEvidence

    said = "Why: the agent is unlinked.\nNext steps:\n1. Link it.\nAt most three steps."
    assert tidy(said, ExplainEvidence.instructions) == said.rsplit("\n", 1)[0]
    # Without instructions to compare with, an ordinary answer is left as it is.
    plain = "Why: the agent is unlinked.\nNext steps:\n1. Link it."
    assert tidy(plain, "") == plain

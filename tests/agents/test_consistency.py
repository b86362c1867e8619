"""A model's sentence that uses only true names to say something the facts contradict."""

from __future__ import annotations

import pytest

from resync_ext.agents.consistency import contradiction, drop_contradictions

RISKS = [
    "No job failed.",
    "Critical jobs (if each job on its chain takes its estimated time):",
    "- DWH_NIGHTLY.DWH_CUBE will miss its deadline (06:30 UTC, in 30 min) by about 10 min.",
    "- DWH_MART.DWH_PUBLISH is at risk: it would end only about 5 min before its deadline.",
    "- DWH_DASH.DWH_DASH_PUBLISH is on time: it would end about 2 h before its deadline.",
]
BLOCKERS = ["No job failed.", "Blockers:", "- LOG_IN.LOG_WAIT_ASN waits for file /data/a.xml."]
WITHIN = [
    "DWH_EXTRACT (job stream DWH_DASH, workstation DWH_AGT02) is running since 05:31 UTC.",
    "It has been running for 29 min, against an estimate of 35 min, within its estimate.",
]
FAILURES = ["Failed (4):", "- A.ONE (abended, return code 12).", "- A.TWO (abended)."]


@pytest.mark.parametrize(
    ("sentence", "facts"),
    [
        ("DWH_MART.DWH_PUBLISH and DWH_DASH.DWH_DASH_PUBLISH are at risk.", RISKS),
        ("DWH_CUBE is on time, so nothing is urgent.", RISKS),
        ("The plan ran without any issues.", BLOCKERS),
        ("There are no problems tonight.", BLOCKERS),
        ("The job is running longer than expected.", WITHIN),
        ("It has overrun its window.", WITHIN),
        ("A.ONE is the only job that failed tonight.", FAILURES),
    ],
)
def test_a_sentence_the_facts_contradict_is_found(sentence: str, facts: list[str]) -> None:
    assert contradiction(sentence, "\n".join(facts)) is not None


@pytest.mark.parametrize(
    ("sentence", "facts"),
    [
        ("DWH_MART.DWH_PUBLISH is at risk: start it as soon as DWH_CUBE ends.", RISKS),
        ("DWH_DASH.DWH_DASH_PUBLISH is on time.", RISKS),
        ("Answer the file dependency, then the plan runs without issues.", ["No job failed."]),
        (
            "The job is running longer than expected.",
            ["It ran 2 h: 6.0 times longer than expected."],
        ),
        ("Keep watching it; it is within its estimate.", WITHIN),
        ("A.ONE is the only job that failed tonight.", ["Failed (1):", "- A.ONE (abended)."]),
        (
            "Nothing is wrong tonight.",
            ["No job failed.", "Critical jobs:", "- A.REPORT is on time: it ends 2 h early."],
        ),
    ],
)
def test_a_sentence_that_agrees_with_the_facts_stays(sentence: str, facts: list[str]) -> None:
    assert contradiction(sentence, "\n".join(facts)) is None


def test_contradicting_sentences_are_dropped_and_the_rest_kept() -> None:
    text = (
        "Why it matters: No job failed. The plan completed without any issues.\n"
        "Next steps:\n1. Check that /data/a.xml has arrived."
    )
    kept, why = drop_contradictions(text, BLOCKERS)
    assert (
        kept
        == "Why it matters: No job failed.\nNext steps:\n1. Check that /data/a.xml has arrived."
    )
    assert why == ["says all is well where the facts list problems"]

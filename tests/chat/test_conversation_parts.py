"""The conversation store's bounds and the server-wide queue of turns, on their own."""

from __future__ import annotations

import asyncio

import pytest

from resync_ext.chat.conversation import KEEP_TURNS, Conversations
from resync_ext.chat.errors import TurnFailed
from resync_ext.chat.slots import TurnSlots


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_conversation_follows_its_last_found_subject_and_keeps_a_few_turns() -> None:
    store = Conversations()
    conv = store.new("tws-troubleshooter")
    conv.add("Why did PAYROLL_EXTRACT fail?", "PAYROLL_EXTRACT", [{"summary": "rc 12"}], "m1")
    conv.add("and NOPE_JOB?", None, [], None)  # a name the plan does not have
    assert (conv.subject, conv.last_memory_id) == ("PAYROLL_EXTRACT", "m1")
    for n in range(KEEP_TURNS + 3):
        conv.add(f"q{n}", f"JOB{n}", [{"summary": f"s{n}"}], f"m{n + 2}")
    assert len(conv.turns) == KEEP_TURNS and conv.subject == f"JOB{KEEP_TURNS + 2}"
    assert conv.earlier_evidence()[0] == "s3"


def test_conversations_expire_when_idle_and_the_oldest_go_past_the_cap() -> None:
    clock = Clock()
    store = Conversations(max_conversations=3, idle_expiry_s=60, clock=clock)
    first = store.new("a")
    assert store.resume(first.id, "a") is first
    with pytest.raises(TurnFailed) as e:
        store.resume(first.id, "another-agent")
    assert e.value.code == "unknown_conversation"
    clock.now += 61
    with pytest.raises(TurnFailed):
        store.resume(first.id, "a")
    kept = [store.new("a") for _ in range(4)]
    assert len(store) == 3
    with pytest.raises(TurnFailed):
        store.resume(kept[0].id, "a")
    # A used one moves to the back: the next new one pushes out the least recently used.
    store.touch(kept[1])
    store.new("a")
    assert store.resume(kept[1].id, "a") is kept[1]
    with pytest.raises(TurnFailed):
        store.resume(kept[2].id, "a")
    # Callers that name their own conversations (resync-eval) get them opened under that id.
    assert store.open("eval-case-1", "a").id == "eval-case-1"


@pytest.mark.asyncio
async def test_turns_over_the_cap_wait_in_order_and_hear_their_position_move() -> None:
    slots = TurnSlots(2)
    order: list[str] = []
    heard: dict[str, list[int]] = {}
    gates = {name: asyncio.Event() for name in "abcde"}

    async def turn(name: str) -> None:
        async def told(position: int) -> None:
            heard.setdefault(name, []).append(position)

        async with slots.slot(told):
            order.append(name)
            await gates[name].wait()

    tasks = {n: asyncio.create_task(turn(n)) for n in "abcde"}
    await asyncio.sleep(0.01)
    assert order == ["a", "b"] and slots.waiting == 3
    assert heard == {"c": [1], "d": [2], "e": [3]}
    tasks["d"].cancel()  # a client stopped its waiting turn: the one behind moves up
    await asyncio.sleep(0.01)
    assert heard["e"] == [3, 2]
    gates["a"].set()
    await asyncio.sleep(0.01)
    assert order == ["a", "b", "c"] and heard["e"] == [3, 2, 1]
    for g in gates.values():
        g.set()
    await asyncio.gather(*(t for n, t in tasks.items() if n != "d"))
    assert order == ["a", "b", "c", "e"] and slots.running == 0 and slots.waiting == 0
    with pytest.raises(ValueError):
        TurnSlots(0)


@pytest.mark.parametrize(
    ("question", "names", "focus"),
    [
        ("What does it block?", ["PAYROLL_EXTRACT"], "blocks"),
        ("and its log?", ["PAYROLL_EXTRACT"], "log"),
        ("What else does that failure hold up?", ["PAYROLL_EXTRACT"], "blocks"),
        ("what about that stream?", ["PAYROLL_EXTRACT"], None),
        ("Why did it fail?", ["PAYROLL_EXTRACT"], None),
        ("has it been rerun?", ["PAYROLL_EXTRACT"], "runs"),
        ("did the rerun work?", ["PAYROLL_EXTRACT"], "runs"),
        ("should I rerun it?", ["PAYROLL_EXTRACT"], None),
        ("when did it start?", ["PAYROLL_EXTRACT"], "times"),
        ("how long did it run?", ["PAYROLL_EXTRACT"], "times"),
        ("when will it finish?", ["PAYROLL_EXTRACT"], None),
        # A run before the current plan's: Resync cannot read it, and says so.
        ("What about yesterday?", ["PAYROLL_EXTRACT"], "earlier"),
        ("Did it fail last night too?", ["PAYROLL_EXTRACT"], "earlier"),
        ("and the day before?", ["PAYROLL_EXTRACT"], "earlier"),
        ("how did it run in the previous plan?", ["PAYROLL_EXTRACT"], "earlier"),
        # Last night may be the current plan's own night: the job's times decide.
        ("Why did SALES_STAGE fail last night?", ["SALES_STAGE"], "past_day"),
        (
            "Why did SALES_STAGE and FACT_LOAD fail last night?",
            ["SALES_STAGE", "FACT_LOAD"],
            "past_day",
        ),
        ("and SALES_STAGE yesterday?", ["SALES_STAGE"], "earlier"),
        # A new explicit name switches the subject; a loose phrase without pointing back too.
        ("Why did SALES_STAGE abend?", ["SALES_STAGE"], None),
        ("what about the dw extract job?", ["dw extract"], None),
    ],
)
def test_a_follow_up_is_read_against_the_conversations_subject(
    question: str, names: list[str], focus: str | None
) -> None:
    from resync_ext.agents.follow_up import asked_names, focus_of

    asked = asked_names(question, "PAYROLL_EXTRACT")
    assert asked == names
    assert focus_of(question, follow_up=asked == ["PAYROLL_EXTRACT"]) == focus
    # Without a conversation the question stands alone; a question that asks why about a
    # named job is the whole story even when it mentions the log.
    assert asked_names("What does it block?") == []
    assert focus_of("Why did PAYROLL_EXTRACT fail? Check its log.") is None
    assert focus_of("What does PAYROLL_EXTRACT block?") == "blocks"

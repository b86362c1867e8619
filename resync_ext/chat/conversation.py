"""Conversations: what the last few turns of one chat were about, kept in memory on the server.

A chat socket opens a conversation (its id goes out in the ``ready`` frame and on every
``final``). Each turn adds a record: the question, the subject the agent found (the first plan
object its answer is about), the evidence summaries and the memory id it was remembered as. The
next turn hands the agent that subject as a hint, used only when its own question names no object
("what does it block?", "and its log?"); a question that names one switches the subject.

Bounded on every side: a few turns per conversation, a few hundred conversations (the least
recently used go first) and an idle expiry, so a server that runs for months keeps no more than a
screenful of text per open chat. The id is the key: 96 random bits, told only to the socket that
opened it (a Jupyter user behind a token is a new anonymous identity on every connection, so the
user cannot be); what it keeps is what any reader of the plan may ask for again.

A client resumes one after reconnecting by sending its id in the ``chat`` frame (SPEC.md section
4); for an id that expired or never existed the turn gets an ``unknown_conversation`` error frame
(a warning: the turn goes on) and runs in the socket's own fresh conversation, the ``ready``
frame's, whose id its ``final`` frame carries.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from resync_ext.chat.errors import TurnFailed

#: Turns kept per conversation: enough for "and its log?" three questions later.
KEEP_TURNS = 5
#: Evidence summaries kept per turn (the agent re-reads the plan; these are for grounding).
KEEP_EVIDENCE = 20
#: Conversations kept at once; past this the least recently used one is forgotten.
MAX_CONVERSATIONS = 500
#: A conversation nobody used for this long is forgotten (seconds).
IDLE_EXPIRY_S = 4 * 3600.0


@dataclass(frozen=True)
class TurnRecord:
    """One finished turn as the conversation remembers it."""

    question: str
    subject: str | None
    evidence: tuple[str, ...] = ()
    memory_id: str | None = None


@dataclass
class Conversation:
    """The recent turns of one chat with one agent."""

    id: str
    agent_id: str
    turns: deque[TurnRecord] = field(default_factory=lambda: deque(maxlen=KEEP_TURNS))
    used_at: float = field(default_factory=time.monotonic)

    @property
    def subject(self) -> str | None:
        """The object the conversation is about now: the last turn's subject that was found."""
        return next((t.subject for t in reversed(self.turns) if t.subject), None)

    @property
    def last_memory_id(self) -> str | None:
        """The memory of the latest remembered turn (the next turn links to it)."""
        return next((t.memory_id for t in reversed(self.turns) if t.memory_id), None)

    def earlier_evidence(self) -> list[str]:
        """The evidence summaries of the kept turns, oldest first."""
        return [e for t in self.turns for e in t.evidence]

    def add(
        self,
        question: str,
        subject: str | None,
        evidence: Sequence[Mapping[str, object]],
        memory_id: str | None,
    ) -> None:
        """Record a finished turn."""
        summaries = tuple(str(e.get("summary") or "") for e in evidence[:KEEP_EVIDENCE])
        self.turns.append(TurnRecord(question, subject, summaries, memory_id))


class Conversations:
    """The server's open conversations, bounded in number and in idle time (thread-safe)."""

    def __init__(
        self,
        *,
        max_conversations: int = MAX_CONVERSATIONS,
        idle_expiry_s: float = IDLE_EXPIRY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_conversations = max_conversations
        self.idle_expiry_s = idle_expiry_s
        self.clock = clock
        self._items: OrderedDict[str, Conversation] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def new(self, agent_id: str) -> Conversation:
        """Open a conversation with a fresh, unguessable id."""
        conv = Conversation(secrets.token_urlsafe(12), agent_id, used_at=self.clock())
        with self._lock:
            self._expire()
            self._items[conv.id] = conv
            while len(self._items) > self.max_conversations:
                self._items.popitem(last=False)
        return conv

    def open(self, conversation_id: str, agent_id: str) -> Conversation:
        """Return conversation ``conversation_id``, opening it under that id when it is not
        kept (for callers that name their own conversations, as ``resync-eval`` does)."""
        with self._lock:
            self._expire()
            conv = self._items.get(conversation_id)
            if conv is None:
                conv = Conversation(conversation_id, agent_id, used_at=self.clock())
                self._items[conversation_id] = conv
                while len(self._items) > self.max_conversations:
                    self._items.popitem(last=False)
            self._items.move_to_end(conversation_id)
            conv.used_at = self.clock()
            return conv

    def resume(self, conversation_id: str, agent_id: str) -> Conversation:
        """Return the live conversation ``conversation_id`` with this agent, or raise
        TurnFailed ``unknown_conversation`` (expired, never existed, or another agent's)."""
        with self._lock:
            self._expire()
            conv = self._items.get(conversation_id)
            if conv is None or conv.agent_id != agent_id:
                raise TurnFailed(
                    "unknown_conversation",
                    f"conversation {conversation_id[:40]!r} is unknown or expired (kept "
                    f"{self.idle_expiry_s / 3600:g} h after its last turn); "
                    "this question starts a new one",
                )
            self._items.move_to_end(conversation_id)
            conv.used_at = self.clock()
            return conv

    def touch(self, conv: Conversation) -> None:
        """Mark ``conv`` as used now (a turn finished in it)."""
        with self._lock:
            conv.used_at = self.clock()
            if conv.id in self._items:
                self._items.move_to_end(conv.id)

    def _expire(self) -> None:
        cutoff = self.clock() - self.idle_expiry_s
        # Oldest use first: stop at the first one still fresh.
        while self._items:
            oldest = next(iter(self._items.values()))
            if oldest.used_at >= cutoff:
                break
            self._items.popitem(last=False)

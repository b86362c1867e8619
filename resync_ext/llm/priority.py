"""Interactive turns first: who gets the single local model when chat and the auditor both want it.

The embedded model answers one call at a time (two cores; a second call in parallel only halves
both). Measured before this gate, the per-turn audit ran the judge right after each answer, so the
analyst's next question waited behind a judge call: turns of ~20 s instead of ~7 s. Now:

- LM calls are marked ``chat`` (the default) or ``background`` with the :data:`lm_priority`
  context variable; :class:`BackgroundJudge` marks the auditor's judge calls.
- :class:`PriorityGate` hands the model to a waiting chat call before any background call, and
  holds background calls back while a chat turn is running or one ended less than ``defer_s``
  ago (the analyst is reading the answer and likely to ask a follow-up).
- A background call that is generating when a chat call arrives is stopped at its next token and
  started again later (its text is buffered, never streamed, so nothing half-done leaks). The
  prompt's evaluation cannot be interrupted: a chat call waits at most for that.
- So that audit passes still finish while chat keeps coming, a background call that waited
  ``max_defer_s`` is no longer deferred or interrupted; it still waits for the model to be free.

A provider (remote) LM serves calls concurrently: none of this applies to it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Any, Literal

Priority = Literal["chat", "background"]

#: The priority of LM calls made in this context (chat unless marked).
lm_priority: ContextVar[Priority] = ContextVar("resync_lm_priority", default="chat")

#: Seconds after a chat turn during which background calls wait (a follow-up is likely).
DEFER_S = 10.0
#: Seconds after which a background call is no longer deferred nor interrupted.
MAX_DEFER_S = 300.0
_POLL_S = 0.1


@contextlib.contextmanager
def background() -> Iterator[None]:
    """Mark the LM calls made inside as background work (they yield the model to chat)."""
    token = lm_priority.set("background")
    try:
        yield
    finally:
        lm_priority.reset(token)


class Abandoned(Exception):
    """A background call's caller went away while it waited for the model."""


class BackgroundJudge:
    """Wrap the auditor's judge so its LM calls run as background work."""

    def __init__(self, judge: Callable[..., Awaitable[Any]]) -> None:
        self.judge = judge

    async def __call__(self, *, question: str, answer: str, evidence: list[Any]) -> Any:
        """Judge one turn, yielding the model to chat turns."""
        with background():
            return await self.judge(question=question, answer=answer, evidence=evidence)


class ChatActivity:
    """Which chat turns are running, and when the last one ended (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._running = 0
        self._ended_at = float("-inf")
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """Mark a chat turn as running for the duration of the block."""
        with self._lock:
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                self._ended_at = self.clock()

    @property
    def running(self) -> int:
        """Chat turns running now."""
        return self._running

    def quiet_for(self, seconds: float) -> bool:
        """Tell whether no chat turn ran in the last ``seconds``."""
        with self._lock:
            return self._running == 0 and self.clock() - self._ended_at >= seconds


#: The server's chat turns (one process, one model: one record).
CHAT_ACTIVITY = ChatActivity()


class PriorityGate:
    """One model, two queues: chat calls first, background calls when chat is quiet."""

    def __init__(
        self,
        activity: ChatActivity = CHAT_ACTIVITY,
        *,
        defer_s: float = DEFER_S,
        max_defer_s: float = MAX_DEFER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.activity = activity
        self.defer_s = defer_s
        self.max_defer_s = max_defer_s
        self.clock = clock
        self.holder: Priority | None = None
        self._chat_waiting = 0
        self._cond = threading.Condition()
        #: Background calls stopped mid-generation for a chat call (they ran again later).
        self.preemptions = 0
        #: How long recent chat calls waited for the model, in seconds (benchmarks read it).
        self.chat_waits: deque[float] = deque(maxlen=1000)

    @property
    def chat_waiting(self) -> bool:
        """Tell whether a chat call waits for the model."""
        return self._chat_waiting > 0

    def overdue(self, since: float) -> bool:
        """Tell whether a background call that first asked at ``since`` waited long enough."""
        return self.clock() - since >= self.max_defer_s

    @contextlib.contextmanager
    def hold(
        self,
        kind: Priority,
        since: float | None = None,
        abandon: threading.Event | None = None,
    ) -> Iterator[None]:
        """Wait for the model as ``kind`` (a background call first asked at ``since``), hold
        it for the block. Blocking: call it from a worker thread, never on the event loop. A
        background call whose ``abandon`` is set while it waits raises :class:`Abandoned` (its
        caller was cancelled: a server stopping must not wait out the deferral)."""
        with self._cond:
            if kind == "chat":
                asked = time.perf_counter()
                self._chat_waiting += 1
                try:
                    while self.holder is not None:
                        self._cond.wait()
                finally:
                    self._chat_waiting -= 1
                self.chat_waits.append(time.perf_counter() - asked)
            else:
                start = self.clock() if since is None else since
                while not self._background_may_start(start):
                    if abandon is not None and abandon.is_set():
                        raise Abandoned
                    self._cond.wait(_POLL_S)
            self.holder = kind
        try:
            yield
        finally:
            with self._cond:
                self.holder = None
                self._cond.notify_all()

    def _background_may_start(self, since: float) -> bool:
        if self.holder is not None or self._chat_waiting:
            return False
        return self.overdue(since) or self.activity.quiet_for(self.defer_s)

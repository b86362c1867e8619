"""Retry timing (full-jitter exponential backoff, ``Retry-After``) and a circuit breaker."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass
class RetryPolicy:
    """Decide how many times and how long to wait before retrying an idempotent read."""

    max_attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 5.0
    max_retry_after: float = 30.0
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> float:
        """Return a full-jitter delay for retry number ``attempt`` (1-based)."""
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return self.rng.uniform(0.0, cap)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Return the wait before the next attempt, honouring the server's ``Retry-After``."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return self.backoff(attempt)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Parse ``Retry-After`` (seconds or an HTTP date) into seconds; ``None`` if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))  # delta-seconds (decimals tolerated)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def http_date(value: str | None) -> datetime | None:
    """Parse an HTTP date (``Date``: the server's clock) as an aware instant; None if absent/bad."""
    try:
        when = email.utils.parsedate_to_datetime(value or "")
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


class CircuitBreaker:
    """Fail fast while the engine keeps failing, and probe it again after a cool-down.

    closed → (``failure_threshold`` consecutive failures) → open → (``reset_timeout`` elapsed)
    → half_open: one probe goes through; success closes the breaker, failure re-opens it.
    """

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._state = self.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False
        self.opened_count = 0

    @property
    def state(self) -> str:
        """Return ``closed``, ``open`` or ``half_open`` as of now."""
        if self._state == self.OPEN and self._clock() - self._opened_at >= self.reset_timeout:
            self._state = self.HALF_OPEN
            self._probing = False
        return self._state

    @property
    def consecutive_failures(self) -> int:
        """Return the failures counted since the last success."""
        return self._failures

    def retry_in(self) -> float:
        """Return seconds until an open breaker lets a probe through (0 when not open)."""
        if self.state != self.OPEN:
            return 0.0
        return max(0.0, self.reset_timeout - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        """Return whether a request may go out now (claims the probe slot when half-open)."""
        state = self.state
        if state == self.CLOSED:
            return True
        if state == self.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def record_success(self) -> None:
        """Close the breaker and reset the failure count."""
        self._state = self.CLOSED
        self._failures = 0
        self._probing = False

    def record_failure(self) -> None:
        """Count a failure; open the breaker at the threshold or when a probe fails."""
        self._failures += 1
        if self._state == self.HALF_OPEN or self._failures >= self.failure_threshold:
            if self._state != self.OPEN:
                self.opened_count += 1
            self._state = self.OPEN
            self._opened_at = self._clock()
            self._probing = False

    def release_probe(self) -> None:
        """Give the probe slot back when the probe ended without a verdict (4xx, cancel)."""
        self._probing = False

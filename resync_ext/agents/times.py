"""Times as an operator reads them: the engine's time zone, and how long ago by the engine's clock.

The plan's times arrive as UTC instants (``2026-11-23T22:01:10Z``); an operator thinks in the
engine's zone (every job carries it, ``time_zone``: HWA's ``timeZone``) and in "how long ago".
"Ago" is measured from the engine's clock at the read (``as_of``, from the engine's ``Date``
header), never this machine's: a frozen simulator, a plan read after the fact and a test all get
the same words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def instant(value: Any) -> datetime | None:
    """Read an ISO instant (``Z`` or an offset; naive is UTC); None when it is not one."""
    if not value:
        return None
    try:
        t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def zone(name: Any) -> tzinfo:
    """Return the time zone called ``name`` (an IANA name); UTC when unknown or absent."""
    try:
        return ZoneInfo(str(name)) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def span(seconds: float) -> str:
    """Say a length of time the way people round it: ``40 min``, ``1 h 20 min``, ``9 h``."""
    m = round(abs(seconds) / 60)
    if m < 1:
        return "less than a minute"
    if m < 60:
        return f"{m} min"
    if m < 120:
        return f"1 h {m - 60} min" if m % 60 else "1 h"
    if m < 48 * 60:
        return f"{round(m / 60)} h"
    return f"{round(m / 1440)} days"


@dataclass(frozen=True)
class Clock:
    """The engine's time zone and its clock at the read (``now``: None when not known)."""

    tz: tzinfo = UTC
    now: datetime | None = None

    @classmethod
    def of(cls, *rows: Mapping[str, Any] | None, now: Any = None) -> Clock:
        """Take the zone and the clock from the first rows that carry them (tool results)."""
        found = [r for r in rows if r]
        name = next((r["time_zone"] for r in found if r.get("time_zone")), None)
        as_of = instant(now) or next(
            (t for t in (instant(r.get("as_of")) for r in found) if t), None
        )
        return cls(zone(name), as_of)

    def label(self, t: datetime) -> str:
        """The zone's short name at ``t`` (CET, CEST, UTC), else its IANA name."""
        short = t.tzname() or ""
        return short if short.isalpha() else str(getattr(self.tz, "key", short) or "UTC")

    def at(self, stamp: Any, *, ago: bool = True) -> str:
        """``23:01 CET on 23 Nov, 9 h ago`` (the date left out on the engine's today)."""
        t = instant(stamp)
        if t is None:
            return str(stamp)
        local = t.astimezone(self.tz)
        text = f"{local:%H:%M} {self.label(local)}"
        today = self.now.astimezone(self.tz).date() if self.now else None
        if local.date() != today:
            text += f" on {local.day} {local:%b}"
        if ago and self.now is not None:
            delta = (self.now - t).total_seconds()
            if abs(delta) >= 60:
                text += f", {span(delta)} ago" if delta > 0 else f", in {span(delta)}"
        return text

    def last(self, stamps: Iterable[Any]) -> str | None:
        """The latest of ``stamps`` as :meth:`at` says it (None when there is none)."""
        found = sorted(t for t in (instant(s) for s in stamps) if t)
        return self.at(found[-1]) if found else None

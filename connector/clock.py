"""The one place that reads the time.

Edges take a :class:`Clock`; the core is given ``today``. Tests pass a :class:`FixedClock`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    """Something that tells the current instant."""

    def now(self) -> datetime:
        """The current instant, UTC-aware."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current instant, UTC-aware."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that says what it is told; ``advance`` moves it on."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        """The instant it was set to, UTC-aware."""
        return self._at

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by ``delta``."""
        self._at += delta


def local_today(clock: Clock, timezone: str) -> date:
    """Today's date in ``timezone`` (an IANA name such as ``Europe/Berlin``)."""
    return clock.now().astimezone(ZoneInfo(timezone)).date()

"""Messages sent per week and level: how hard the organisation has been chasing lately.

Weeks end on ``today`` and run backwards: the last week is ``today - 6`` … ``today``, the one
before it ``today - 13`` … ``today - 7``, and so on (the same seven-day slices as the cash
forecast, looking back instead of ahead). A message outside every week is left out.

This module is pure: standard library only, no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from core.metrics._ledger import add_days


@dataclass(frozen=True, slots=True)
class SentMessage:
    """One message that went out.

    Attributes:
        sent_date: the day it was sent, in the organisation's time zone.
        level: its level (0 courtesy … 5 legal, 6 write-off review).
    """

    sent_date: date
    level: int


@dataclass(frozen=True, slots=True)
class MessageWeek:
    """The messages of one week.

    Attributes:
        start_date: the first day of the week.
        end_date: the last day (``start_date + 6``).
        by_level: how many messages per level, for every level of :func:`messages_per_week`'s
            ``levels`` (zero included), lowest level first.
    """

    start_date: date
    end_date: date
    by_level: tuple[tuple[int, int], ...]

    @property
    def total(self) -> int:
        """Messages of every level in the week."""
        return sum(count for _, count in self.by_level)


def messages_per_week(messages: Iterable[SentMessage], today: date, weeks: int = 8) -> tuple[MessageWeek, ...]:
    """Count the messages per week and level over the ``weeks`` weeks ending ``today``.

    Args:
        messages: the messages sent (any days; those outside the weeks are ignored).
        today: the last day of the last week.
        weeks: how many weeks.

    Returns:
        The weeks, oldest first; each lists every level any message of the period had.
    """
    first = add_days(today, -7 * weeks + 1)
    counts: dict[tuple[int, int], int] = {}
    for message in messages:
        if first <= message.sent_date <= today:
            key = ((message.sent_date - first).days // 7, message.level)
            counts[key] = counts.get(key, 0) + 1
    levels = sorted({level for _, level in counts})
    return tuple(
        MessageWeek(
            add_days(first, 7 * week),
            add_days(first, 7 * week + 6),
            tuple((level, counts.get((week, level), 0)) for level in levels),
        )
        for week in range(weeks)
    )

"""When an organisation's daily collection run is due, in its own time zone.

One run per local run day (a business day of its country and subdivision, or every day when the
policy does not keep to business days) at ``run_time`` local. The rules around clocks changing:

- a run time inside a DST gap (02:30 on the night the clocks go forward) runs at the first valid
  instant after it: the end of the gap (03:00 in Berlin, 03:00 in New York);
- a run time inside a DST fold (the hour that happens twice when the clocks go back) runs at its
  first occurrence only (PEP 495 ``fold=0``);
- a run missed because the process was down runs once when the process is back the same local
  day (the answer is "due today", however many ticks were missed); a past local day is never
  replayed, since only the local date of ``now`` is ever due.

Everything here is given its instant ``now``; nothing reads the clock. Time zone rules come from
the standard library's ``zoneinfo`` (the IANA database), business days from :mod:`core.calendar`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.calendar import CalendarError, check_region, is_business_day

#: How far ahead a run day is looked for; every real calendar has one within a few days.
SEARCH_DAYS = 400


class ScheduleError(ValueError):
    """An organisation's schedule settings are unusable; the message names the field."""


@dataclass(frozen=True, slots=True)
class RunSchedule:
    """When one organisation's collection run happens.

    Attributes:
        timezone: IANA time zone name (``Europe/Berlin``) the run time is read in.
        run_time: local wall-clock time of the run.
        country: ISO 3166-1 alpha-2 code of the holiday calendar (``DE``).
        subdivision: state or region of the holiday calendar (``BY``), or None for nationwide.
        business_days_only: True to run on business days only; False to run every day.
    """

    timezone: str
    run_time: time
    country: str
    subdivision: str | None = None
    business_days_only: bool = True

    def __post_init__(self) -> None:
        zone_of(self.timezone)
        if self.run_time.tzinfo is not None:
            raise ScheduleError("run_time: a local wall-clock time, without a time zone")
        if self.business_days_only:
            try:
                check_region(self.country, self.subdivision)
            except CalendarError as error:
                raise ScheduleError(f"country: {error}") from None


def parse_run_time(text: str) -> time:
    """``"07:00"`` → ``time(7, 0)``.

    Raises:
        ScheduleError: anything but HH:MM with 00 ≤ HH ≤ 23 and 00 ≤ MM ≤ 59.
    """
    hours, sep, minutes = text.strip().partition(":")
    if not sep or len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise ScheduleError(f"run_time: {text!r} is not HH:MM")
    if int(hours) > 23 or int(minutes) > 59:
        raise ScheduleError(f"run_time: {text!r} is not a time of day")
    return time(int(hours), int(minutes))


def zone_of(name: str) -> ZoneInfo:
    """The IANA time zone ``name``.

    Raises:
        ScheduleError: an unknown or malformed name.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"timezone: {name!r} is not an IANA time zone") from None


def local_date(schedule: RunSchedule, now: datetime) -> date:
    """The date at ``now`` in the schedule's time zone."""
    return _aware(now).astimezone(zone_of(schedule.timezone)).date()


def is_run_day(schedule: RunSchedule, day: date) -> bool:
    """True when a run belongs on local date ``day``."""
    return not schedule.business_days_only or is_business_day(day, schedule.country, schedule.subdivision)


def run_instant(schedule: RunSchedule, day: date) -> datetime:
    """The UTC instant of the run on local date ``day`` (whether or not ``day`` is a run day).

    In a fold the first occurrence counts; in a gap, the instant the gap ends.
    """
    zone = zone_of(schedule.timezone)
    wall = datetime.combine(day, schedule.run_time, tzinfo=zone)  # fold=0: the first occurrence
    instant = wall.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return instant
    return _gap_end(wall, zone)


def due_run(schedule: RunSchedule, last_run_on: date | None, now: datetime) -> date | None:
    """The local date whose run is due at ``now``, or None.

    Only today (local) can be due: a run day whose run time has passed and that has not run yet
    (``last_run_on`` is before it). Yesterday's missed run is never due today.
    """
    today = local_date(schedule, now)
    if last_run_on is not None and last_run_on >= today:
        return None
    if not is_run_day(schedule, today) or _aware(now) < run_instant(schedule, today):
        return None
    return today


def next_run_at(schedule: RunSchedule, last_run_on: date | None, now: datetime) -> datetime:
    """The UTC instant the next run falls due: the run instant of the first run day on or after
    today (local) and after ``last_run_on``. Earlier days are never looked at, so a missed day
    is not replayed. At or before ``now`` exactly when a run is due right now (:func:`due_run`).

    Raises:
        ScheduleError: no run day within :data:`SEARCH_DAYS` days.
    """
    day = local_date(schedule, now)
    if last_run_on is not None and last_run_on >= day:
        day = last_run_on + timedelta(days=1)
    for _ in range(SEARCH_DAYS):
        if is_run_day(schedule, day):
            return run_instant(schedule, day)
        day += timedelta(days=1)
    raise ScheduleError(f"country: no run day within {SEARCH_DAYS} days of {day - timedelta(days=SEARCH_DAYS)}")


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first instant after a DST gap that swallowed the wall time ``wall``.

    ``fold=0`` reads ``wall`` with the offset from before the gap, ``fold=1`` with the offset
    after it; the transition lies between the two readings, found to the second by bisection.
    """
    late = wall.astimezone(UTC)
    early = wall.replace(fold=1).astimezone(UTC)
    after = late.astimezone(zone).utcoffset()
    low, high = min(early, late), max(early, late)  # low reads before the transition, high after
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return high


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("an instant must be timezone-aware (UTC)")
    return instant

"""The daily collection run falls due once per local run day at the organisation's run time,
across the 2026 DST switches (Berlin: 29 March and 25 October; New York: 8 March and 1 November),
weekends and public holidays; a missed run runs once the same day and is never replayed later."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.schedule import (
    RunSchedule,
    ScheduleError,
    due_run,
    is_run_day,
    local_date,
    next_run_at,
    parse_run_time,
    run_instant,
)

BERLIN = RunSchedule("Europe/Berlin", time(7, 0), "DE")
NEW_YORK = RunSchedule("America/New_York", time(7, 0), "US", "NY")
BERLIN_0230_DAILY = RunSchedule("Europe/Berlin", time(2, 30), "DE", business_days_only=False)
NEW_YORK_0230_DAILY = RunSchedule("America/New_York", time(2, 30), "US", business_days_only=False)
NEW_YORK_0130_DAILY = RunSchedule("America/New_York", time(1, 30), "US", business_days_only=False)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


RUN_INSTANTS = [
    pytest.param(BERLIN, date(2026, 3, 27), utc(2026, 3, 27, 6, 0), id="berlin-friday-before-spring-cet"),
    pytest.param(BERLIN, date(2026, 3, 30), utc(2026, 3, 30, 5, 0), id="berlin-monday-after-spring-cest"),
    pytest.param(BERLIN, date(2026, 10, 23), utc(2026, 10, 23, 5, 0), id="berlin-friday-before-autumn-cest"),
    pytest.param(BERLIN, date(2026, 10, 26), utc(2026, 10, 26, 6, 0), id="berlin-monday-after-autumn-cet"),
    pytest.param(BERLIN_0230_DAILY, date(2026, 3, 28), utc(2026, 3, 28, 1, 30), id="berlin-0230-day-before-gap"),
    pytest.param(BERLIN_0230_DAILY, date(2026, 3, 29), utc(2026, 3, 29, 1, 0), id="berlin-0230-in-gap-runs-at-0300"),
    pytest.param(
        RunSchedule("Europe/Berlin", time(2, 0), "DE", business_days_only=False),
        date(2026, 3, 29),
        utc(2026, 3, 29, 1, 0),
        id="berlin-0200-gap-start-runs-at-0300",
    ),
    pytest.param(
        RunSchedule("Europe/Berlin", time(3, 0), "DE", business_days_only=False),
        date(2026, 3, 29),
        utc(2026, 3, 29, 1, 0),
        id="berlin-0300-just-after-gap",
    ),
    pytest.param(BERLIN_0230_DAILY, date(2026, 10, 25), utc(2026, 10, 25, 0, 30), id="berlin-0230-fold-first"),
    pytest.param(NEW_YORK, date(2026, 3, 6), utc(2026, 3, 6, 12, 0), id="new-york-friday-before-spring-est"),
    pytest.param(NEW_YORK, date(2026, 3, 9), utc(2026, 3, 9, 11, 0), id="new-york-monday-after-spring-edt"),
    pytest.param(NEW_YORK, date(2026, 10, 30), utc(2026, 10, 30, 11, 0), id="new-york-friday-before-autumn"),
    pytest.param(NEW_YORK, date(2026, 11, 2), utc(2026, 11, 2, 12, 0), id="new-york-monday-after-autumn"),
    pytest.param(NEW_YORK_0230_DAILY, date(2026, 3, 8), utc(2026, 3, 8, 7, 0), id="new-york-0230-in-gap-at-0300"),
    pytest.param(NEW_YORK_0230_DAILY, date(2026, 11, 1), utc(2026, 11, 1, 7, 30), id="new-york-0230-after-fold"),
    pytest.param(NEW_YORK_0130_DAILY, date(2026, 11, 1), utc(2026, 11, 1, 5, 30), id="new-york-0130-fold-first"),
    pytest.param(
        RunSchedule("America/New_York", time(0, 0), "US", business_days_only=False),
        date(2026, 3, 8),
        utc(2026, 3, 8, 5, 0),
        id="new-york-midnight-on-switch-day",
    ),
]


@pytest.mark.parametrize(("schedule", "day", "expected"), RUN_INSTANTS)
def test_run_instant_is_the_local_run_time_in_utc(schedule: RunSchedule, day: date, expected: datetime) -> None:
    assert run_instant(schedule, day) == expected


DUE = [
    # schedule, last run on, now, run due for
    pytest.param(BERLIN, date(2026, 3, 27), utc(2026, 3, 30, 4, 59), None, id="berlin-a-minute-early"),
    pytest.param(BERLIN, date(2026, 3, 27), utc(2026, 3, 30, 5, 0), date(2026, 3, 30), id="berlin-at-run-time"),
    pytest.param(BERLIN, date(2026, 3, 30), utc(2026, 3, 30, 5, 10), None, id="berlin-already-ran-today"),
    pytest.param(BERLIN, None, utc(2026, 3, 30, 5, 0), date(2026, 3, 30), id="berlin-never-ran"),
    pytest.param(
        BERLIN, date(2026, 3, 27), utc(2026, 3, 30, 9, 0), date(2026, 3, 30), id="berlin-down-all-morning-runs-at-11"
    ),
    pytest.param(BERLIN, date(2026, 3, 27), utc(2026, 3, 31, 4, 0), None, id="berlin-monday-missed-not-replayed"),
    pytest.param(
        BERLIN, date(2026, 3, 27), utc(2026, 3, 31, 5, 0), date(2026, 3, 31), id="berlin-tuesday-runs-for-tuesday"
    ),
    pytest.param(BERLIN, date(2026, 3, 27), utc(2026, 3, 28, 12, 0), None, id="berlin-saturday"),
    pytest.param(BERLIN, date(2026, 3, 27), utc(2026, 3, 29, 12, 0), None, id="berlin-sunday-of-the-switch"),
    pytest.param(BERLIN, date(2026, 4, 2), utc(2026, 4, 3, 10, 0), None, id="berlin-good-friday"),
    pytest.param(BERLIN, date(2026, 4, 30), utc(2026, 5, 1, 10, 0), None, id="berlin-labour-day"),
    pytest.param(BERLIN, date(2026, 10, 1), utc(2026, 10, 2, 10, 0), date(2026, 10, 2), id="berlin-before-unity"),
    pytest.param(BERLIN, date(2026, 10, 2), utc(2026, 10, 3, 10, 0), None, id="berlin-unity-day-3-october"),
    pytest.param(BERLIN, date(2026, 10, 23), utc(2026, 10, 26, 6, 0), date(2026, 10, 26), id="berlin-after-autumn"),
    pytest.param(BERLIN, date(2026, 10, 23), utc(2026, 10, 26, 5, 59), None, id="berlin-after-autumn-0659-cet"),
    pytest.param(NEW_YORK, date(2026, 3, 6), utc(2026, 3, 9, 10, 59), None, id="new-york-0659-edt"),
    pytest.param(NEW_YORK, date(2026, 3, 6), utc(2026, 3, 9, 11, 0), date(2026, 3, 9), id="new-york-0700-edt"),
    pytest.param(NEW_YORK, date(2026, 7, 1), utc(2026, 7, 2, 15, 0), date(2026, 7, 2), id="new-york-2-july"),
    pytest.param(NEW_YORK, date(2026, 7, 2), utc(2026, 7, 3, 15, 0), None, id="new-york-4-july-observed-friday"),
    pytest.param(NEW_YORK, date(2026, 11, 2), utc(2026, 11, 3, 15, 0), None, id="new-york-election-day"),
    pytest.param(
        NEW_YORK, date(2026, 3, 6), utc(2026, 3, 10, 3, 0), date(2026, 3, 9), id="new-york-late-evening-is-still-today"
    ),
    pytest.param(BERLIN_0230_DAILY, date(2026, 3, 28), utc(2026, 3, 29, 0, 59), None, id="gap-before-0300"),
    pytest.param(BERLIN_0230_DAILY, date(2026, 3, 28), utc(2026, 3, 29, 1, 0), date(2026, 3, 29), id="gap-at-0300"),
    pytest.param(BERLIN_0230_DAILY, date(2026, 10, 24), utc(2026, 10, 25, 0, 30), date(2026, 10, 25), id="fold-1st"),
    pytest.param(BERLIN_0230_DAILY, date(2026, 10, 25), utc(2026, 10, 25, 1, 30), None, id="fold-second-not-again"),
    pytest.param(BERLIN_0230_DAILY, date(2026, 10, 24), utc(2026, 10, 25, 1, 30), date(2026, 10, 25), id="fold-late"),
    pytest.param(BERLIN, date(2026, 4, 1), utc(2026, 3, 31, 10, 0), None, id="last-run-after-today-clock-went-back"),
]


@pytest.mark.parametrize(("schedule", "last_run_on", "now", "expected"), DUE)
def test_a_run_is_due_once_per_local_business_day(
    schedule: RunSchedule, last_run_on: date | None, now: datetime, expected: date | None
) -> None:
    assert due_run(schedule, last_run_on, now) == expected


NEXT = [
    # schedule, last run on, now, next run at
    pytest.param(BERLIN, date(2026, 3, 27), utc(2026, 3, 27, 6, 0), utc(2026, 3, 30, 5, 0), id="berlin-over-spring"),
    pytest.param(BERLIN, date(2026, 10, 23), utc(2026, 10, 23, 5, 0), utc(2026, 10, 26, 6, 0), id="berlin-autumn"),
    pytest.param(NEW_YORK, date(2026, 3, 6), utc(2026, 3, 6, 12, 0), utc(2026, 3, 9, 11, 0), id="new-york-spring"),
    pytest.param(NEW_YORK, date(2026, 10, 30), utc(2026, 10, 30, 11, 0), utc(2026, 11, 2, 12, 0), id="new-york-autumn"),
    pytest.param(
        BERLIN, date(2026, 3, 27), utc(2026, 3, 30, 9, 0), utc(2026, 3, 30, 5, 0), id="due-now-is-in-the-past"
    ),
    pytest.param(BERLIN, date(2026, 3, 27), utc(2026, 3, 31, 4, 0), utc(2026, 3, 31, 5, 0), id="missed-day-skipped"),
    pytest.param(BERLIN, date(2026, 4, 2), utc(2026, 4, 2, 5, 0), utc(2026, 4, 7, 5, 0), id="berlin-over-easter"),
    pytest.param(NEW_YORK, date(2026, 7, 2), utc(2026, 7, 2, 11, 0), utc(2026, 7, 6, 11, 0), id="new-york-over-4-july"),
    pytest.param(BERLIN, None, utc(2026, 3, 28, 9, 0), utc(2026, 3, 30, 5, 0), id="never-ran-saturday"),
    pytest.param(
        BERLIN_0230_DAILY, date(2026, 3, 28), utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0), id="daily-into-gap"
    ),
    pytest.param(
        BERLIN_0230_DAILY, date(2026, 10, 25), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30), id="daily-past-fold"
    ),
]


@pytest.mark.parametrize(("schedule", "last_run_on", "now", "expected"), NEXT)
def test_next_run_is_the_run_time_of_the_next_run_day(
    schedule: RunSchedule, last_run_on: date | None, now: datetime, expected: datetime
) -> None:
    assert next_run_at(schedule, last_run_on, now) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("07:00", time(7, 0), id="morning"),
        pytest.param("23:59", time(23, 59), id="last-minute"),
        pytest.param(" 00:00 ", time(0, 0), id="midnight-with-spaces"),
    ],
)
def test_run_time_is_read_as_hh_mm(text: str, expected: time) -> None:
    assert parse_run_time(text) == expected


@pytest.mark.parametrize("text", ["7:00", "24:00", "12:60", "0700", "", "ab:cd", "07:00:00", "+1:00"])
def test_a_bad_run_time_names_the_field(text: str) -> None:
    with pytest.raises(ScheduleError, match="run_time"):
        parse_run_time(text)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        pytest.param({"timezone": "Europe/Atlantis"}, "timezone", id="unknown-zone"),
        pytest.param({"timezone": "../etc/passwd"}, "timezone", id="path-as-zone"),
        pytest.param({"country": "XX"}, "country", id="unknown-country"),
        pytest.param({"subdivision": "ZZ"}, "country", id="unknown-subdivision"),
        pytest.param({"run_time": time(7, 0, tzinfo=UTC)}, "run_time", id="aware-run-time"),
    ],
)
def test_bad_schedule_settings_name_the_field(kwargs: dict[str, object], field: str) -> None:
    settings = {"timezone": "Europe/Berlin", "run_time": time(7, 0), "country": "DE", "subdivision": None, **kwargs}
    with pytest.raises(ScheduleError, match=field):
        RunSchedule(**settings)  # type: ignore[arg-type]


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        due_run(BERLIN, None, datetime(2026, 3, 30, 7, 0))


# -- the property: any increasing ticks, at most one run per local run day, exactly one once the
#    ticks pass the run time that day, at the first such tick ---------------------------------------

SWITCHES = [
    utc(2026, 3, 8, 7),
    utc(2026, 3, 29, 1),
    utc(2026, 10, 25, 1),
    utc(2026, 11, 1, 6),
    utc(2026, 4, 4, 16),
    utc(2026, 10, 3, 16),
]
ZONES = [("Europe/Berlin", "DE"), ("America/New_York", "US"), ("Australia/Sydney", "AU")]


@st.composite
def schedules(draw: st.DrawFn) -> RunSchedule:
    zone, country = draw(st.sampled_from(ZONES))
    special = st.sampled_from([time(0, 0), time(1, 30), time(2, 0), time(2, 30), time(3, 0), time(7, 0), time(23, 59)])
    any_minute = st.builds(time, st.integers(0, 23), st.integers(0, 59))
    return RunSchedule(zone, draw(st.one_of(special, any_minute)), country, business_days_only=draw(st.booleans()))


@st.composite
def ticks(draw: st.DrawFn) -> list[datetime]:
    start = draw(st.sampled_from(SWITCHES)) + timedelta(minutes=draw(st.integers(-4 * 1440, 4 * 1440)))
    gaps = draw(st.lists(st.one_of(st.integers(1, 90), st.integers(1, 3 * 1440)), min_size=1, max_size=120))
    instants, at = [start], start
    for minutes in gaps:
        at += timedelta(minutes=minutes)
        instants.append(at)
    return instants


def _gated(schedule: RunSchedule, instants: list[datetime]) -> dict[date, datetime]:
    """What a scheduler does that only looks when the stored next-run instant has come."""
    runs: dict[date, datetime] = {}
    last: date | None = None
    next_at = next_run_at(schedule, last, instants[0])
    for now in instants:
        if now < next_at:
            continue
        day = due_run(schedule, last, now)
        if day is not None:
            assert day not in runs, f"{day} ran twice"
            runs[day], last = now, day
        next_at = next_run_at(schedule, last, now)
        assert next_at > now, "after a tick nothing may be due any more"
    return runs


def _every_tick(schedule: RunSchedule, instants: list[datetime]) -> dict[date, datetime]:
    runs: dict[date, datetime] = {}
    last: date | None = None
    for now in instants:
        day = due_run(schedule, last, now)
        if day is not None:
            runs[day], last = now, day
    return runs


@given(schedule=schedules(), instants=ticks())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_each_local_run_day_runs_at_most_once_and_exactly_once_when_ticks_pass_its_run_time(
    schedule: RunSchedule, instants: list[datetime]
) -> None:
    runs = _gated(schedule, instants)
    for day, at in runs.items():
        assert is_run_day(schedule, day)
        assert local_date(schedule, at) == day, "a run belongs to the local day it happens on"
        assert at >= run_instant(schedule, day)
    first_past_run_time: dict[date, datetime] = {}
    for now in instants:
        day = local_date(schedule, now)
        if is_run_day(schedule, day) and now >= run_instant(schedule, day):
            first_past_run_time.setdefault(day, now)
    assert runs == first_past_run_time
    assert runs == _every_tick(schedule, instants), "the stored next-run instant never holds a run back"

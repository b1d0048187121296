"""Rule 8: with business days only, nothing goes out on weekends or public holidays."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from core.calendar import CalendarError, check_region, is_business_day, next_business_day
from core.engine import Organisation
from tests.builders import invoice, outcome, run, touch

CALENDAR_TABLE = [
    # today, country, subdivision, business days only, expected
    pytest.param(date(2026, 3, 10), "DE", None, True, "s1", id="tuesday"),
    pytest.param(date(2026, 3, 14), "DE", None, True, "not_a_business_day", id="saturday"),
    pytest.param(date(2026, 3, 15), "DE", None, True, "not_a_business_day", id="sunday"),
    pytest.param(date(2026, 3, 14), "DE", None, False, "s1", id="saturday-without-the-setting"),
    pytest.param(date(2026, 4, 3), "DE", None, True, "not_a_business_day", id="good-friday-de"),
    pytest.param(date(2026, 1, 6), "DE", "BY", True, "not_a_business_day", id="epiphany-bavaria"),
    pytest.param(date(2026, 1, 6), "DE", "DE-BY", True, "not_a_business_day", id="epiphany-bavaria-iso-code"),
    pytest.param(date(2026, 1, 6), "DE", None, True, "s1", id="epiphany-not-nationwide"),
    pytest.param(date(2026, 1, 6), "DE", "BE", True, "s1", id="epiphany-not-in-berlin"),
    pytest.param(date(2026, 6, 4), "DE", "BY", True, "not_a_business_day", id="corpus-christi-bavaria"),
    pytest.param(date(2026, 5, 4), "GB", None, True, "not_a_business_day", id="early-may-bank-holiday-uk"),
    pytest.param(date(2026, 5, 4), "DE", None, True, "s1", id="uk-holiday-is-a-german-workday"),
]


@pytest.mark.parametrize(("today", "country", "subdivision", "only", "expected"), CALENDAR_TABLE)
def test_nothing_goes_out_on_a_day_off(
    today: date, country: str, subdivision: str | None, only: bool, expected: str
) -> None:
    org = Organisation(country=country, subdivision=subdivision, business_days_only=only)
    result = run(invoice(due_date=today - timedelta(days=5)), today=today, organisation=org)
    assert outcome(result) == expected


def test_next_business_day_picks_up_the_step_reached_meanwhile() -> None:
    org = Organisation(country="DE", subdivision="BY", business_days_only=True)
    due = date(2026, 3, 20)  # s2 (14 days) is reached on Friday 3 April, Good Friday
    history = (touch(0, ("I1", "s1", 1), on=date(2026, 3, 21)),)
    days_off = [date(2026, 4, 3), date(2026, 4, 4), date(2026, 4, 5), date(2026, 4, 6)]
    for day in days_off:
        assert outcome(run(invoice(due_date=due), history=history, today=day, organisation=org)) == "not_a_business_day"
    assert outcome(run(invoice(due_date=due), history=history, today=date(2026, 4, 7), organisation=org)) == "s2"


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param(date(2026, 4, 2), date(2026, 4, 2), id="thursday-is-itself"),
        pytest.param(date(2026, 4, 3), date(2026, 4, 7), id="easter-weekend"),
        pytest.param(date(2026, 12, 24), date(2026, 12, 24), id="christmas-eve-is-a-workday"),
        pytest.param(date(2026, 12, 25), date(2026, 12, 28), id="christmas"),
    ],
)
def test_next_business_day_in_bavaria(day: date, expected: date) -> None:
    assert next_business_day(day, "DE", "BY") == expected
    assert is_business_day(expected, "DE", "BY")


@pytest.mark.parametrize(
    ("country", "subdivision"),
    [pytest.param("XX", None, id="unknown-country"), pytest.param("DE", "ZZ", id="unknown-subdivision")],
)
def test_unknown_regions_are_refused(country: str, subdivision: str | None) -> None:
    with pytest.raises(CalendarError):
        check_region(country, subdivision)

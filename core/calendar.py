"""Business days per country: weekends and public holidays, from the pure ``holidays`` package.

The calendar data is code inside the package (no network, no clock); the holiday objects are
cached per country, subdivision and language because building one per lookup is slow.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

_NAME_LANGUAGES: dict[str, tuple[str, ...]] = {"de": ("de",), "en": ("en_US", "en_GB", "en")}


class CalendarError(ValueError):
    """A country or subdivision the holiday calendar does not know."""


def normalise_subdivision(country: str, subdivision: str | None) -> str | None:
    """Accept ``"BY"`` and the ISO 3166-2 form ``"DE-BY"``; return the short form (or None)."""
    if subdivision and subdivision.upper().startswith(f"{country.upper()}-"):
        return subdivision[len(country) + 1 :]
    return subdivision or None


def check_region(country: str, subdivision: str | None = None) -> None:
    """Raise :class:`CalendarError` unless the calendar knows ``country`` (and ``subdivision``)."""
    _calendar(country, normalise_subdivision(country, subdivision), None)


def holiday_name(day: date, country: str, subdivision: str | None = None, language: str = "en") -> str | None:
    """The name of the public holiday on ``day``, in ``language`` where the data has it, else None."""
    calendar = _calendar(country, normalise_subdivision(country, subdivision), language)
    name: str | None = calendar.get(day)
    return name


def is_business_day(day: date, country: str, subdivision: str | None = None) -> bool:
    """True unless ``day`` is a weekend day or a public holiday of the country (and subdivision).

    Args:
        day: the day to check.
        country: ISO 3166-1 alpha-2 code (``"DE"``).
        subdivision: a state or region (``"BY"`` or ``"DE-BY"``), or None for the nationwide holidays.

    Raises:
        CalendarError: for a country or subdivision the calendar does not know.
    """
    calendar = _calendar(country, normalise_subdivision(country, subdivision), None)
    return day.weekday() not in calendar.weekend and day not in calendar


def next_business_day(day: date, country: str, subdivision: str | None = None) -> date:
    """The first business day on or after ``day``."""
    while not is_business_day(day, country, subdivision):
        day += timedelta(days=1)
    return day


@lru_cache(maxsize=64)
def _calendar(country: str, subdivision: str | None, language: str | None) -> holidays.HolidayBase:
    try:
        base = holidays.country_holidays(country)
        chosen = next(
            (code for code in _NAME_LANGUAGES.get(language or "", ()) if code in base.supported_languages), None
        )
        return holidays.country_holidays(country, subdiv=subdivision, language=chosen)
    except NotImplementedError as error:
        raise CalendarError(str(error)) from None

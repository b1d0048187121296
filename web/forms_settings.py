"""The organisation settings form: every field is checked against the data the rest of arcadence
uses, so a saved value always works later (the holiday calendar knows the country and region,
zoneinfo knows the time zone, Babel knows the currency and the locale)."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date
from functools import lru_cache

import holidays
from babel import Locale, UnknownLocaleError
from babel.numbers import get_territory_currencies
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, SelectChoice, SelectField, StringField, ValidationError
from wtforms.validators import InputRequired, Length

from core.calendar import CalendarError, check_region, normalise_subdivision

RUN_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
#: One address, no display name, no spaces; the domain has a dot (the mail server checks the rest).
EMAIL = re.compile(r"[^@\s<>\"(),;:]+@[^@\s<>\"(),;:\[\]]+\.[^@\s<>\"(),;:\[\]]+")
#: Shown as suggestions next to the locale field; any locale Babel knows is accepted.
COMMON_LOCALES = ("de_DE", "de_AT", "de_CH", "en_GB", "en_US", "en_IE", "en_AU", "en_CA", "fr_FR", "nl_NL")


@lru_cache(maxsize=1)
def country_codes() -> tuple[str, ...]:
    """ISO 3166 codes the holiday calendar has data for (aliases such as ``UK`` left out)."""
    english = Locale("en").territories
    return tuple(sorted(c for c in holidays.list_supported_countries() if len(c) == 2 and c in english))


def subdivisions(country: str) -> tuple[str, ...]:
    """The regions of ``country`` the holiday calendar knows (states, provinces)."""
    return tuple(holidays.list_supported_countries().get(country, ()))


@lru_cache(maxsize=4)
def currency_codes(on: date) -> tuple[str, ...]:
    """ISO 4217 codes legal tender somewhere on ``on`` (historic ones like DEM are left out)."""
    codes: set[str] = set()
    for territory in Locale("en").territories:
        if isinstance(territory, str) and territory.isalpha():
            codes.update(get_territory_currencies(territory, start_date=on, tender=True))
    return tuple(sorted(codes))


def time_zones() -> list[str]:
    """Every IANA time zone this system knows, sorted."""
    return sorted(zoneinfo.available_timezones())


def _names(kind: str) -> dict[str, str]:
    ui = get_locale() or Locale("en")
    return dict(ui.territories if kind == "territory" else ui.currencies)


class SettingsForm(FlaskForm):
    """Country, region, time zone, run time, sender, currency, locale and the collections switch."""

    country = SelectField(_l("Country"), validators=[InputRequired()])
    subdivision = StringField(_l("Region for public holidays"), validators=[Length(max=10)])
    timezone = StringField(_l("Time zone"), validators=[InputRequired(), Length(max=64)])
    run_time = StringField(_l("Daily run at (local time)"), validators=[InputRequired()])
    sender_email = StringField(_l("Sender address"), validators=[Length(max=320)])
    base_currency = SelectField(_l("Base currency"), validators=[InputRequired()])
    locale = StringField(_l("Number and date format (locale)"), validators=[InputRequired(), Length(max=16)])
    collections_enabled = BooleanField(_l("Collections switched on"))

    def fill_choices(self, today: date) -> None:
        """Country and currency lists in the UI language (currencies in use on ``today``)."""
        territories, currencies = _names("territory"), _names("currency")
        self.country.choices = [SelectChoice(c, f"{territories.get(c, c)} ({c})") for c in country_codes()]
        self.base_currency.choices = [SelectChoice(c, f"{c} – {currencies.get(c, c)}") for c in currency_codes(today)]

    def validate_subdivision(self, field: Field) -> None:
        country = self.country.data or ""
        value = normalise_subdivision(country, (field.data or "").strip()) if field.data else None
        if value is None:
            field.data = None
            return
        known = {s.upper(): s for s in subdivisions(country)}
        value = known.get(value.upper(), value)
        try:
            check_region(country, value)
        except CalendarError:
            listed = ", ".join(subdivisions(country)) or _l("none")
            raise ValidationError(
                _l("The holiday calendar of %(country)s has no region %(value)s (known: %(known)s).",
                   country=country, value=value, known=listed)
            ) from None  # fmt: skip
        field.data = value

    def validate_timezone(self, field: Field) -> None:
        value = (field.data or "").strip()
        if value not in zoneinfo.available_timezones():
            raise ValidationError(_l("Not an IANA time zone (for example Europe/Berlin or America/New_York)."))
        field.data = value

    def validate_run_time(self, field: Field) -> None:
        match = RUN_TIME.fullmatch((field.data or "").strip())
        if match is None:
            raise ValidationError(_l("Give the time as HH:MM, from 00:00 to 23:59."))
        field.data = f"{int(match.group(1)):02d}:{match.group(2)}"

    def validate_sender_email(self, field: Field) -> None:
        value = (field.data or "").strip()
        if not value:
            field.data = None
            return
        if EMAIL.fullmatch(value) is None:
            raise ValidationError(_l("Not an e-mail address (name@example.com)."))
        field.data = value

    def validate_locale(self, field: Field) -> None:
        raw = (field.data or "").strip().replace("-", "_")
        try:
            parsed = Locale.parse(raw)
        except (UnknownLocaleError, ValueError, TypeError):
            raise ValidationError(_l("Not a locale Babel knows (for example de_DE or en_GB).")) from None
        if parsed.territory is None:
            raise ValidationError(_l("Give a language and a country (for example de_DE, not de)."))
        field.data = str(parsed)

"""Statutory late-payment claims between businesses: the reference-rate tables and the arithmetic.

Three regimes (scenario contract, rule 11):

- ``DE-BGB-288`` (country ``DE``): §288 Abs. 2 BGB, Basiszinssatz (§247 BGB) + 9 points, and the
  flat €40 of §288 Abs. 5 BGB per invoice. The Basiszinssatz changes on 1 January and 1 July, so
  interest running across a change is split by period at each period's rate.
- ``UK-LPCDA-1998`` (``GB``, also accepted as ``UK``): Late Payment of Commercial Debts (Interest)
  Act 1998. Rate: 8 points over the "reference rate", which the Late Payment of Commercial Debts
  (Rate of Interest) (No. 3) Order 2002 (SI 2002/1675) fixes as the Bank of England official dealing
  rate in force on 31 December (for interest that *starts to run* in January–June) or on 30 June
  (July–December). Interest starts to run the day after the due date, and the Order fixes one rate
  for the whole life of the debt: UK interest is therefore *not* split at later rate changes
  (deliberate, following the Order). Fixed sum per debt (s. 5A): £40 below £1,000, £70 from £1,000
  to £9,999.99, £100 from £10,000; the size of the debt is taken as its open balance.
- ``EU-2011-7-<CC>`` (other EU member states): directive 2011/7/EU, reference rate + 8 points and
  €40 per invoice. For a euro-area state the reference rate is the ECB main refinancing operations
  (MRO) rate; the directive makes the rate in force on 1 January apply to the first half-year and
  the rate in force on 1 July to the second (art. 3(4) for transactions between undertakings; the
  article number is quoted from memory, not re-checked against the Official Journal), so it is
  modelled as a half-yearly table and interest is split by half-year like the German one. The
  directive sets a *minimum*: national law may add more (e.g. Belgium rounds up to the next half
  point); the claim states the minimum.
  For a member state outside the euro area the reference rate is its national central bank's,
  which this module does not carry: a lookup there raises :class:`RateUnavailable`.

Arithmetic: simple interest, actual/365 (also in leap years), for each day from the day after the
due date to ``today`` inclusive, i.e. ``(today - due_date).days`` days. The unrounded amounts of all
invoices and periods are summed and the total is rounded once, half-up, to cents (rounding each
invoice first could add up to half a cent per invoice in the creditor's favour).

Currency: a regime's interest applies to a debt in any currency, so interest is computed in the
invoices' own currency. The fixed sums are defined in EUR (DE, EU) or GBP (UK) and are only added
when the invoices are in that currency; a DE organisation invoicing in USD gets interest and no fee
(converting €40 needs an exchange rate of a given day, which the core does not have).

The tables cover 2023-01-01 to 2026-12-31. A date outside them raises :class:`RateUnavailable`
rather than guessing; the caller then passes a fixed ``reference_rate_percent``.

This module is pure: standard library only, no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum

from core.model import CENT, Money, money

DAYS_PER_YEAR = Decimal(365)
HUNDRED = Decimal(100)

TABLE_START = date(2023, 1, 1)
"""First day the built-in reference-rate tables cover."""

TABLE_END = date(2026, 12, 31)
"""Last day the built-in reference-rate tables cover."""


class RateUnavailable(LookupError):
    """The built-in tables hold no reference rate for a day (outside the table, or a non-euro EU state)."""


class RateSource(Enum):
    """Which published rate a regime's reference rate comes from."""

    DE_BASISZINSSATZ = "de_basiszinssatz"
    ECB_MRO_HALF_YEAR = "ecb_mro_half_year"
    BOE_HALF_YEAR = "boe_half_year"


# Each row: (first day of the half-year, rate in percent). A row runs until the next row starts;
# the last one until TABLE_END.
#
# Sources and confidence, for the final report and for whoever updates the table:
# "verified" = the figure was read in a published notice or in at least one press report of it;
# "derived" = computed by the legal formula from verified inputs, no publication of the figure seen.
DE_BASISZINSSATZ: tuple[tuple[date, Decimal], ...] = (
    # Deutsche Bundesbank, Bekanntgabe zum 1.1.2023: 1.62 % (first positive rate since 2013). Verified.
    (date(2023, 1, 1), Decimal("1.62")),
    # Bundesbank zum 1.7.2023: 3.12 % (MRO 2.50 -> 4.00 since the last change, +1.50). From memory,
    # consistent by the §247 formula with the verified rows before and after it.
    (date(2023, 7, 1), Decimal("3.12")),
    # Bundesbank zum 1.1.2024: 3.62 % (MRO 4.00 -> 4.50). Value given in the brief; formula-consistent.
    (date(2024, 1, 1), Decimal("3.62")),
    # Bundesbank zum 1.7.2024: 3.37 % (MRO 4.50 -> 4.25 on 12.6.2024). Given in the brief; consistent.
    (date(2024, 7, 1), Decimal("3.37")),
    # Bundesbank zum 1.1.2025: 2.27 % (MRO 4.25 -> 3.15). Given in the brief; consistent.
    (date(2025, 1, 1), Decimal("2.27")),
    # Bundesbank zum 1.7.2025: 1.27 % (MRO 3.15 -> 2.15 on 11.6.2025). Given in the brief; consistent.
    (date(2025, 7, 1), Decimal("1.27")),
    # Bundesbank zum 1.1.2026: unchanged 1.27 % (MRO of 22.12.2025 still 2.15; announced in the
    # Bundesanzeiger of 24.12.2025). Verified in press reports of the Bundesbank notice.
    (date(2026, 1, 1), Decimal("1.27")),
    # 1.7.2026: 1.52 % DERIVED, not seen published: §247 BGB moves the rate by the change of the MRO
    # since the last change; the ECB raised the MRO by 25 bp (2.15 -> 2.40) at its meeting of
    # 11.6.2026 (press reports of the decision), so 1.27 + 0.25. Confirm against the Bundesbank notice.
    (date(2026, 7, 1), Decimal("1.52")),
)

ECB_MRO_HALF_YEAR: tuple[tuple[date, Decimal], ...] = (
    # MRO in force on 1.1.2023: 2.50 % (raised 21.12.2022). From memory; consistent with the 2023 Basiszinssatz.
    (date(2023, 1, 1), Decimal("2.50")),
    # In force on 1.7.2023: 4.00 % (raised with effect from 21.6.2023, press reports). Verified.
    (date(2023, 7, 1), Decimal("4.00")),
    # In force on 1.1.2024: 4.50 % (raised 20.9.2023, unchanged until 12.6.2024). Verified (press reports).
    (date(2024, 1, 1), Decimal("4.50")),
    # In force on 1.7.2024: 4.25 % (cut with effect from 12.6.2024, press reports). Verified.
    (date(2024, 7, 1), Decimal("4.25")),
    # In force on 1.1.2025: 3.15 % (cuts 18.9.2024 to 3.65, 23.10.2024 to 3.40, 18.12.2024 to 3.15). From memory;
    # consistent with the Basiszinssatz falling by 1.10 to 2.27 on 1.1.2025.
    (date(2025, 1, 1), Decimal("3.15")),
    # In force on 1.7.2025: 2.15 % (cuts 5.2.2025 2.90, 12.3.2025 2.65, 23.4.2025 2.40, 11.6.2025 2.15). The last
    # one verified in press reports of the decision.
    (date(2025, 7, 1), Decimal("2.15")),
    # In force on 1.1.2026: 2.15 % (MRO of 22.12.2025, quoted in the Bundesbank's Basiszinssatz notice). Verified.
    (date(2026, 1, 1), Decimal("2.15")),
    # In force on 1.7.2026: 2.40 % (+25 bp decided 11.6.2026: press reports of a hike taking the deposit rate
    # to 2.25 %; the MRO keeps its 15 bp spread). Verified in press reports; the effective date (presumably
    # 17.6.2026) was not checked, nor decisions after 1.7.2026, which do not affect this table.
    (date(2026, 7, 1), Decimal("2.40")),
)

BOE_HALF_YEAR: tuple[tuple[date, Decimal], ...] = (
    # Bank Rate on 31.12.2022: 3.50 % (raised 15.12.2022). Verified (reference-rate table of the
    # UK late-payment guidance site and a Bank Rate history table).
    (date(2023, 1, 1), Decimal("3.50")),
    # Bank Rate on 30.6.2023: 5.00 % (raised 22.6.2023). Verified, same sources.
    (date(2023, 7, 1), Decimal("5.00")),
    # Bank Rate on 31.12.2023: 5.25 % (raised 3.8.2023). Verified, same sources.
    (date(2024, 1, 1), Decimal("5.25")),
    # Bank Rate on 30.6.2024: 5.25 % (first cut only on 1.8.2024). Verified (Bank Rate history table).
    (date(2024, 7, 1), Decimal("5.25")),
    # Bank Rate on 31.12.2024: 4.75 % (cuts 1.8.2024 to 5.00, 7.11.2024 to 4.75). Verified, history table.
    (date(2025, 1, 1), Decimal("4.75")),
    # Bank Rate on 30.6.2025: 4.25 % (cuts 6.2.2025 to 4.50, 8.5.2025 to 4.25). Verified, history table.
    (date(2025, 7, 1), Decimal("4.25")),
    # Bank Rate on 31.12.2025: 3.75 % (cuts 7.8.2025 to 4.00, 18.12.2025 to 3.75). Verified, press reports.
    (date(2026, 1, 1), Decimal("3.75")),
    # Bank Rate on 30.6.2026: 3.75 % (held 5.2., 19.3., 30.4. and 18.6.2026). Verified in press reports of each hold.
    (date(2026, 7, 1), Decimal("3.75")),
)

_TABLES: dict[RateSource, tuple[tuple[date, Decimal], ...]] = {
    RateSource.DE_BASISZINSSATZ: DE_BASISZINSSATZ,
    RateSource.ECB_MRO_HALF_YEAR: ECB_MRO_HALF_YEAR,
    RateSource.BOE_HALF_YEAR: BOE_HALF_YEAR,
}

# Euro-area members and the day they joined, where that is inside the tables (Bulgaria: 1.1.2026).
# Before that day a member's directive reference rate is its national central bank's: not carried.
EURO_AREA_SINCE: dict[str, date] = {
    **dict.fromkeys(
        ("AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR"),
        TABLE_START,
    ),
    **dict.fromkeys(
        ("IE", "IT", "LT", "LU", "LV", "MT", "NL", "PT", "SI", "SK"),
        TABLE_START,
    ),
    "BG": date(2026, 1, 1),
}
EU_OUTSIDE_EURO: frozenset[str] = frozenset(["CZ", "DK", "HU", "PL", "RO", "SE"])


@dataclass(frozen=True, slots=True)
class Claim:
    """What may be claimed from a late payer on top of the open balances.

    Attributes:
        interest: simple interest, summed over the touch's invoices, rounded half-up to cents.
        fixed_fees: the flat compensation sums (zero when the invoices are not in the regime's currency).
        rate_percent: reference rate + margin in force today (e.g. ``Decimal("10.27")``).
        basis: the legal basis: ``"DE-BGB-288"``, ``"UK-LPCDA-1998"``, ``"EU-2011-7-<CC>"``.
    """

    interest: Money
    fixed_fees: Money
    rate_percent: Decimal
    basis: str


@dataclass(frozen=True, slots=True)
class Regime:
    """One jurisdiction's late-payment rules.

    Attributes:
        basis: the legal basis code put on the claim.
        country: the ISO 3166 country code of the organisation.
        source: where the reference rate comes from.
        margin_points: percentage points added to the reference rate.
        fee_currency: the currency the fixed sums are defined in.
        rate_fixed_at_start: True when one rate, fixed the day interest starts to run, applies to
            the whole debt (UK); False when interest is split at each change (DE, EU).
    """

    basis: str
    country: str
    source: RateSource
    margin_points: Decimal
    fee_currency: str
    rate_fixed_at_start: bool


def regime_for(country: str) -> Regime | None:
    """The late-payment regime of an organisation's country.

    Args:
        country: ISO 3166-1 alpha-2 code (``"DE"``, ``"GB"``; ``"UK"`` is accepted too).

    Returns:
        The regime, or None where none is modelled (e.g. ``"US"``, ``"CH"``).
    """
    code = country.upper()
    if code == "DE":
        return Regime("DE-BGB-288", code, RateSource.DE_BASISZINSSATZ, Decimal(9), "EUR", False)
    if code in ("GB", "UK"):
        return Regime("UK-LPCDA-1998", "GB", RateSource.BOE_HALF_YEAR, Decimal(8), "GBP", True)
    if code in EURO_AREA_SINCE or code in EU_OUTSIDE_EURO:
        return Regime(f"EU-2011-7-{code}", code, RateSource.ECB_MRO_HALF_YEAR, Decimal(8), "EUR", False)
    return None


def reference_rate(source: RateSource, day: date) -> Decimal:
    """The reference rate of ``source`` in force on ``day`` (percent).

    Args:
        source: which table to read.
        day: the day asked about.

    Returns:
        The rate in percent, e.g. ``Decimal("1.27")``.

    Raises:
        RateUnavailable: ``day`` is outside 2023-01-01 … 2026-12-31.
    """
    if not TABLE_START <= day <= TABLE_END:
        raise RateUnavailable(
            f"no {source.value} reference rate for {day.isoformat()}: the built-in table covers "
            f"{TABLE_START.isoformat()} to {TABLE_END.isoformat()}; set reference_rate_percent"
        )
    rate = _TABLES[source][0][1]
    for start, row_rate in _TABLES[source]:
        if start > day:
            break
        rate = row_rate
    return rate


def _half_year_start(day: date) -> date:
    return date(day.year, 1 if day.month <= 6 else 7, 1)


def _next_half_year(day: date) -> date:
    start = _half_year_start(day)
    return date(start.year, 7, 1) if start.month == 1 else date(start.year + 1, 1, 1)


def _base_rate(regime: Regime, day: date, override: Decimal | None) -> Decimal:
    """The reference rate a regime uses for ``day``, honouring the override and euro membership."""
    if override is not None:
        return override
    if regime.source is RateSource.ECB_MRO_HALF_YEAR:
        since = EURO_AREA_SINCE.get(regime.country)
        if since is None or day < since:
            raise RateUnavailable(
                f"{regime.country} was outside the euro area on {day.isoformat()}: its reference rate is its "
                "national central bank's, which is not built in; set reference_rate_percent"
            )
    return reference_rate(regime.source, day)


def _rate_segments(
    regime: Regime, first_day: date, last_day: date, override: Decimal | None
) -> list[tuple[int, Decimal]]:
    """(days, annual rate in percent) for each stretch of [first_day, last_day] at one rate."""
    if regime.rate_fixed_at_start:
        rate = _base_rate(regime, first_day, override) + regime.margin_points
        return [((last_day - first_day).days + 1, rate)]
    segments: list[tuple[int, Decimal]] = []
    start = first_day
    while start <= last_day:
        end = min(last_day, date.fromordinal(_next_half_year(start).toordinal() - 1))
        segments.append(((end - start).days + 1, _base_rate(regime, start, override) + regime.margin_points))
        start = date.fromordinal(end.toordinal() + 1)
    return segments


def accrued_interest(
    regime: Regime, balance: Decimal, due_date: date, today: date, override: Decimal | None = None
) -> Decimal:
    """Unrounded simple interest on one balance from the day after ``due_date`` to ``today`` inclusive.

    Args:
        regime: the late-payment regime.
        balance: the open amount (its currency does not matter here).
        due_date: the invoice's due date.
        today: the last day interest runs.
        override: a reference rate (percent) to use for every period instead of the tables.

    Returns:
        The interest as an unrounded ``Decimal``; zero when not overdue.

    Raises:
        RateUnavailable: a day that needs the tables has no rate there.
    """
    if today <= due_date:
        return Decimal(0)
    first_day = date.fromordinal(due_date.toordinal() + 1)
    segments = _rate_segments(regime, first_day, today, override)
    return sum((balance * rate * days / (HUNDRED * DAYS_PER_YEAR) for days, rate in segments), Decimal(0))


def fixed_fee(regime: Regime, balance: Money) -> Money:
    """The flat compensation for one overdue debt, or zero when it is not in the regime's currency.

    Args:
        regime: the late-payment regime.
        balance: the open balance of the debt (the UK bands are read on it).

    Returns:
        €40 (DE, EU), £40/£70/£100 by size (UK), in the balance's currency; zero in another currency.
    """
    if balance.currency != regime.fee_currency:
        return money(0, balance.currency)
    if regime.fee_currency == "GBP":
        if balance.amount < 1000:
            return money(40, "GBP")
        return money(70, "GBP") if balance.amount < 10000 else money(100, "GBP")
    return money(40, "EUR")


def statutory_claim(
    country: str,
    items: Sequence[tuple[Money, date]],
    today: date,
    reference_rate_percent: Decimal | None = None,
) -> Claim | None:
    """The statutory late-payment claim on a touch's invoices.

    Args:
        country: the organisation's ISO 3166 country code.
        items: (open balance, due_date) per invoice, all in one currency.
        today: the day the claim is stated; interest runs up to and including it.
        reference_rate_percent: a base rate (percent) to use for all periods instead of the tables.

    Returns:
        The claim; None where no regime applies (e.g. US) or no item with a positive balance is overdue.

    Raises:
        RateUnavailable: a needed day is outside the built-in tables and no rate was given.
        CurrencyMismatch: the items are not all in one currency.
    """
    regime = regime_for(country)
    overdue = [(balance, due) for balance, due in items if due < today and balance.is_positive()]
    if regime is None or not overdue:
        return None
    currency = overdue[0][0].currency
    fees = money(0, currency)
    raw_interest = Decimal(0)
    for balance, due in overdue:
        fees += fixed_fee(regime, balance)  # Money addition raises CurrencyMismatch on a mixed touch
        raw_interest += accrued_interest(regime, balance.amount, due, today, reference_rate_percent)
    rate_today = _base_rate(regime, today, reference_rate_percent) + regime.margin_points
    return Claim(
        interest=money(raw_interest.quantize(CENT, rounding=ROUND_HALF_UP), currency),
        fixed_fees=fees,
        rate_percent=rate_today,
        basis=regime.basis,
    )

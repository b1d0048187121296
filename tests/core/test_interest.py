"""Statutory late-payment claims (scenario contract rule 11): rates, periods, fees, rounding.

Every expected amount below is computed by hand from the formula
    interest = balance × (base + margin) / 100 × days / 365,  days = today − due_date,
summed over invoices and rate periods and rounded half-up to cents once; the arithmetic of each
row is in its comment.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from core.interest import (
    BOE_HALF_YEAR,
    DE_BASISZINSSATZ,
    ECB_MRO_HALF_YEAR,
    TABLE_END,
    TABLE_START,
    Claim,
    RateSource,
    RateUnavailable,
    accrued_interest,
    fixed_fee,
    reference_rate,
    regime_for,
    statutory_claim,
)
from core.model import CurrencyMismatch, money

# Each row: country, balance, currency, due_date, today → interest, fixed fees, rate_percent, basis.
# fmt: off
CLAIMS = [
    # 30 days (Feb 2025 has 28) at 2.27 + 9 = 11.27 %: 1000 × 0.1127 × 30 / 365 = 3381 / 365 = 9.2630 → 9.26
    pytest.param("DE", "1000.00", "EUR", date(2025, 1, 31), date(2025, 3, 2), "9.26", "40.00", "11.27",
                 "DE-BGB-288", id="de-one-period-basiszins-plus-9"),
    # contract example, 1.27 + 9 = 10.27 %: 1190 × 0.1027 × 24 / 365 = 2933.112 / 365 = 8.0359 → 8.04
    pytest.param("DE", "1190.00", "EUR", date(2026, 2, 14), date(2026, 3, 10), "8.04", "40.00", "10.27",
                 "DE-BGB-288", id="de-contract-example-10-27"),
    # Jun 21–30 (10 d) at 11.27 %, Jul 1–10 (10 d) at 10.27 %:
    # 1000 × (0.1127 × 10 + 0.1027 × 10) / 365 = 2154 / 365 = 5.9014 → 5.90 (one rate for all 20 days: 5.63 or 6.18)
    pytest.param("DE", "1000.00", "EUR", date(2025, 6, 20), date(2025, 7, 10), "5.90", "40.00", "10.27",
                 "DE-BGB-288", id="de-split-at-july-rate-change"),
    # leap year, still /365: Feb 29 + Mar 1 = 2 days at 3.62 + 9 = 12.62 %: 36500 × 0.1262 × 2 / 365 = 25.24
    pytest.param("DE", "36500.00", "EUR", date(2024, 2, 28), date(2024, 3, 1), "25.24", "40.00", "12.62",
                 "DE-BGB-288", id="de-leap-day-counts-actual-over-365"),
    # FR, H2 2026 reference 2.40 + 8 = 10.40 %, 30 days: 1000 × 0.104 × 30 / 365 = 3120 / 365 = 8.5479 → 8.55
    pytest.param("FR", "1000.00", "EUR", date(2026, 6, 30), date(2026, 7, 30), "8.55", "40.00", "10.40",
                 "EU-2011-7-FR", id="fr-directive-ecb-plus-8"),
    # AT, H1 2025 reference 3.15 + 8 = 11.15 %, 30 days: 1000 × 0.1115 × 30 / 365 = 3345 / 365 = 9.1644 → 9.16
    pytest.param("AT", "1000.00", "EUR", date(2024, 12, 31), date(2025, 1, 30), "9.16", "40.00", "11.15",
                 "EU-2011-7-AT", id="at-directive-ecb-plus-8"),
    # NL across 1.7.2024: Jun 26–30 (5 d) at 4.50 + 8, Jul 1–5 (5 d) at 4.25 + 8:
    # 1000 × (0.125 × 5 + 0.1225 × 5) / 365 = 1237.5 / 365 = 3.3904 → 3.39
    pytest.param("NL", "1000.00", "EUR", date(2024, 6, 25), date(2024, 7, 5), "3.39", "40.00", "12.25",
                 "EU-2011-7-NL", id="nl-directive-split-at-half-year"),
    # BG joined the euro on 1.1.2026: 10 days of 2026 at 2.15 + 8 = 10.15 %: 1000 × 0.1015 × 10 / 365 = 2.7808 → 2.78
    pytest.param("BG", "1000.00", "EUR", date(2025, 12, 31), date(2026, 1, 10), "2.78", "40.00", "10.15",
                 "EU-2011-7-BG", id="bg-euro-member-from-2026"),
    # UK: interest starts 21.12.2025 (H2 2025, reference 4.25) and keeps 12.25 % for the whole debt:
    # 30 days (Dec 21–31 = 11, Jan 1–19 = 19): 1000 × 0.1225 × 30 / 365 = 3675 / 365 = 10.0685 → 10.07
    # (splitting at 1.1.2026 would give 9.81); rate_percent is today's: 3.75 + 8 = 11.75; £70 for £1,000
    pytest.param("GB", "1000.00", "GBP", date(2025, 12, 20), date(2026, 1, 19), "10.07", "70.00", "11.75",
                 "UK-LPCDA-1998", id="uk-rate-fixed-when-interest-starts"),
    # "UK" is accepted for GB: H1 2024 reference 5.25 + 8 = 13.25 %, 10 days:
    # 500 × 0.1325 × 10 / 365 = 662.5 / 365 = 1.8151 → 1.82; £40 for a debt below £1,000
    pytest.param("UK", "500.00", "GBP", date(2024, 3, 1), date(2024, 3, 11), "1.82", "40.00", "13.25", "UK-LPCDA-1998",
                 id="uk-alias-small-debt"),
]
# fmt: on


@pytest.mark.parametrize(
    ("country", "balance", "currency", "due", "today", "interest", "fees", "rate", "basis"), CLAIMS
)
def test_claim_matches_hand_computed_interest_fee_and_rate(
    country: str,
    balance: str,
    currency: str,
    due: date,
    today: date,
    interest: str,
    fees: str,
    rate: str,
    basis: str,
) -> None:
    claim = statutory_claim(country, [(money(balance, currency), due)], today)

    assert claim == Claim(
        interest=money(interest, currency),
        fixed_fees=money(fees, currency),
        rate_percent=Decimal(rate),
        basis=basis,
    )


@pytest.mark.parametrize(
    ("balance", "fee"),
    [
        pytest.param("0.01", "40", id="tiny"),
        pytest.param("999.99", "40", id="just-below-1000"),
        pytest.param("1000.00", "70", id="exactly-1000"),
        pytest.param("9999.99", "70", id="just-below-10000"),
        pytest.param("10000.00", "100", id="exactly-10000"),
        pytest.param("250000.00", "100", id="large"),
    ],
)
def test_uk_fixed_sum_follows_debt_size_bands(balance: str, fee: str) -> None:
    regime = regime_for("GB")
    assert regime is not None

    assert fixed_fee(regime, money(balance, "GBP")) == money(fee, "GBP")


def test_uk_fixed_sums_are_per_debt_and_added_up() -> None:
    items = [
        (money("999.99", "GBP"), date(2026, 1, 5)),
        (money("1000.00", "GBP"), date(2026, 1, 5)),
        (money("10000.00", "GBP"), date(2026, 1, 5)),
    ]

    claim = statutory_claim("GB", items, date(2026, 2, 1))

    assert claim is not None
    assert claim.fixed_fees == money("210.00", "GBP")  # 40 + 70 + 100


@pytest.mark.parametrize(
    ("due", "today"),
    [
        pytest.param(date(2026, 3, 10), date(2026, 3, 10), id="due-today"),
        pytest.param(date(2026, 3, 11), date(2026, 3, 10), id="due-tomorrow"),
    ],
)
def test_no_claim_when_nothing_is_overdue(due: date, today: date) -> None:
    assert statutory_claim("DE", [(money("500.00", "EUR"), due)], today) is None


def test_no_claim_for_overdue_invoice_without_positive_balance() -> None:
    items = [(money("0.00", "EUR"), date(2026, 1, 1)), (money("-20.00", "EUR"), date(2026, 1, 1))]

    assert statutory_claim("DE", items, date(2026, 3, 10)) is None


def test_only_overdue_invoices_accrue_and_carry_a_fee() -> None:
    items = [
        # 1 day at 10.27 %: 3650 × 0.1027 / 365 = 1.027 → 1.03
        (money("3650.00", "EUR"), date(2026, 3, 9)),
        (money("9999.00", "EUR"), date(2026, 3, 20)),  # not due yet: neither interest nor fee
    ]

    claim = statutory_claim("DE", items, date(2026, 3, 10))

    assert claim is not None
    assert (claim.interest, claim.fixed_fees) == (money("1.03", "EUR"), money("40.00", "EUR"))


@pytest.mark.parametrize(
    "country",
    [
        pytest.param("US", id="us"),
        pytest.param("CH", id="switzerland-not-eu"),
        pytest.param("NO", id="norway-not-eu"),
        pytest.param("", id="empty"),
    ],
)
def test_no_claim_where_no_regime_applies(country: str) -> None:
    assert statutory_claim(country, [(money("1000.00", "EUR"), date(2026, 1, 1))], date(2026, 3, 10)) is None


# Each row: country, due_date, today → interest on 1000.00 EUR and rate_percent with a base rate fixed at 2.00.
# fmt: off
OVERRIDES = [
    # base 2.00 for both halves of 2025 instead of 2.27 / 1.27: 11.00 % for 20 days: 1000 × 0.11 × 20 / 365 = 6.0274
    pytest.param("DE", date(2025, 6, 20), date(2025, 7, 10), "6.03", "11.00", id="de-override-replaces-every-period"),
    # outside the tables the override still works: 10 days at 11 %: 1100 / 365 = 3.0137 → 3.01
    pytest.param("DE", date(2029, 12, 31), date(2030, 1, 10), "3.01", "11.00", id="de-override-outside-table"),
    # a non-euro member needs the override: 2.00 + 8 = 10 %, 73 days: 1000 × 0.1 × 73 / 365 = 20.00
    pytest.param("PL", date(2026, 1, 1), date(2026, 3, 15), "20.00", "10.00", id="pl-override-national-rate"),
]
# fmt: on


@pytest.mark.parametrize(("country", "due", "today", "interest", "rate"), OVERRIDES)
def test_fixed_reference_rate_overrides_the_tables(
    country: str, due: date, today: date, interest: str, rate: str
) -> None:
    claim = statutory_claim(country, [(money("1000.00", "EUR"), due)], today, reference_rate_percent=Decimal("2.00"))

    assert claim is not None
    assert (claim.interest, claim.rate_percent) == (money(interest, "EUR"), Decimal(rate))


@pytest.mark.parametrize(
    ("country", "due", "today"),
    [
        pytest.param("DE", date(2022, 12, 20), date(2023, 1, 10), id="interest-starts-before-table"),
        pytest.param("DE", date(2026, 12, 20), date(2027, 1, 5), id="today-after-table"),
        pytest.param("FR", date(2026, 12, 31), date(2027, 1, 1), id="eu-after-table"),
        pytest.param("GB", date(2022, 12, 30), date(2023, 1, 10), id="uk-start-before-table"),
        pytest.param("GB", date(2026, 12, 30), date(2027, 1, 2), id="uk-today-after-table"),
        pytest.param("PL", date(2026, 1, 1), date(2026, 2, 1), id="eu-outside-euro-area"),
        pytest.param("BG", date(2025, 12, 20), date(2026, 1, 10), id="bg-before-joining-euro"),
    ],
)
def test_missing_reference_rate_is_an_error_not_a_guess(country: str, due: date, today: date) -> None:
    with pytest.raises(RateUnavailable, match="reference_rate_percent"):
        statutory_claim(country, [(money("1000.00", "EUR"), due)], today)


def test_interest_total_is_rounded_half_up() -> None:
    # 73 days at 1.00 + 9 = 10 %: 1.25 × 0.10 × 73 / 365 = 0.025 exactly → half-up 0.03 (half-even would give 0.02)
    claim = statutory_claim(
        "DE", [(money("1.25", "EUR"), date(2025, 1, 1))], date(2025, 3, 15), reference_rate_percent=Decimal("1.00")
    )

    assert claim is not None
    assert claim.interest == money("0.03", "EUR")


def test_interest_is_rounded_once_over_all_invoices() -> None:
    # each invoice: 0.25 × 0.10 × 73 / 365 = 0.005; total 0.010 → 0.01 (rounding each first would give 0.02)
    items = [(money("0.25", "EUR"), date(2025, 1, 1)), (money("0.25", "EUR"), date(2025, 1, 1))]

    claim = statutory_claim("DE", items, date(2025, 3, 15), reference_rate_percent=Decimal("1.00"))

    assert claim is not None
    assert (claim.interest, claim.fixed_fees) == (money("0.01", "EUR"), money("80.00", "EUR"))


@pytest.mark.parametrize(
    ("country", "currency", "interest"),
    [
        # DE, 30 days at 11.27 % as in the first table row: 9.26, in the invoices' currency
        pytest.param("DE", "USD", "9.26", id="de-org-invoicing-usd"),
        # UK, H1 2025 reference 4.75 + 8 = 12.75 %, 30 days: 1000 × 0.1275 × 30 / 365 = 3825 / 365 = 10.4795 → 10.48
        pytest.param("GB", "EUR", "10.48", id="uk-org-invoicing-eur"),
        pytest.param("FR", "CHF", "9.16", id="fr-org-invoicing-chf"),  # 3.15 + 8 → 9.16 as in the AT row
    ],
)
def test_foreign_currency_gets_interest_but_no_fixed_fee(country: str, currency: str, interest: str) -> None:
    due = date(2025, 1, 31) if country == "DE" else date(2024, 12, 31)
    today = date(2025, 3, 2) if country == "DE" else date(2025, 1, 30)

    claim = statutory_claim(country, [(money("1000.00", currency), due)], today)

    assert claim is not None
    assert (claim.interest, claim.fixed_fees) == (money(interest, currency), money("0.00", currency))


def test_mixed_currencies_in_one_touch_are_refused() -> None:
    items = [(money("100.00", "EUR"), date(2026, 1, 1)), (money("100.00", "USD"), date(2026, 1, 1))]

    with pytest.raises(CurrencyMismatch):
        statutory_claim("DE", items, date(2026, 3, 10))


@pytest.mark.parametrize(
    ("source", "day", "rate"),
    [
        pytest.param(RateSource.DE_BASISZINSSATZ, date(2024, 1, 1), "3.62", id="de-2024-jan"),
        pytest.param(RateSource.DE_BASISZINSSATZ, date(2024, 6, 30), "3.62", id="de-2024-last-day-h1"),
        pytest.param(RateSource.DE_BASISZINSSATZ, date(2024, 7, 1), "3.37", id="de-2024-jul"),
        pytest.param(RateSource.DE_BASISZINSSATZ, date(2025, 1, 1), "2.27", id="de-2025-jan"),
        pytest.param(RateSource.DE_BASISZINSSATZ, date(2025, 7, 1), "1.27", id="de-2025-jul"),
        pytest.param(RateSource.DE_BASISZINSSATZ, date(2026, 12, 31), "1.52", id="de-2026-last-day"),
        pytest.param(RateSource.ECB_MRO_HALF_YEAR, date(2025, 7, 1), "2.15", id="ecb-2025-h2"),
        pytest.param(RateSource.BOE_HALF_YEAR, date(2025, 3, 1), "4.75", id="boe-2025-h1"),
        pytest.param(RateSource.BOE_HALF_YEAR, date(2026, 1, 1), "3.75", id="boe-2026-h1"),
    ],
)
def test_reference_rate_reads_the_half_year_row(source: RateSource, day: date, rate: str) -> None:
    assert reference_rate(source, day) == Decimal(rate)


@pytest.mark.parametrize(
    "table",
    [
        pytest.param(DE_BASISZINSSATZ, id="de"),
        pytest.param(ECB_MRO_HALF_YEAR, id="ecb"),
        pytest.param(BOE_HALF_YEAR, id="boe"),
    ],
)
def test_rate_tables_have_one_row_per_half_year_from_start_to_end(table: tuple[tuple[date, Decimal], ...]) -> None:
    starts = [start for start, _ in table]
    expected = [date(year, month, 1) for year in range(TABLE_START.year, TABLE_END.year + 1) for month in (1, 7)]

    assert starts == expected


def test_basiszinssatz_moves_by_the_ecb_rate_change_as_paragraph_247_bgb_says() -> None:
    # §247 Abs. 1 BGB: on 1 Jan / 1 Jul the Basiszinssatz changes by as many points as the MRO rate
    # changed since the last change; the two tables must agree row by row.
    de_steps = [b[1] - a[1] for a, b in itertools.pairwise(DE_BASISZINSSATZ)]
    ecb_steps = [b[1] - a[1] for a, b in itertools.pairwise(ECB_MRO_HALF_YEAR)]

    assert de_steps == ecb_steps


# ---------------------------------------------------------------- properties

TABLE_DAYS = st.dates(min_value=TABLE_START, max_value=TABLE_END)
BALANCES = st.integers(1, 10_000_000).map(lambda cents: Decimal(cents) / 100)


@given(BALANCES, TABLE_DAYS, TABLE_DAYS, TABLE_DAYS)
def test_split_interest_adds_up_over_consecutive_stretches(balance: Decimal, a: date, b: date, c: date) -> None:
    due, middle, today = sorted((a, b, c))
    regime = regime_for("DE")
    assert regime is not None

    whole = accrued_interest(regime, balance, due, today)
    parts = accrued_interest(regime, balance, due, middle) + accrued_interest(regime, balance, middle, today)

    assert abs(whole - parts) < Decimal("1e-20")


@given(
    st.sampled_from(["DE", "FR", "GB"]),
    BALANCES,
    st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 1, 1)),
    st.integers(1, 2000),
    st.integers(-100, 1500).map(lambda bp: Decimal(bp) / 100),
)
def test_fixed_rate_interest_is_the_closed_formula(
    country: str, balance: Decimal, due: date, days: int, base: Decimal
) -> None:
    margin = Decimal(9) if country == "DE" else Decimal(8)
    currency = "GBP" if country == "GB" else "EUR"

    claim = statutory_claim(country, [(money(balance, currency), due)], due + timedelta(days=days), base)

    assert claim is not None
    exact = balance * (base + margin) * days / 36500
    assert claim.interest.amount == exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@given(BALANCES, TABLE_DAYS, st.integers(1, 400), st.integers(1, 400))
def test_interest_never_shrinks_as_days_pass(balance: Decimal, due: date, first: int, more: int) -> None:
    earlier, later = due + timedelta(days=first), due + timedelta(days=first + more)
    assume(later <= TABLE_END)

    before = statutory_claim("DE", [(money(balance, "EUR"), due)], earlier)
    after = statutory_claim("DE", [(money(balance, "EUR"), due)], later)

    assert before is not None and after is not None
    assert before.interest.amount <= after.interest.amount

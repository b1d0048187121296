"""Receivables metrics on small hand-computed ledgers (aging, DSO/ADD/CEI, payer rating, cash, promises).

Every expected figure is worked out by hand in the comment next to it; ``TODAY`` is a Tuesday.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.metrics import (
    UNRATED,
    AgingBuckets,
    PromiseStatus,
    aging,
    dso_trend,
    expected_cash,
    payer_ratings,
    period_metrics,
    promises_kept,
    rate_payer,
)
from core.model import (
    Allocation,
    Customer,
    Invoice,
    InvoiceStatus,
    Ledger,
    Money,
    Pause,
    PauseKind,
    Payment,
    money,
)

TODAY = date(2026, 3, 10)


def inv(
    id: str,
    due: date,
    balance: str,
    *,
    customer: str = "C1",
    issued: date | None = None,
    total: str | None = None,
    currency: str = "EUR",
    status: InvoiceStatus = InvoiceStatus.OPEN,
    paid: date | None = None,
) -> Invoice:
    """An invoice; issued 30 days before due and total = balance unless told otherwise."""
    return Invoice(
        id=id,
        customer_id=customer,
        number=id,
        issue_date=issued or due - timedelta(days=30),
        due_date=due,
        total=money(total or balance, currency),
        balance=money(balance, currency),
        status=status,
        paid_date=paid,
    )


def paid_inv(id: str, due: date, paid: date, *, customer: str = "C1", total: str = "100.00") -> Invoice:
    return inv(id, due, "0.00", customer=customer, total=total, status=InvoiceStatus.PAID, paid=paid)


def pay(id: str, paid: date, *allocations: tuple[str, str], customer: str = "C1") -> Payment:
    allocs = tuple(Allocation(invoice_id, money(amount, "EUR")) for invoice_id, amount in allocations)
    total = sum((a.amount.amount for a in allocs), Decimal(0))
    return Payment(id, customer, paid, money(total, "EUR"), allocs)


def eur(amount: str) -> Money:
    return money(amount, "EUR")


def days_before(n: int) -> date:
    return TODAY - timedelta(days=n)


# ---------------------------------------------------------------- aging


@pytest.mark.parametrize(
    ("days_overdue", "bucket"),
    [
        pytest.param(-10, "current", id="not-yet-due"),
        pytest.param(0, "current", id="due-today"),
        pytest.param(1, "days_1_30", id="1-day"),
        pytest.param(30, "days_1_30", id="30-days"),
        pytest.param(31, "days_31_60", id="31-days"),
        pytest.param(60, "days_31_60", id="60-days"),
        pytest.param(61, "days_61_90", id="61-days"),
        pytest.param(90, "days_61_90", id="90-days"),
        pytest.param(91, "days_over_90", id="91-days"),
    ],
)
def test_aging_puts_balance_in_bucket_by_days_overdue(days_overdue: int, bucket: str) -> None:
    ledger = Ledger(invoices=(inv("I1", days_before(days_overdue), "123.45"),))

    (row,) = aging(ledger, TODAY)

    buckets = ("current", "days_1_30", "days_31_60", "days_61_90", "days_over_90")
    assert {name: getattr(row, name) for name in buckets} == {
        name: eur("123.45" if name == bucket else "0") for name in buckets
    }


def test_aging_sums_open_balances_per_currency_and_skips_what_is_not_owed() -> None:
    ledger = Ledger(
        invoices=(
            inv("A", date(2026, 3, 10), "100.00"),  # 0 days: current
            inv("B", date(2026, 3, 20), "50.00"),  # current
            inv("C", date(2026, 3, 9), "10.00"),  # 1 day
            inv("D", date(2026, 2, 8), "20.00"),  # 20 + 10 = 30 days
            inv("E", date(2026, 2, 7), "30.00"),  # 31 days
            inv("F", date(2026, 1, 9), "40.00"),  # 22 + 28 + 10 = 60 days
            inv("G", date(2026, 1, 8), "5.00"),  # 61 days
            inv("H", date(2025, 12, 10), "7.00"),  # 21 + 31 + 28 + 10 = 90 days
            inv("I", date(2025, 12, 9), "1000.00"),  # 91 days
            inv("PAID", date(2026, 1, 1), "0.00", total="80.00", status=InvoiceStatus.PAID, paid=date(2026, 2, 1)),
            inv("VOID", date(2026, 1, 1), "80.00", status=InvoiceStatus.VOIDED),
            inv("ZERO", date(2026, 1, 1), "0.00", total="80.00"),
            inv("CREDIT", date(2026, 1, 1), "-5.00"),
            inv("U", date(2025, 1, 1), "300.00", currency="USD"),
        )
    )

    assert aging(ledger, TODAY) == (
        AgingBuckets(
            currency="EUR",
            current=eur("150.00"),  # 100 + 50
            days_1_30=eur("30.00"),  # 10 + 20
            days_31_60=eur("70.00"),  # 30 + 40
            days_61_90=eur("12.00"),  # 5 + 7
            days_over_90=eur("1000.00"),
            total=eur("1262.00"),  # 150 + 30 + 70 + 12 + 1000
        ),
        AgingBuckets(
            currency="USD",
            current=money("0", "USD"),
            days_1_30=money("0", "USD"),
            days_31_60=money("0", "USD"),
            days_61_90=money("0", "USD"),
            days_over_90=money("300.00", "USD"),
            total=money("300.00", "USD"),
        ),
    )


def test_aging_of_empty_ledger_has_no_rows() -> None:
    assert aging(Ledger(), TODAY) == ()


# ---------------------------------------------------------------- past balances, DSO, ADD, CEI

# One invoice of 1000.00 issued 10 Jan, paid 300 on 1 Feb and 700 on 1 Mar (paid_date 1 Mar).
PAID_IN_TWO = Ledger(
    invoices=(
        inv("X", date(2026, 2, 9), "0.00", total="1000.00", issued=date(2026, 1, 10), status=InvoiceStatus.PAID,
            paid=date(2026, 3, 1)),
    ),
    payments=(pay("P1", date(2026, 2, 1), ("X", "300.00")), pay("P2", date(2026, 3, 1), ("X", "700.00"))),
)  # fmt: skip


@pytest.mark.parametrize(
    ("day", "ar"),
    [
        pytest.param(date(2026, 1, 9), None, id="before-issue-no-row"),
        pytest.param(date(2026, 1, 10), "1000.00", id="issue-day"),
        pytest.param(date(2026, 1, 31), "1000.00", id="before-first-payment"),
        pytest.param(date(2026, 2, 1), "700.00", id="first-payment-day"),  # 1000 - 300
        pytest.param(date(2026, 2, 28), "700.00", id="between-payments"),
        pytest.param(date(2026, 3, 1), "0", id="paid-off"),
    ],
)
def test_past_ar_balance_is_rebuilt_from_dated_allocations(day: date, ar: str | None) -> None:
    rows = period_metrics(PAID_IN_TWO, day, day)

    assert [row.ar_end for row in rows] == ([] if ar is None else [eur(ar)])


@pytest.mark.parametrize(
    ("invoice", "day", "ar"),
    [
        pytest.param(
            inv("Y", date(2026, 2, 1), "0.00", total="500.00", issued=date(2026, 1, 2), status=InvoiceStatus.PAID,
                paid=date(2026, 2, 15)),
            date(2026, 2, 14), "500.00", id="paid-without-payments-outstanding-until-paid-date",
        ),
        pytest.param(
            inv("Y", date(2026, 2, 1), "0.00", total="500.00", issued=date(2026, 1, 2), status=InvoiceStatus.PAID,
                paid=date(2026, 2, 15)),
            date(2026, 2, 15), "0", id="paid-without-payments-zero-from-paid-date",
        ),
        pytest.param(
            # total 500, a credit note (no allocation) took it to 400: dated at issue
            inv("Y", date(2026, 2, 1), "400.00", total="500.00", issued=date(2026, 1, 2)),
            date(2026, 1, 2), "400.00", id="unexplained-reduction-of-open-invoice-dated-at-issue",
        ),
        pytest.param(
            inv("Y", date(2026, 2, 1), "0.00", total="500.00", issued=date(2026, 1, 2), status=InvoiceStatus.PAID),
            date(2026, 1, 20), "0", id="paid-without-any-date-counts-as-never-outstanding",
        ),
        pytest.param(
            inv("Y", date(2026, 2, 1), "500.00", issued=date(2026, 1, 2), status=InvoiceStatus.VOIDED),
            date(2026, 1, 20), None, id="voided-never-receivable-no-row",
        ),
    ],
)  # fmt: skip
def test_past_ar_balance_approximations(invoice: Invoice, day: date, ar: str | None) -> None:
    rows = period_metrics(Ledger(invoices=(invoice,)), day, day)

    assert [row.ar_end for row in rows] == ([] if ar is None else [eur(ar)])


# March 2026 (31 days); every figure below is worked out in test_period_metrics_of_march.
MARCH = Ledger(
    invoices=(
        # issued Feb, paid in full on 5 Mar by P1
        inv("I1", date(2026, 3, 12), "0.00", total="1000.00", issued=date(2026, 2, 10), status=InvoiceStatus.PAID,
            paid=date(2026, 3, 5)),
        inv("I2", date(2026, 4, 4), "600.00", issued=date(2026, 3, 5)),  # open, not due on 31 Mar
        # open, 100 paid on 2 Apr (after the period): 400 outstanding on 31 Mar, overdue
        inv("I3", date(2026, 3, 15), "300.00", total="400.00", issued=date(2026, 3, 1)),
        # issued Jan, paid 20 Mar, no payment record
        inv("I4", date(2026, 2, 14), "0.00", total="500.00", issued=date(2026, 1, 15), status=InvoiceStatus.PAID,
            paid=date(2026, 3, 20)),
        inv("I5", date(2026, 4, 2), "999.00", issued=date(2026, 3, 3), status=InvoiceStatus.VOIDED),
        inv("I6", date(2026, 3, 25), "150.00", total="200.00", issued=date(2026, 3, 10)),  # credit note of 50
    ),
    payments=(pay("P1", date(2026, 3, 5), ("I1", "1000.00")), pay("P2", date(2026, 4, 2), ("I3", "100.00"))),
)  # fmt: skip


def test_period_metrics_of_march() -> None:
    (row,) = period_metrics(MARCH, date(2026, 3, 1), date(2026, 3, 31))

    assert row.days == 31
    assert row.credit_sales == eur("1200.00")  # I2 600 + I3 400 + I6 200 (I5 voided, I1/I4 issued earlier)
    assert row.ar_start == eur("1500.00")  # 28 Feb: I1 1000 (paid 5 Mar) + I4 500 (paid 20 Mar)
    assert row.ar_end == eur("1150.00")  # 31 Mar: I2 600 + I3 300 + 100 + I6 150
    assert row.current_ar_end == eur("600.00")  # only I2 is not yet due
    assert row.dso == Decimal("29.7")  # 1150 / 1200 × 31 = 29.708
    assert row.best_possible_dso == Decimal("15.5")  # 600 / 1200 × 31
    assert row.average_days_delinquent == Decimal("14.2")  # 29.7 − 15.5
    assert row.collection_effectiveness == Decimal("73.8")  # (1500 + 1200 − 1150) / (1500 + 1200 − 600) = 0.73809


def test_ar_balance_today_equals_open_balances_in_aging() -> None:
    (metrics,) = period_metrics(MARCH, date(2026, 4, 10), date(2026, 4, 10))
    (buckets,) = aging(MARCH, date(2026, 4, 10))

    assert metrics.ar_end == buckets.total == eur("1050.00")  # I2 600 + I3 300 + I6 150


def test_invoice_due_on_the_period_end_is_current_like_in_aging() -> None:
    ledger = Ledger(invoices=(inv("A", date(2026, 2, 28), "280.00", issued=date(2026, 2, 1)),))

    (row,) = period_metrics(ledger, date(2026, 2, 1), date(2026, 2, 28))

    # due on the last day is not overdue: current AR 280, BPDSO = DSO = 280 / 280 × 28 = 28, ADD 0
    assert (row.current_ar_end, row.best_possible_dso, row.average_days_delinquent) == (
        eur("280.00"), Decimal("28.0"), Decimal("0.0")
    )  # fmt: skip


def test_period_without_credit_sales_has_no_dso_but_a_cei() -> None:
    ledger = Ledger(invoices=(inv("U", date(2026, 1, 31), "250.00", issued=date(2026, 1, 1), currency="USD"),))

    (row,) = period_metrics(ledger, date(2026, 2, 1), date(2026, 2, 28))

    assert (row.dso, row.best_possible_dso, row.average_days_delinquent) == (None, None, None)
    assert row.collection_effectiveness == Decimal("0.0")  # (250 + 0 − 250) / (250 + 0 − 0): nothing collected


def test_period_metrics_refuses_a_period_ending_before_it_starts() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        period_metrics(MARCH, date(2026, 3, 31), date(2026, 3, 1))


def test_dso_trend_shows_complete_months_oldest_first() -> None:
    ledger = Ledger(
        invoices=(
            inv("A", date(2026, 2, 4), "310.00", issued=date(2026, 1, 5)),
            inv("B", date(2026, 3, 12), "280.00", issued=date(2026, 2, 10)),
        )
    )

    jan, feb = dso_trend(ledger, TODAY, months=2)

    # January: sales 310, AR 310, all current (A due 4 Feb): DSO = BPDSO = 310 / 310 × 31 = 31; CEI 0 / 0 → None
    assert (jan.start_date, jan.end_date, jan.dso, jan.best_possible_dso) == (
        date(2026, 1, 1), date(2026, 1, 31), Decimal("31.0"), Decimal("31.0")
    )  # fmt: skip
    assert (jan.average_days_delinquent, jan.collection_effectiveness) == (Decimal("0.0"), None)
    # February: sales 280, AR 310 + 280 = 590, current 280 (B): DSO 590 / 280 × 28 = 59, BPDSO 28, ADD 31;
    # CEI (310 + 280 − 590) / (310 + 280 − 280) = 0
    assert (feb.start_date, feb.end_date, feb.dso, feb.best_possible_dso) == (
        date(2026, 2, 1), date(2026, 2, 28), Decimal("59.0"), Decimal("28.0")
    )  # fmt: skip
    assert (feb.average_days_delinquent, feb.collection_effectiveness) == (Decimal("31.0"), Decimal("0.0"))


def test_dso_trend_months_cross_the_year_boundary_per_currency() -> None:
    ledger = Ledger(
        invoices=(
            inv("E", date(2025, 11, 1), "100.00", issued=date(2025, 10, 1)),
            inv("U", date(2025, 11, 1), "100.00", issued=date(2025, 10, 1), currency="USD"),
        )
    )

    rows = dso_trend(ledger, date(2026, 1, 15), months=2)

    assert [(r.currency, r.start_date, r.end_date) for r in rows] == [
        ("EUR", date(2025, 11, 1), date(2025, 11, 30)),
        ("EUR", date(2025, 12, 1), date(2025, 12, 31)),
        ("USD", date(2025, 11, 1), date(2025, 11, 30)),
        ("USD", date(2025, 12, 1), date(2025, 12, 31)),
    ]


# ---------------------------------------------------------------- payer rating


def late_by(id: str, days: int, *, customer: str = "C1", due: date = date(2025, 6, 1)) -> Invoice:
    """A paid invoice paid ``days`` after ``due`` (negative = early)."""
    return paid_inv(id, due, due + timedelta(days=days), customer=customer)


def test_payer_rating_averages_floored_lateness_and_counts_late_share() -> None:
    # days late 0, early (-5 → 0), 4, 10: average 14 / 4 = 3.5 → B; late 2 of 4 = 0.50; no earlier block → no trend
    history = [late_by("a", 0), late_by("b", -5), late_by("c", 4), late_by("d", 10)]

    rating = rate_payer("C1", history)

    assert (rating.paid_invoices, rating.average_days_late, rating.share_paid_late) == (
        4,
        Decimal("3.5"),
        Decimal("0.50"),
    )
    assert (rating.recent_days_late, rating.earlier_days_late, rating.trend_days) == (Decimal("3.5"), None, None)
    assert rating.grade == "B"


def test_payer_rating_trend_compares_last_six_payments_with_earlier_ones() -> None:
    # paid in this order: 2 invoices on time, then 6 paid 20 days late; listed newest first to show the
    # order comes from paid_date. Average (0 + 0 + 6 × 20) / 8 = 15 → C; trend 20 − 0 = 20 ≥ 10 → one step down: D
    history = [late_by(f"late{i}", 20, due=date(2025, 7, i + 1)) for i in range(6)]
    history += [late_by("early1", 0, due=date(2025, 1, 1)), late_by("early2", 0, due=date(2025, 1, 2))]

    rating = rate_payer("C1", list(reversed(history)))

    assert (rating.average_days_late, rating.share_paid_late) == (Decimal("15.0"), Decimal("0.75"))
    assert (rating.recent_days_late, rating.earlier_days_late, rating.trend_days) == (
        Decimal("20.0"), Decimal("0.0"), Decimal("20.0")
    )  # fmt: skip
    assert rating.grade == "D"


@pytest.mark.parametrize(
    ("days", "grade"),
    [
        pytest.param(0, "A", id="on-time"),
        pytest.param(3, "A", id="3-days-still-A"),
        pytest.param(4, "B", id="4-days"),
        pytest.param(10, "B", id="10-days-still-B"),
        pytest.param(11, "C", id="11-days"),
        pytest.param(30, "C", id="30-days-still-C"),
        pytest.param(31, "D", id="31-days"),
        pytest.param(60, "D", id="60-days-still-D"),
        pytest.param(61, "E", id="61-days"),
    ],
)
def test_payer_grade_thresholds_on_average_days_late(days: int, grade: str) -> None:
    history = [late_by(f"i{n}", days, due=date(2025, 1 + n, 1)) for n in range(3)]

    assert rate_payer("C1", history).grade == grade


@pytest.mark.parametrize(
    ("earlier_days", "recent_days", "grade"),
    [
        # 2 × 30 then 6 × 0: average 60 / 8 = 7.5 → B; improving trend −30 does not lift it
        pytest.param(30, 0, "B", id="improving-trend-keeps-grade"),
        # 2 × 0 then 6 × 9: average 54 / 8 = 6.75 → 6.8 → B; trend 9 < 10 → stays B
        pytest.param(0, 9, "B", id="worsening-below-10-days-keeps-grade"),
        # 2 × 50 then 6 × 100: average 700 / 8 = 87.5 → E; trend 50 cannot go below E
        pytest.param(50, 100, "E", id="worsening-at-E-stays-E"),
    ],
)
def test_payer_grade_moves_down_only_for_a_clear_worsening(earlier_days: int, recent_days: int, grade: str) -> None:
    history = [late_by(f"e{n}", earlier_days, due=date(2024, 1 + n, 1)) for n in range(2)]
    history += [late_by(f"r{n}", recent_days, due=date(2025, 1 + n, 1)) for n in range(6)]

    assert rate_payer("C1", history).grade == grade


def test_payer_ratings_cover_every_customer_and_leave_thin_histories_unrated() -> None:
    ledger = Ledger(
        customers=(Customer("C4", "No invoices"), Customer("C1", "Acme")),
        invoices=(
            late_by("a", 0, customer="C1"),
            late_by("b", 0, customer="C1", due=date(2025, 7, 1)),
            late_by("c", 0, customer="C1", due=date(2025, 8, 1)),
            late_by("d", 1, customer="C3"),
            late_by("e", 1, customer="C3", due=date(2025, 7, 1)),  # two paid invoices: figures, no grade
            inv("f", date(2026, 1, 1), "100.00", customer="C5"),  # only an open invoice: no history
        ),
    )

    ratings = payer_ratings(ledger)

    assert [(r.customer_id, r.paid_invoices, r.average_days_late, r.grade) for r in ratings] == [
        ("C1", 3, Decimal("0.0"), "A"),
        ("C3", 2, Decimal("1.0"), UNRATED),
        ("C4", 0, None, UNRATED),
        ("C5", 0, None, UNRATED),
    ]


# ---------------------------------------------------------------- expected cash


def test_expected_cash_by_week_shifts_due_dates_by_payer_lateness() -> None:
    # Weeks from Tue 10 Mar: W0 10–16 Mar, W1 17–23 Mar, W2 24–30 Mar, later from 31 Mar.
    # Lateness: P pays 4 and 6 days late → 5; R pays 2 and 3 days late → 2.5 → 3 (half-up); Q has no history → 0.
    history = (
        late_by("p-h1", 4, customer="P"),
        late_by("p-h2", 6, customer="P"),
        late_by("r-h1", 2, customer="R"),
        late_by("r-h2", 3, customer="R"),
    )
    open_invoices = (
        inv("P1", date(2026, 3, 12), "100.00", customer="P"),  # 12 + 5 = 17 Mar → W1
        inv("P2", date(2026, 2, 1), "200.00", customer="P"),  # 6 Feb is past → today → W0
        inv("Q1", date(2026, 3, 16), "300.00", customer="Q"),  # W0, last day
        inv("Q2", date(2026, 3, 17), "400.00", customer="Q"),  # W1, first day
        inv("Q3", date(2026, 3, 31), "500.00", customer="Q"),  # after W2 → later
        inv("Q4", date(2026, 3, 30), "50.00", customer="Q"),  # W2, last day
        inv("R1", date(2026, 3, 21), "60.00", customer="R"),  # 21 + 3 = 24 Mar → W2 (rounding down would say W1)
        inv("Q5", date(2026, 3, 11), "70.00", customer="Q"),  # disputed → not forecast
        inv("Q6", date(2026, 2, 15), "80.00", customer="Q"),  # promised for 25 Mar → W2
        inv("Q7", date(2026, 3, 1), "90.00", customer="Q"),  # promise of 5 Mar is over → 1 Mar is past → W0
        inv("Q9", date(2026, 3, 18), "10.00", customer="Q"),  # its dispute ended yesterday → W1
        inv("U1", date(2026, 4, 30), "1000.00", customer="Q", currency="USD"),  # later
    )
    pauses = (
        Pause(PauseKind.DISPUTE, "Q", "Q5"),
        Pause(PauseKind.PROMISE, "Q", "Q6", until_date=date(2026, 3, 25), since_date=date(2026, 3, 1)),
        Pause(PauseKind.PROMISE, "Q", "Q7", until_date=date(2026, 3, 5)),
        Pause(PauseKind.DISPUTE, "Q", "Q9", until_date=date(2026, 3, 9)),
    )
    ledger = Ledger(invoices=history + open_invoices, pauses=pauses)

    eur_cash, usd_cash = expected_cash(ledger, TODAY, weeks=3)

    assert [(w.start_date, w.end_date) for w in eur_cash.weeks] == [
        (date(2026, 3, 10), date(2026, 3, 16)),
        (date(2026, 3, 17), date(2026, 3, 23)),
        (date(2026, 3, 24), date(2026, 3, 30)),
    ]
    assert [w.amount for w in eur_cash.weeks] == [
        eur("590.00"),  # P2 200 + Q1 300 + Q7 90
        eur("510.00"),  # P1 100 + Q2 400 + Q9 10
        eur("190.00"),  # Q4 50 + R1 60 + Q6 80
    ]
    assert (eur_cash.later, eur_cash.disputed) == (eur("500.00"), eur("70.00"))
    assert usd_cash.currency == "USD"
    assert [w.amount for w in usd_cash.weeks] == [money("0", "USD")] * 3
    assert (usd_cash.later, usd_cash.disputed) == (money("1000.00", "USD"), money("0", "USD"))


def test_customer_wide_dispute_holds_all_its_invoices_out_of_the_forecast() -> None:
    ledger = Ledger(
        invoices=(inv("A", date(2026, 3, 11), "10.00", customer="R"), inv("B", date(2026, 3, 12), "20.00")),
        pauses=(Pause(PauseKind.DISPUTE, "R", None, since_date=date(2026, 3, 1)),),
    )

    (cash,) = expected_cash(ledger, TODAY, weeks=1)

    assert (cash.weeks[0].amount, cash.disputed) == (eur("20.00"), eur("10.00"))


@pytest.mark.parametrize(
    ("until", "disputed"),
    [
        pytest.param(date(2026, 3, 10), "10.00", id="dispute-ending-today-still-holds"),
        pytest.param(date(2026, 3, 9), "0", id="dispute-ended-yesterday"),
        pytest.param(None, "10.00", id="dispute-until-lifted"),
    ],
)
def test_dispute_holds_invoice_through_its_last_day(until: date | None, disputed: str) -> None:
    ledger = Ledger(
        invoices=(inv("A", date(2026, 3, 11), "10.00"),),
        pauses=(Pause(PauseKind.DISPUTE, "C1", "A", until_date=until),),
    )

    (cash,) = expected_cash(ledger, TODAY, weeks=1)

    assert cash.disputed == eur(disputed)


# ---------------------------------------------------------------- promises kept vs broken


def test_promises_kept_broken_and_pending_with_grace() -> None:
    ledger = Ledger(
        invoices=(
            paid_inv("I1", date(2026, 2, 15), date(2026, 3, 3)),  # paid on until + 2 = deadline
            paid_inv("I2", date(2026, 2, 15), date(2026, 3, 4)),  # paid a day after the deadline
            inv("I3", date(2026, 2, 15), "100.00", customer="C2"),  # still open, deadline 7 Mar passed
            inv("I4", date(2026, 2, 15), "100.00", customer="C2"),  # still open, deadline 10 Mar is today
            paid_inv("J1", date(2026, 2, 10), date(2026, 3, 9), customer="C3"),  # open when promised, now paid
            paid_inv("J2", date(2026, 1, 20), date(2026, 1, 25), customer="C3"),  # paid before the promise
            inv("J3", date(2026, 3, 7), "100.00", customer="C3", issued=date(2026, 2, 5)),  # issued after it
        ),
        pauses=(
            Pause(PauseKind.PROMISE, "C1", "I1", until_date=date(2026, 3, 1), since_date=date(2026, 2, 20)),
            Pause(PauseKind.PROMISE, "C1", "I2", until_date=date(2026, 3, 1)),
            Pause(PauseKind.PROMISE, "C2", "I3", until_date=date(2026, 3, 5)),
            Pause(PauseKind.PROMISE, "C2", "I4", until_date=date(2026, 3, 8)),
            Pause(PauseKind.PROMISE, "C3", None, until_date=date(2026, 3, 15), since_date=date(2026, 2, 1)),
            Pause(PauseKind.DISPUTE, "C2", "I3"),  # not a promise
            Pause(PauseKind.PROMISE, "C2", "I4"),  # no promised date
            Pause(PauseKind.PROMISE, "C2", "NOPE", until_date=date(2026, 3, 1)),  # unknown invoice
        ),
    )

    summary = promises_kept(ledger, TODAY, grace_days=2)

    assert [(o.customer_id, o.invoice_id, o.invoice_ids, o.status) for o in summary.outcomes] == [
        ("C1", "I1", ("I1",), PromiseStatus.KEPT),
        ("C1", "I2", ("I2",), PromiseStatus.BROKEN),
        ("C2", "I3", ("I3",), PromiseStatus.BROKEN),
        ("C2", "I4", ("I4",), PromiseStatus.PENDING),
        ("C3", None, ("J1",), PromiseStatus.KEPT),  # kept before its date: J1 paid 9 Mar
    ]
    assert (summary.kept, summary.broken, summary.pending) == (2, 2, 1)
    assert summary.kept_percent == Decimal("50.0")  # 2 / (2 + 2)


@pytest.mark.parametrize(
    ("paid_after_promise", "grace", "today_after_promise", "status"),
    [
        pytest.param(0, 0, 5, PromiseStatus.KEPT, id="paid-on-promised-day"),
        pytest.param(1, 0, 5, PromiseStatus.BROKEN, id="paid-a-day-late-no-grace"),
        pytest.param(1, 1, 5, PromiseStatus.KEPT, id="paid-a-day-late-within-grace"),
        pytest.param(None, 2, 2, PromiseStatus.PENDING, id="unpaid-on-last-grace-day"),
        pytest.param(None, 2, 3, PromiseStatus.BROKEN, id="unpaid-after-grace"),
        pytest.param(None, 0, -3, PromiseStatus.PENDING, id="unpaid-before-promised-day"),
    ],
)
def test_promise_status_by_payment_day_and_grace(
    paid_after_promise: int | None, grace: int, today_after_promise: int, status: PromiseStatus
) -> None:
    promised = date(2026, 3, 1)
    if paid_after_promise is None:
        invoice = inv("I1", date(2026, 2, 1), "100.00")
    else:
        invoice = paid_inv("I1", date(2026, 2, 1), promised + timedelta(days=paid_after_promise))
    ledger = Ledger(invoices=(invoice,), pauses=(Pause(PauseKind.PROMISE, "C1", "I1", until_date=promised),))

    summary = promises_kept(ledger, promised + timedelta(days=today_after_promise), grace_days=grace)

    assert [o.status for o in summary.outcomes] == [status]


def test_no_decided_promises_gives_no_kept_percent() -> None:
    assert promises_kept(Ledger(), TODAY).kept_percent is None


# ---------------------------------------------------------------- properties over random ledgers


@st.composite
def ledgers(draw: st.DrawFn) -> Ledger:
    """Consistent random ledgers: payments allocated before TODAY, balances = total − payments − credit."""
    invoices: list[Invoice] = []
    payments: list[Payment] = []
    for n in range(draw(st.integers(0, 8))):
        currency = draw(st.sampled_from(["EUR", "USD"]))
        issued = TODAY - timedelta(days=draw(st.integers(0, 200)))
        total = Decimal(draw(st.integers(1, 500_000))) / 100
        paid_parts = draw(st.lists(st.integers(1, 100), max_size=3))
        paid_days = sorted(draw(st.lists(st.integers(0, (TODAY - issued).days), min_size=3, max_size=3)))
        allocations = [(issued + timedelta(days=d), (total * p / 400).quantize(Decimal("0.01"))) for d, p in
                       zip(paid_days, paid_parts, strict=False)]  # fmt: skip
        credit = Decimal(draw(st.integers(0, 100))) / 100
        rest = total - sum((a for _, a in allocations), Decimal(0)) - credit
        if rest > 0 and draw(st.booleans()):  # settled in full by a last payment
            allocations.append((issued + timedelta(days=paid_days[-1]), rest))
        balance = max(Decimal(0), total - sum((a for _, a in allocations), Decimal(0)) - credit)
        status = InvoiceStatus.OPEN if balance > 0 else InvoiceStatus.PAID
        paid = None if balance > 0 else max([d for d, _ in allocations], default=issued)
        invoices.append(
            Invoice(f"I{n}", "C1", str(n), issued, issued + timedelta(days=draw(st.integers(0, 60))),
                    money(total, currency), money(balance, currency), status, paid)
        )  # fmt: skip
        payments += [
            Payment(f"P{n}-{k}", "C1", d, money(a, currency), (Allocation(f"I{n}", money(a, currency)),))
            for k, (d, a) in enumerate(allocations)
        ]
    return Ledger(invoices=tuple(invoices), payments=tuple(payments))


@given(ledgers())
def test_rebuilt_ar_today_equals_aging_total_and_buckets_add_up(ledger: Ledger) -> None:
    by_currency = {row.currency: row for row in aging(ledger, TODAY)}
    for metrics in period_metrics(ledger, TODAY, TODAY):
        buckets = by_currency.get(metrics.currency)
        assert metrics.ar_end == (buckets.total if buckets else money(0, metrics.currency))
    for row in by_currency.values():
        parts = (row.current, row.days_1_30, row.days_31_60, row.days_61_90, row.days_over_90)
        assert sum((p.amount for p in parts), Decimal(0)) == row.total.amount


@given(ledgers(), st.integers(1, 200))
def test_past_ar_never_exceeds_what_was_issued_by_then(ledger: Ledger, back: int) -> None:
    day = TODAY - timedelta(days=back)
    for metrics in period_metrics(ledger, day, day):
        issued = sum(
            (i.total.amount for i in ledger.invoices if i.currency == metrics.currency and i.issue_date <= day),
            Decimal(0),
        )
        assert Decimal(0) <= metrics.ar_end.amount <= issued

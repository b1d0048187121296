"""The metrics the dashboard adds: the aging report per customer, firm-wide aging, the riskiest
customers and messages per week; each figure is worked out by hand next to its row."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from core.metrics import (
    UNRATED,
    SentMessage,
    aging,
    aging_by_customer,
    combine_aging,
    messages_per_week,
    overdue,
    riskiest_customers,
)
from core.model import Invoice, InvoiceStatus, Ledger, money

TODAY = date(2026, 3, 10)


def inv(
    id: str,
    days_overdue: int,
    balance: str,
    *,
    customer: str = "C1",
    currency: str = "EUR",
    paid_days_late: int | None = None,
) -> Invoice:
    """An invoice due ``days_overdue`` days before TODAY; paid ``paid_days_late`` after due when given."""
    due = TODAY - timedelta(days=days_overdue)
    paid = paid_days_late is not None
    return Invoice(
        id=id,
        customer_id=customer,
        number=id,
        issue_date=due - timedelta(days=30),
        due_date=due,
        total=money("100.00" if paid else balance, currency),
        balance=money("0" if paid else balance, currency),
        status=InvoiceStatus.PAID if paid else InvoiceStatus.OPEN,
        paid_date=due + timedelta(days=paid_days_late) if paid_days_late is not None else None,
    )


def paid_history(customer: str, days_late: int, count: int = 3) -> list[Invoice]:
    """``count`` paid invoices of ``customer``, each ``days_late`` days late (enough to be rated)."""
    return [
        inv(f"{customer}-P{i}", 200 + 30 * i, "0", customer=customer, paid_days_late=days_late) for i in range(count)
    ]


# ---------------------------------------------------------------- aging report and firm-wide aging


def test_aging_report_has_one_line_per_customer_and_currency() -> None:
    ledger = Ledger(
        invoices=(
            inv("A1", 5, "100.00", customer="A"),  # A EUR 1-30
            inv("A2", -3, "50.00", customer="A"),  # A EUR current
            inv("A3", 95, "70.00", customer="A", currency="USD"),  # A USD 90+
            inv("B1", 45, "20.00", customer="B"),  # B EUR 31-60
            inv("C1", 10, "0", customer="C", paid_days_late=0),  # C paid: no line
        )
    )

    report = aging_by_customer(ledger, TODAY)

    assert [(line.customer_id, line.buckets.currency) for line in report] == [("A", "EUR"), ("A", "USD"), ("B", "EUR")]
    a_eur, a_usd, b_eur = (line.buckets for line in report)
    assert (a_eur.current, a_eur.days_1_30) == (money("50", "EUR"), money("100", "EUR"))
    assert a_eur.total == money("150", "EUR")
    assert a_usd.days_over_90 == money("70", "USD")
    assert b_eur.days_31_60 == money("20", "EUR")


def test_aging_report_lines_add_up_to_the_organisation_aging() -> None:
    ledger = Ledger(
        invoices=tuple(inv(f"I{i}", 17 * i - 20, f"{10 * i}.25", customer=f"C{i % 3}") for i in range(1, 10))
    )
    by_customer = combine_aging(line.buckets for line in aging_by_customer(ledger, TODAY))
    assert by_customer == aging(ledger, TODAY)


def test_firm_aging_adds_organisations_per_currency_never_across() -> None:
    org_a = aging(Ledger(invoices=(inv("A1", 5, "100.00"), inv("A2", 0, "1.50", currency="USD"))), TODAY)
    org_b = aging(Ledger(invoices=(inv("B1", 40, "30.00"), inv("B2", 3, "5.00"))), TODAY)

    eur, usd = combine_aging([*org_a, *org_b])

    assert (eur.currency, eur.days_1_30, eur.days_31_60, eur.total) == (
        "EUR",
        money("105.00", "EUR"),  # 100 + 5
        money("30.00", "EUR"),
        money("135.00", "EUR"),
    )
    assert (usd.currency, usd.current, usd.total) == ("USD", money("1.50", "USD"), money("1.50", "USD"))


def test_overdue_is_everything_but_current() -> None:
    (row,) = aging(Ledger(invoices=(inv("I1", -1, "40.00"), inv("I2", 1, "2.50"), inv("I3", 400, "7.00"))), TODAY)
    assert overdue(row) == money("9.50", "EUR")


# ---------------------------------------------------------------- riskiest customers


@pytest.mark.parametrize(
    ("days_late", "grade", "score"),
    [
        pytest.param(0, "A", Decimal("1000.00"), id="A-weight-1"),
        pytest.param(5, "B", Decimal("2000.00"), id="B-weight-2"),
        pytest.param(20, "C", Decimal("3000.00"), id="C-weight-3"),
        pytest.param(45, "D", Decimal("4000.00"), id="D-weight-4"),
        pytest.param(90, "E", Decimal("5000.00"), id="E-weight-5"),
    ],
)
def test_risk_is_open_balance_times_grade_weight(days_late: int, grade: str, score: Decimal) -> None:
    ledger = Ledger(invoices=(inv("O1", 10, "600.00"), inv("O2", -5, "400.00"), *paid_history("C1", days_late)))

    (risk,) = riskiest_customers(ledger, TODAY)

    assert (risk.grade, risk.score) == (grade, score)
    assert (risk.open_balance, risk.overdue) == (money("1000.00", "EUR"), money("600.00", "EUR"))


def test_unrated_payer_weighs_like_a_late_one() -> None:
    (risk,) = riskiest_customers(Ledger(invoices=(inv("O1", 10, "100.00", customer="NEW"),)), TODAY)
    assert (risk.grade, risk.score) == (UNRATED, Decimal("300.00"))


def test_bad_payer_with_less_outranks_good_payer_with_more_and_currencies_rank_apart() -> None:
    ledger = Ledger(
        invoices=(
            inv("G1", 10, "3000.00", customer="GOOD"),  # A: 3,000 x 1 = 3,000
            inv("B1", 10, "1000.00", customer="BAD"),  # E: 1,000 x 5 = 5,000
            inv("M1", 10, "900.00", customer="MID"),  # unrated: 900 x 3 = 2,700
            inv("U1", 10, "99999.00", customer="GOOD", currency="USD"),  # ranked on its own
            *paid_history("GOOD", 0),
            *paid_history("BAD", 120),
        )
    )

    ranked = riskiest_customers(ledger, TODAY, limit=2)

    assert [(r.currency, r.customer_id, r.score) for r in ranked] == [
        ("EUR", "BAD", Decimal("5000.00")),
        ("EUR", "GOOD", Decimal("3000.00")),
        ("USD", "GOOD", Decimal("99999.00")),
    ]


# ---------------------------------------------------------------- messages per week


def test_messages_are_counted_per_week_ending_today_and_per_level() -> None:
    sent = [
        SentMessage(TODAY, 1),  # last week (Mar 4-10)
        SentMessage(TODAY - timedelta(days=6), 2),  # Mar 4: last week
        SentMessage(TODAY - timedelta(days=7), 1),  # Mar 3: the week before (Feb 25 - Mar 3)
        SentMessage(TODAY - timedelta(days=7), 1),
        SentMessage(TODAY - timedelta(days=14), 3),  # Feb 24: two weeks back
        SentMessage(TODAY - timedelta(days=21), 2),  # Feb 17: outside three weeks
        SentMessage(TODAY + timedelta(days=1), 1),  # tomorrow: not sent yet
    ]

    weeks = messages_per_week(sent, TODAY, weeks=3)

    assert [(w.start_date, w.end_date) for w in weeks] == [
        (date(2026, 2, 18), date(2026, 2, 24)),
        (date(2026, 2, 25), date(2026, 3, 3)),
        (date(2026, 3, 4), date(2026, 3, 10)),
    ]
    assert [w.by_level for w in weeks] == [
        ((1, 0), (2, 0), (3, 1)),
        ((1, 2), (2, 0), (3, 0)),
        ((1, 1), (2, 1), (3, 0)),
    ]
    assert [w.total for w in weeks] == [1, 2, 2]


def test_no_messages_gives_empty_weeks() -> None:
    weeks = messages_per_week([], TODAY)
    assert len(weeks) == 8 and all(w.by_level == () and w.total == 0 for w in weeks)
    assert weeks[-1].end_date == TODAY

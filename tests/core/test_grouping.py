"""Rule 4: one touch per customer and currency, led by its highest candidate."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from core.engine import Organisation
from core.model import InvoiceStatus, TouchedInvoice
from core.policy import Action
from tests.builders import credit, customer, invoice, outcome, run, touch


def test_candidates_of_one_customer_and_currency_form_one_touch() -> None:
    result = run(invoice("I1", overdue=5), invoice("I2", overdue=3))
    assert len(result.touches) == 1
    assert [i.invoice_id for i in result.touches[0].invoices] == ["I1", "I2"]


@pytest.mark.parametrize(
    ("invoices", "history", "expected"),
    [
        pytest.param(
            (("I1", 40), ("I2", 2)),
            (("I1", "s2", 2),),
            ("s3", 3, (("I1", "s3", 3), ("I2", "s1", 1))),
            id="final-notice-leads-and-friendly-rides-along",
        ),
        pytest.param(
            (("I1", 70), ("I2", 40)),
            (("I1", "s3", 3), ("I2", "s2", 2)),
            ("s4", 4, (("I1", "s4", 4), ("I2", "s3", 3))),
            id="agency-leads",
        ),
        pytest.param(
            (("I1", -3), ("I2", 1)),
            (),
            ("s1", 1, (("I2", "s1", 1), ("I1", "s0", 0))),
            id="courtesy-rides-along-with-friendly",
        ),
    ],
)
def test_touch_takes_the_highest_step_and_each_invoice_keeps_its_own_by_due_date(
    invoices: tuple[tuple[str, int], ...],
    history: tuple[tuple[str, str, int], ...],
    expected: tuple[str, int, tuple[tuple[str, str, int], ...]],
) -> None:
    result = run(
        *(invoice(i, overdue=d) for i, d in invoices),
        history=tuple(touch(10, item) for item in history),
    )
    step_id, level, items = expected
    (made,) = result.touches
    assert (made.step_id, made.level) == (step_id, level)
    assert made.invoices == tuple(TouchedInvoice(*item) for item in items)


def test_touch_takes_action_template_and_language_of_its_lead() -> None:
    result = run(
        invoice("I1", overdue=70),
        invoice("I2", overdue=5),
        history=(touch(10, ("I1", "s3", 3)),),
        customers=(customer("C1", language="de"),),
    )
    (made,) = result.touches
    assert (made.action, made.template, made.language) == (Action.AGENCY, "agency_handoff", "de")


@pytest.mark.parametrize(
    ("currencies", "expected"),
    [
        pytest.param(("EUR", "EUR"), [("C1", "EUR", "200.00")], id="same-currency-one-touch"),
        pytest.param(("EUR", "USD"), [("C1", "EUR", "100.00"), ("C1", "USD", "100.00")], id="two-currencies-two"),
        pytest.param(("USD", "CHF"), [("C1", "CHF", "100.00"), ("C1", "USD", "100.00")], id="sorted-by-currency"),
    ],
)
def test_one_touch_per_customer_and_currency(currencies: tuple[str, str], expected: list[tuple[str, str, str]]) -> None:
    result = run(invoice("I1", currency=currencies[0]), invoice("I2", currency=currencies[1]))
    assert [(t.customer_id, t.currency, t.amount_due.cents()) for t in result.touches] == expected


def test_customers_are_never_mixed_in_one_touch() -> None:
    result = run(invoice("I1", customer="C2"), invoice("I2", customer="C1"))
    assert [(t.customer_id, [i.invoice_id for i in t.invoices]) for t in result.touches] == [
        ("C1", ["I2"]),
        ("C2", ["I1"]),
    ]


def test_amount_due_is_the_sum_of_the_touched_balances_only() -> None:
    result = run(invoice("I1", balance="70.10"), invoice("I2", balance="29.95"), invoice("I3", overdue=-20))
    (made,) = result.touches
    assert made.amount_due.cents() == "100.05"


PRECEDENCE = [
    # what stops the group: spacing (touched 3 days ago), credit, small balance, holiday, no email; expected reason
    pytest.param(True, True, True, True, True, "too_soon", id="spacing-first"),
    pytest.param(False, True, True, True, True, "covered_by_credit", id="then-credit"),
    pytest.param(False, False, True, True, True, "below_min_balance", id="then-threshold"),
    pytest.param(False, False, False, True, True, "not_a_business_day", id="then-calendar"),
    pytest.param(False, False, False, False, True, "no_email_address", id="then-reachability"),
]


@pytest.mark.parametrize(("recent", "covered", "small", "holiday", "no_email", "expected"), PRECEDENCE)
def test_a_stopped_group_has_one_reason_the_first_in_contract_order(
    recent: bool, covered: bool, small: bool, holiday: bool, no_email: bool, expected: str
) -> None:
    today = date(2026, 4, 6) if holiday else date(2026, 4, 7)  # Easter Monday, then a Tuesday
    balance = "5.00" if small else "100.00"
    result = run(
        invoice(due_date=today - timedelta(days=20), balance=balance),
        invoice("I2", due_date=today - timedelta(days=5), status=InvoiceStatus.PAID),
        history=(touch(0, ("I2", "s1", 1), on=today - timedelta(days=3)),) if recent else (),
        today=today,
        organisation=Organisation("DE", business_days_only=True),
        customers=(customer("C1", emails=() if no_email else ("ap@c1.example",)),),
        credits=(credit(amount="500.00"),) if covered else (),
    )
    assert outcome(result) == expected

"""Rule 6: credit first — unapplied credit that covers the open balance stops the touch."""

from __future__ import annotations

import pytest

from core.model import PauseKind
from tests.builders import credit, invoice, outcomes, pause, run

CREDIT_TABLE = [
    # invoices as (id, overdue, balance), credits as (customer, amount, currency), disputed, expected, credit shown
    pytest.param((("I1", 20, "100.00"),), (("C1", "100.00", "EUR"),), (), "covered_by_credit", None, id="exact-cover"),
    pytest.param((("I1", 20, "100.00"),), (("C1", "150.00", "EUR"),), (), "covered_by_credit", None, id="more-credit"),
    pytest.param(
        (("I1", 20, "100.00"),),
        (("C1", "60.00", "EUR"), ("C1", "40.00", "EUR")),
        (),
        "covered_by_credit",
        None,
        id="credits-add-up",
    ),
    pytest.param((("I1", 20, "100.00"),), (("C1", "50.00", "EUR"),), (), "s1", "50.00", id="partial-credit-shown"),
    pytest.param((("I1", 20, "100.00"),), (("C1", "99.99", "EUR"),), (), "s1", "99.99", id="one-cent-short"),
    pytest.param((("I1", 20, "100.00"),), (("C1", "500.00", "USD"),), (), "s1", None, id="other-currency-ignored"),
    pytest.param((("I1", 20, "100.00"),), (("C2", "500.00", "EUR"),), (), "s1", None, id="other-customer-ignored"),
    pytest.param((("I1", 20, "100.00"),), (), (), "s1", None, id="no-credit"),
    pytest.param(
        (("I1", 20, "100.00"), ("I2", -20, "100.00")),
        (("C1", "150.00", "EUR"),),
        (),
        "s1",
        "150.00",
        id="not-yet-due-balance-counts",
    ),
    pytest.param(
        (("I1", 20, "100.00"), ("I2", 20, "100.00")),
        (("C1", "100.00", "EUR"),),
        ("I2",),
        "covered_by_credit",
        None,
        id="disputed-balance-does-not-count",
    ),
]


@pytest.mark.parametrize(("invoices", "credits", "disputed", "expected", "shown"), CREDIT_TABLE)
def test_credit_first(
    invoices: tuple[tuple[str, int, str], ...],
    credits: tuple[tuple[str, str, str], ...],
    disputed: tuple[str, ...],
    expected: str,
    shown: str | None,
) -> None:
    result = run(
        *(invoice(i, overdue=d, balance=b) for i, d, b in invoices),
        credits=tuple(credit(f"CN{n}", c, a, cur) for n, (c, a, cur) in enumerate(credits)),
        pauses=tuple(pause(PauseKind.DISPUTE, invoice=i) for i in disputed),
    )
    assert outcomes(result)["I1"] == expected
    touch = next((t for t in result.touches if t.customer_id == "C1"), None)
    assert (touch.unapplied_credit.cents() if touch and touch.unapplied_credit else None) == shown

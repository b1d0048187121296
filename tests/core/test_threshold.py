"""Rule 7: a touch whose amount due is below the policy's minimum is not made."""

from __future__ import annotations

import pytest

from tests.builders import invoice, outcomes, policy, run

THRESHOLD_TABLE = [
    # invoices as (id, overdue, balance, currency), min_balance, expected per invoice
    pytest.param((("I1", 20, "9.99", "EUR"),), "10.00", {"I1": "below_min_balance"}, id="one-cent-below"),
    pytest.param((("I1", 20, "10.00", "EUR"),), "10.00", {"I1": "s1"}, id="exactly-the-minimum"),
    pytest.param((("I1", 20, "6.00", "EUR"), ("I2", 5, "6.00", "EUR")), "10.00", {"I1": "s1", "I2": "s1"}, id="sum"),
    pytest.param(
        (("I1", 20, "5.00", "EUR"), ("I2", -20, "500.00", "EUR")),
        "10.00",
        {"I1": "below_min_balance", "I2": "no_step_reached"},
        id="only-touched-balances-count",
    ),
    pytest.param(
        (("I1", 20, "6.00", "EUR"), ("I2", 20, "6.00", "USD")),
        "10.00",
        {"I1": "below_min_balance", "I2": "below_min_balance"},
        id="currencies-are-not-added",
    ),
    pytest.param((("I1", 20, "0.01", "EUR"),), "0", {"I1": "s1"}, id="no-minimum"),
]


@pytest.mark.parametrize(("invoices", "minimum", "expected"), THRESHOLD_TABLE)
def test_never_sends_a_touch_below_the_minimum_balance(
    invoices: tuple[tuple[str, int, str, str], ...], minimum: str, expected: dict[str, str]
) -> None:
    result = run(
        *(invoice(i, overdue=d, balance=b, currency=c) for i, d, b, c in invoices),
        policy_=policy(min_balance=minimum),
    )
    assert outcomes(result) == expected

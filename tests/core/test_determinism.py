"""Rule 12: same input, same plan — sorted, independent of the order of the input."""

from __future__ import annotations

import random

import pytest

from core.engine import plan
from core.model import InvoiceStatus
from tests.builders import TODAY, credit, invoice, ledger, policy, touch

INVOICES = (
    invoice("I10", customer="C2", overdue=20),
    invoice("I02", customer="C2", overdue=25, currency="USD"),
    invoice("I03", customer="C10", overdue=5),
    invoice("I04", customer="C1", overdue=40),
    invoice("I05", customer="C1", overdue=40),
    invoice("I06", customer="C1", overdue=41),
    invoice("I07", customer="C3", status=InvoiceStatus.PAID),
    invoice("I08", customer="C3", overdue=-30),
    invoice("I01", customer="C2", overdue=20, currency="CHF"),
)
HISTORY = (touch(20, ("I04", "s1", 1), customer="C1"), touch(12, ("I05", "s2", 2), customer="C1"))


@pytest.mark.parametrize("seed", [pytest.param(seed, id=f"shuffle-{seed}") for seed in range(5)])
def test_same_plan_whatever_the_input_order(seed: int) -> None:
    shuffled = list(INVOICES)
    random.Random(seed).shuffle(shuffled)
    history = list(HISTORY)
    random.Random(seed).shuffle(history)
    expected = plan(ledger(*INVOICES, credits=(credit(customer="C9"),)), policy(), HISTORY, TODAY)
    found = plan(ledger(*shuffled, credits=(credit(customer="C9"),)), policy(), history, TODAY)
    assert found == expected


def test_plan_is_sorted_as_the_contract_says() -> None:
    result = plan(ledger(*INVOICES), policy(), HISTORY, TODAY)
    assert [(t.customer_id, t.currency) for t in result.touches] == [
        ("C1", "EUR"),
        ("C10", "EUR"),
        ("C2", "CHF"),
        ("C2", "EUR"),
        ("C2", "USD"),
    ]
    c1 = result.touches[0]
    assert [i.invoice_id for i in c1.invoices] == ["I06", "I04", "I05"]  # by due date, then id
    assert [s.invoice_id for s in result.skipped] == sorted(s.invoice_id for s in result.skipped)

"""Rule 11: the statutory late-payment claim on touches of level 3 and above."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.engine import Organisation
from tests.builders import invoice, policy, run, touch

# Hand-computed: interest = balance × (reference rate + margin) × days / 365, summed, rounded half-up.
CLAIM_TABLE = [
    # country, rate, invoices as (id, overdue, balance, currency), last step, expected (interest, fees, rate, basis)
    pytest.param(
        "DE",
        "1.27",
        (("I1", 40, "1000.00", "EUR"),),
        "s2",
        ("11.25", "40.00", "10.27", "DE-BGB-288"),
        id="de-one-invoice",  # 1000 × 10.27 % × 40 / 365 = 11.2548
    ),
    pytest.param(
        "DE",
        "1.27",
        (("I1", 40, "1000.00", "EUR"), ("I2", 35, "500.00", "EUR")),
        "s2",
        ("16.18", "80.00", "10.27", "DE-BGB-288"),
        id="de-two-invoices-40-euro-each",  # 11.2548 + 4.9240 = 16.1788
    ),
    pytest.param(
        "GB",
        "3.75",
        (("I1", 40, "1000.00", "GBP"),),
        "s2",
        ("12.88", "70.00", "11.75", "UK-LPCDA-1998"),
        id="uk-70-pounds-from-1000",  # 1000 × 11.75 % × 40 / 365 = 12.8767
    ),
    pytest.param("US", "4.00", (("I1", 40, "1000.00", "USD"),), "s2", None, id="no-regime-no-claim"),
    pytest.param("DE", "1.27", (("I1", 20, "1000.00", "EUR"),), "s1", None, id="level-2-has-no-claim"),
]


@pytest.mark.parametrize(("country", "rate", "invoices", "last", "expected"), CLAIM_TABLE)
def test_final_notice_states_the_statutory_claim(
    country: str,
    rate: str,
    invoices: tuple[tuple[str, int, str, str], ...],
    last: str,
    expected: tuple[str, str, str, str] | None,
) -> None:
    levels = {"s1": 1, "s2": 2}
    result = run(
        *(invoice(i, overdue=d, balance=b, currency=c) for i, d, b, c in invoices),
        history=(touch(10, *((i, last, levels[last]) for i, *_ in invoices)),),
        organisation=Organisation(country=country, reference_rate_percent=Decimal(rate)),
        policy_=policy(statutory_claims=True),
    )
    (made,) = result.touches
    claim = made.claim
    found = (
        None
        if claim is None
        else (claim.interest.cents(), claim.fixed_fees.cents(), str(claim.rate_percent), claim.basis)
    )
    assert found == expected


def test_no_claim_unless_the_policy_asks() -> None:
    result = run(
        invoice(overdue=40, balance="1000.00"),
        history=(touch(10, ("I1", "s2", 2)),),
        organisation=Organisation(country="DE", reference_rate_percent=Decimal("1.27")),
        policy_=policy(statutory_claims=False),
    )
    assert result.touches[0].level == 3
    assert result.touches[0].claim is None


def test_claim_uses_the_built_in_rate_table_without_a_fixed_rate() -> None:
    result = run(
        invoice(overdue=40, balance="1000.00"),
        history=(touch(10, ("I1", "s2", 2)),),
        organisation=Organisation(country="DE"),
        policy_=policy(statutory_claims=True),
    )
    claim = result.touches[0].claim
    assert claim is not None
    assert claim.rate_percent == Decimal("10.27")  # Basiszinssatz 1.27 % from 1 January 2026, + 9 points

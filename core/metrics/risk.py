"""The riskiest customers: payer rating × amount at stake, per currency.

A customer's risk in one currency is its open balance (open invoices with a positive balance) in
that currency times the weight of its payer grade (:mod:`core.metrics.payers`):

======  ======  ==========================================================================
grade   weight  why
======  ======  ==========================================================================
A       1       pays on time
B       2       a little late
C       3       late
D       4       very late
E       5       months late
unrated 3       too little history to judge: neither trusted nor condemned (the middle)
======  ======  ==========================================================================

So 1,000.00 owed by an E payer (score 5,000) ranks above 3,000.00 owed by an A payer (3,000).
Amounts of different currencies are never compared: each currency has its own ranking.

This module is pure: standard library only, no clock, no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from core.metrics._ledger import is_open
from core.metrics.payers import UNRATED, PayerRating, payer_ratings
from core.model import Ledger, Money, money

GRADE_WEIGHTS: dict[str, int] = {"A": 1, "B": 2, "C": 3, "D": 4, "E": 5, UNRATED: 3}
"""How much each payer grade multiplies the amount at stake (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class CustomerRisk:
    """One customer's risk in one currency.

    Attributes:
        customer_id: the customer.
        currency: the ISO 4217 code of the amounts.
        open_balance: what the customer owes in that currency.
        overdue: the part of it past its due date.
        grade: the payer grade (``A`` … ``E`` or ``unrated``).
        score: ``open_balance × weight of grade``, in the currency's units.
    """

    customer_id: str
    currency: str
    open_balance: Money
    overdue: Money
    grade: str
    score: Decimal


def riskiest_customers(
    ledger: Ledger,
    today: date,
    limit: int = 10,
    ratings: tuple[PayerRating, ...] | None = None,
) -> tuple[CustomerRisk, ...]:
    """The customers with the highest risk score, at most ``limit`` per currency.

    Args:
        ledger: the organisation's ledger.
        today: the day (an invoice due before it is overdue).
        limit: how many customers per currency.
        ratings: the payer ratings, when already computed; rated from ``ledger`` otherwise.

    Returns:
        Sorted by currency, then score (highest first), then customer id.
    """
    grades = {r.customer_id: r.grade for r in (ratings if ratings is not None else payer_ratings(ledger))}
    owed: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for inv in ledger.invoices:
        if is_open(inv):
            sums = owed[(inv.currency, inv.customer_id)]
            sums[0] += inv.balance.amount
            if inv.due_date < today:
                sums[1] += inv.balance.amount
    rows = []
    for (currency, customer_id), (balance, late) in owed.items():
        grade = grades.get(customer_id, UNRATED)
        score = balance * GRADE_WEIGHTS.get(grade, GRADE_WEIGHTS[UNRATED])
        rows.append(CustomerRisk(customer_id, currency, money(balance, currency), money(late, currency), grade, score))
    rows.sort(key=lambda r: (r.currency, -r.score, r.customer_id))
    ranked: list[CustomerRisk] = []
    for currency in sorted({r.currency for r in rows}):
        ranked.extend([r for r in rows if r.currency == currency][:limit])
    return tuple(ranked)
